package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
)

// Change is one resource the engine would change.
type Change struct {
	Op   string // create, update, replace, delete, create-replacement, delete-replaced, ...
	Type string
	Name string
	URN  string
	Keys []string // the properties that changed (or force the replacement)
}

// Plan is what a preview found: the changes (resources staying the same
// are left out) and the engine's counts per operation.
type Plan struct {
	Changes []Change
	Counts  map[string]int
}

// HasChanges reports whether anything would change.
func (p Plan) HasChanges() bool { return len(p.Changes) > 0 }

// urnName is the logical name at the end of a URN.
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

// collect reads engine events until the channel closes.
func collect(ch <-chan events.EngineEvent, done chan<- Plan) {
	plan := Plan{Counts: map[string]int{}}
	for e := range ch {
		switch {
		case e.ResourcePreEvent != nil:
			m := e.ResourcePreEvent.Metadata
			// same, refresh (the read of a refresh) and read are not changes:
			// drift shows as the update that would follow the refresh.
			if op := string(m.Op); op == "same" || op == "refresh" || op == "read" || m.Type == "pulumi:pulumi:Stack" {
				continue
			}
			plan.Changes = append(plan.Changes, Change{Op: string(m.Op), Type: m.Type, Name: urnName(m.URN), URN: m.URN, Keys: union(m.Keys, m.Diffs)})
		case e.SummaryEvent != nil:
			for op, n := range e.SummaryEvent.ResourceChanges {
				if op := string(op); op != "same" && op != "refresh" && op != "read" {
					plan.Counts[op] += n
				}
			}
		}
	}
	sort.SliceStable(plan.Changes, func(i, j int) bool { return plan.Changes[i].URN < plan.Changes[j].URN })
	done <- plan
}

// union is the keys of both lists, sorted, each once. A step's Keys are
// what forces a replacement and its Diffs every changed property: a
// change riding along with a replacement shows in Diffs only.
func union(keys, diffs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range append(append([]string(nil), keys...), diffs...) {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// PreviewOptions are the options of a preview.
type PreviewOptions struct {
	Refresh bool // read the cloud first (drift detection)
}

// Preview previews the stack with the image SHA sha. It takes no lock and
// writes no state. The session's next Up of sha applies exactly what this
// preview found, or nothing (see ErrPlanMismatch).
func (s *Session) Preview(ctx context.Context, sha string, o PreviewOptions) (Plan, error) {
	s.bound = nil
	plan, b, err := s.preview(ctx, sha, o)
	if err != nil {
		return Plan{}, err
	}
	s.bound = b
	return plan, nil
}

// preview previews the stack, saving the engine's plan, and returns what
// it found with the binding of an update to it. The state and config are
// read before the preview: a change landing between them and the preview
// fails the bound update although the preview saw it, which is safe, while
// the other order would let a change slip between the preview and the
// reading.
func (s *Session) preview(ctx context.Context, sha string, o PreviewOptions) (Plan, *binding, error) {
	if err := s.prepare(ctx, sha); err != nil {
		return Plan{}, nil, err
	}
	// A file of its own: a binding still held (Mark's preview follows the
	// deploy's) keeps its plan.
	f, err := os.CreateTemp(s.dir, "plan-*.json")
	if err != nil {
		return Plan{}, nil, err
	}
	if err := f.Close(); err != nil {
		return Plan{}, nil, err
	}
	b := &binding{sha: sha, refresh: o.Refresh, planFile: f.Name()}
	if b.config, err = s.readConfig(); err != nil {
		return Plan{}, nil, err
	}
	if b.state, err = s.readState(ctx); err != nil {
		return Plan{}, nil, engineError(ctx, "preview", err)
	}
	ch := make(chan events.EngineEvent)
	done := make(chan Plan, 1)
	go collect(ch, done)
	opts := []optpreview.Option{
		optpreview.EventStreams(ch),
		optpreview.ProgressStreams(s.o.Progress),
		optpreview.Diff(),
		optpreview.Plan(b.planFile),
	}
	if o.Refresh {
		opts = append(opts, optpreview.Refresh())
	}
	if _, err := s.stack.Preview(ctx, opts...); err != nil {
		// Not waiting for the events: when the preview fails before the
		// CLI runs (the inline program's server or the event log cannot
		// start), the SDK never closes ch.
		return Plan{}, nil, engineError(ctx, "preview", err)
	}
	return <-done, b, nil
}

// engineError classifies an Automation API error: interrupted (the CLI got
// SIGINT and cancelled the update, releasing its lock), locked, or failed.
func engineError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s interrupted: the engine was asked to cancel, which releases the stack's lock when it stops within 10 seconds; if a provider operation was in flight it was killed, and the lock and pending operations may remain (README: interrupted update): %w", op, ctx.Err())
	}
	err = lockedOr(err)
	if errors.Is(err, ErrLocked) {
		return err
	}
	return fmt.Errorf("%s failed: %w", op, err)
}

