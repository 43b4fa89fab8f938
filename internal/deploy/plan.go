package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The binding of an update to the preview the guard judged.
//
// A preview and the up after it are two engine runs, and the preview holds
// no lock: whatever lands in between (another update, an edit of the
// state, a config change) would be applied unchecked. So Preview records
// what it saw, and the session's next Up (or Mark) of the same SHA applies
// exactly that or nothing:
//
//   - the engine's update plan: the preview saves it (--save-plan, through
//     optpreview.Plan) and the up applies it (--plan, optup.Plan). The
//     engine then refuses, under the stack's lock, any step or property
//     change the plan does not hold. The pinned CLI needs no
//     PULUMI_EXPERIMENTAL for either flag (--plan is only hidden without it);
//   - the state and config the preview started from: read before the
//     preview and compared just before the up, so that a change is refused
//     before the engine runs, with nothing applied and no history entry.
//
// Why both, measured with the pinned CLI 3.274.1 on the stand-in (a deploy
// of a new SHA previewed, then a change, then the up):
//
//	change in between                  --plan alone                       --target task,service
//	nothing                            applied, as previewed              applied, as previewed
//	test:platform in the config copy   refused: "create is not allowed    applied without the security
//	                                   by the plan", nothing applied      group: silently left out
//	                                   (the group happened to register
//	                                   before the task definition ran)
//	desiredCount 3 in the config copy  refused: "service violates plan:   applied with desiredCount 3:
//	                                   properties changed:                an unchecked platform change
//	                                   =~desiredCount[{3}]", after the
//	                                   new task definition revision was
//	                                   registered
//	another update scaled to 3         refused likewise, after the new    applied: scaled back to 2
//	                                   revision was registered
//	another update created a platform  refused at the end ("delete is     applied, the security group
//	resource (test:platform v2)        not allowed by the plan") after    kept: silently left out
//	                                   the new revision AND the service
//	                                   update were applied
//	another deploy (SHA C) landed      applied: a plan binds the goal,    applied
//	                                   not the state it started from
//
// Targets never refuse anything: they drop the changes outside them and
// let any change of the targeted resources through, so they bind nothing.
// A plan refuses every change the guard did not judge, but the engine
// checks each resource as the program registers it, after the steps of
// the resources before it have run: a refusal can come after part of the
// update was applied. The state and config check refuses all of the cases
// above (the deploy of SHA C too: the guard judged changes against the
// state it saw) before anything runs; the plan covers what lands between
// that check and the up taking the lock.
//
// Cost, measured on the stand-in (5 deploys of a new SHA each, one
// session a deploy, medians): preview+up 3.30 s unbound, 3.81 s bound
// (+0.5 s, 15%): the preview 1.30 -> 1.62 s, the up 1.96 -> 2.25 s. Nearly
// all of it is the two state reads (`pulumi stack export`, 0.28 s each);
// saving and applying the plan cost no measurable time.

// ErrPlanMismatch is returned (wrapped in a *PlanMismatchError) by Up and
// Mark when the stack is not what the preview they apply saw.
var ErrPlanMismatch = errors.New("the stack changed after the preview the update was bound to")

// PlanMismatchError says what changed between a preview and the update
// bound to it.
type PlanMismatchError struct {
	// Changed names each difference: a resource (and its properties) or a
	// config key, or the engine's own words when the engine refused a step.
	Changed []string
	// Applied reports that the engine refused a step after applying part
	// of the update (a change landed after the check before the up): the
	// stack's history shows a failed update. When false nothing was
	// applied and no update was started.
	Applied bool
}

func (e *PlanMismatchError) Error() string {
	what := strings.Join(e.Changed, "; ")
	if e.Applied {
		return fmt.Sprintf("%v: %s; the engine stopped the update at the first step its preview did not hold, after applying part of it (the history shows a failed update): preview again", ErrPlanMismatch, what)
	}
	return fmt.Sprintf("%v: %s; nothing was applied: preview again", ErrPlanMismatch, what)
}

// Is makes errors.Is(err, ErrPlanMismatch) true.
func (e *PlanMismatchError) Is(target error) bool { return target == ErrPlanMismatch }

// binding is what a preview saw and saved, for the update applying it.
type binding struct {
	sha      string
	refresh  bool
	planFile string
	state    stackState
	config   map[string]interface{}
}

// stackState is the stack's resources (by URN; pending deletions marked)
// and pending operations, as `pulumi stack export --show-secrets` gives
// them: secrets in plaintext, so that an update re-encrypting them does
// not look like a change. The manifest (time, version) is left out.
type stackState struct {
	resources map[string]map[string]interface{}
	pending   string
}

// readState reads the stack's state.
func (s *Session) readState(ctx context.Context) (stackState, error) {
	dep, err := s.stack.Export(ctx)
	if err != nil {
		return stackState{}, fmt.Errorf("reading the stack's state: %w", err)
	}
	var raw struct {
		Resources []map[string]interface{} `json:"resources"`
		Pending   json.RawMessage          `json:"pending_operations"`
	}
	if len(dep.Deployment) > 0 {
		if err := json.Unmarshal(dep.Deployment, &raw); err != nil {
			return stackState{}, fmt.Errorf("reading the stack's state: %w", err)
		}
	}
	st := stackState{resources: map[string]map[string]interface{}{}, pending: string(raw.Pending)}
	for _, r := range raw.Resources {
		key, _ := r["urn"].(string)
		if del, _ := r["delete"].(bool); del {
			key += " (pending deletion)"
		}
		for base, i := key, 2; st.resources[key] != nil; i++ {
			key = fmt.Sprintf("%s #%d", base, i)
		}
		normalizeDependencies(r)
		st.resources[key] = r
	}
	return st, nil
}

// normalizeDependencies sorts a resource's dependency lists: they are
// sets, and an update that changes nothing may record them in another
// order (seen: a no-op update reordered a service's dependencies).
func normalizeDependencies(r map[string]interface{}) {
	sortList := func(v interface{}) {
		if l, ok := v.([]interface{}); ok {
			sort.Slice(l, func(i, j int) bool { return fmt.Sprint(l[i]) < fmt.Sprint(l[j]) })
		}
	}
	sortList(r["dependencies"])
	if pd, ok := r["propertyDependencies"].(map[string]interface{}); ok {
		for _, v := range pd {
			sortList(v)
		}
	}
}

// changes names what differs from st to now: each resource created,
// deleted or changed (with its changed properties), and the pending
// operations.
func (st stackState) changes(now stackState) []string {
	var out []string
	for key, old := range st.resources {
		cur, ok := now.resources[key]
		switch {
		case !ok:
			out = append(out, resourceName(key, old)+" is gone from the state")
		case !reflect.DeepEqual(old, cur):
			out = append(out, resourceName(key, old)+" changed: "+strings.Join(changedFields(old, cur), ", "))
		}
	}
	for key, cur := range now.resources {
		if _, ok := st.resources[key]; !ok {
			out = append(out, resourceName(key, cur)+" is new in the state")
		}
	}
	sort.Strings(out)
	if st.pending != now.pending {
		out = append(out, "the state's pending operations changed")
	}
	return out
}

// resourceName is a resource's logical name and type, with the marks of
// its state key.
func resourceName(key string, r map[string]interface{}) string {
	urn, _ := r["urn"].(string)
	typ, _ := r["type"].(string)
	return fmt.Sprintf("%s (%s)%s", urnName(urn), typ, strings.TrimPrefix(key, urn))
}

// changedFields names the fields of a resource's state that differ: the
// properties of its inputs and outputs by name, other fields as they are.
func changedFields(old, cur map[string]interface{}) []string {
	var out []string
	for _, f := range unionKeys(old, cur) {
		if reflect.DeepEqual(old[f], cur[f]) {
			continue
		}
		o, oOK := old[f].(map[string]interface{})
		c, cOK := cur[f].(map[string]interface{})
		if (f == "inputs" || f == "outputs") && oOK && cOK {
			for _, k := range unionKeys(o, c) {
				if !reflect.DeepEqual(o[k], c[k]) {
					out = append(out, f+"."+k)
				}
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

func unionKeys(a, b map[string]interface{}) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]interface{}{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// readConfig reads the config of the session's copy of the stack file.
func (s *Session) readConfig() (map[string]interface{}, error) {
	b, err := os.ReadFile(s.stackFile())
	if err != nil {
		return nil, err
	}
	var f struct {
		Config map[string]interface{} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.stackFile(), err)
	}
	return f.Config, nil
}

// configChanges names the config keys that differ from old to now.
func configChanges(old, now map[string]interface{}) []string {
	var out []string
	for _, k := range unionKeys(old, now) {
		if !reflect.DeepEqual(old[k], now[k]) {
			out = append(out, "config "+k+" changed")
		}
	}
	return out
}

// planViolations picks the engine's refusals of steps its plan does not
// hold out of an update's error (which holds the CLI's output), each once.
func planViolations(err error) []string {
	if err == nil {
		return nil
	}
	var found []string
	seen := map[string]bool{}
	for _, l := range strings.Split(err.Error(), "\n") {
		l = strings.TrimSpace(l)
		if !strings.Contains(l, "violates plan") && !strings.Contains(l, "not allowed by the plan") && !strings.Contains(l, "no plan for resource") {
			continue
		}
		// The engine prints each refusal twice: on the resource's line
		// ("<type> <name>  error: ...") and in the summary ("error: ...").
		msg := l
		if i := strings.Index(l, "error: "); i >= 0 {
			msg = l[i+len("error: "):]
		}
		if !seen[msg] {
			seen[msg] = true
			found = append(found, l)
		}
	}
	return found
}