const (
	taskDefinitionType = "aws:ecs/taskDefinition:TaskDefinition"
	serviceType        = "aws:ecs/service:Service"
)

// deployKeys are, per resource type, the properties a deploy (a new image
// SHA) may change: the task definition's containers (a new revision) and
// the service's task definition (the rolling deploy).
var deployKeys = map[string]map[string]bool{
	taskDefinitionType: {"containerDefinitions": true},
	serviceType:        {"taskDefinition": true},
}

// PlatformChanges returns the changes a deploy must not apply: everything
// but a task definition whose containers change (a new revision, and the
// removal from the stack of the one it replaces, which SkipDestroy keeps
// registered in ECS) and an in-place update of the service's task
// definition. A change of cpu, memory, roles, load balancers or desired
// count is a platform change, and so is an update or replacement whose
// changed properties the engine does not name. Provider resources are left
// out unless replaced (their settings change no cloud resource), as is the
// root stack.
func PlatformChanges(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if strings.HasPrefix(c.Type, "pulumi:providers:") && c.Op != "replace" {
			continue
		}
		if deployChange(c) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func deployChange(c Change) bool {
	allowed, ok := deployKeys[c.Type]
	if !ok {
		return false
	}
	switch c.Op {
	case "create", "delete", "delete-replaced":
		// A task definition revision registered, or one the stack forgets
		// (SkipDestroy keeps it in ECS): neither runs anywhere until the
		// service's update points at it, and that update is checked.
		return c.Type == taskDefinitionType
	case "update", "replace", "create-replacement":
		if c.Type == serviceType && c.Op != "update" {
			return false
		}
		if len(c.Keys) == 0 {
			return false // the engine does not say what changes: not provably a deploy
		}
		for _, k := range c.Keys {
			if !allowed[k] {
				return false
			}
		}
		return true
	}
	return false
}

// StatefulTypes are resources whose replacement loses data or breaks what
// points at them; a preview warns when one would be replaced or deleted.
var StatefulTypes = map[string]bool{
	"aws:dynamodb/table:Table":                            true,
	"aws:sqs/queue:Queue":                                 true,
	"aws:ecr/repository:Repository":                       true,
	"aws:cloudwatch/logGroup:LogGroup":                    true,
	"aws:lb/loadBalancer:LoadBalancer":                    true,
	"aws:ec2/vpc:Vpc":                                     true,
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": true,
	"aws:ecs/cluster:Cluster":                             true,
}

// Destructive returns the changes that replace or delete a stateful resource.
func Destructive(changes []Change) []Change {
	var out []Change
	for _, c := range changes {
		if StatefulTypes[c.Type] && (c.Op == "replace" || c.Op == "delete" || c.Op == "delete-replaced" || c.Op == "create-replacement") {
			out = append(out, c)
		}
	}
	return out
}
