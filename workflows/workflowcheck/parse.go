package workflowcheck

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/slipway-dev/slipway/workflows"
)

// The parts of a workflow the checks and the OIDC helpers read. Fields that
// GitHub accepts in several shapes stay yaml.Node; uses: stays a node so
// its line comment (the pinned version) is kept.
type workflow struct {
	On          yaml.Node       `yaml:"on"`
	Permissions yaml.Node       `yaml:"permissions"`
	Concurrency yaml.Node       `yaml:"concurrency"`
	Env         yaml.Node       `yaml:"env"`
	Defaults    yaml.Node       `yaml:"defaults"`
	Jobs        map[string]*job `yaml:"jobs"`
}

type job struct {
	If              string            `yaml:"if"`
	ContinueOnError yaml.Node         `yaml:"continue-on-error"`
	Needs           yaml.Node         `yaml:"needs"`
	Uses            yaml.Node         `yaml:"uses"`
	Permissions     yaml.Node         `yaml:"permissions"`
	Environment     yaml.Node         `yaml:"environment"`
	Concurrency     yaml.Node         `yaml:"concurrency"`
	TimeoutMinutes  yaml.Node         `yaml:"timeout-minutes"`
	Env             yaml.Node         `yaml:"env"`
	Defaults        yaml.Node         `yaml:"defaults"`
	Services        yaml.Node         `yaml:"services"`
	Steps           []step            `yaml:"steps"`
	Outputs         map[string]string `yaml:"outputs"`
	// node is the job as written, for the checks that read all of it.
	node yaml.Node
}

// UnmarshalYAML decodes the job's fields and keeps its node.
func (j *job) UnmarshalYAML(n *yaml.Node) error {
	type fields job // without this method
	if err := n.Decode((*fields)(j)); err != nil {
		return err
	}
	j.node = *n
	return nil
}

type step struct {
	ID               string               `yaml:"id"`
	Name             string               `yaml:"name"`
	If               string               `yaml:"if"`
	ContinueOnError  yaml.Node            `yaml:"continue-on-error"`
	Uses             yaml.Node            `yaml:"uses"`
	With             map[string]yaml.Node `yaml:"with"`
	Env              yaml.Node            `yaml:"env"`
	WorkingDirectory string               `yaml:"working-directory"`
	Run              string               `yaml:"run"`
}

const awsCredentialsAction = "aws-actions/configure-aws-credentials"

func parseWorkflow(content []byte) (*workflow, error) {
	var w workflow
	if err := yaml.Unmarshal(content, &w); err != nil {
		return nil, fmt.Errorf("workflows: parse: %w", err)
	}
	if len(w.Jobs) == 0 {
		return nil, fmt.Errorf("workflows: parse: no jobs")
	}
	for id, j := range w.Jobs {
		if j == nil {
			return nil, fmt.Errorf("workflows: parse: job %q is empty", id)
		}
	}
	return &w, nil
}

// jobIDs are the job ids, sorted, so reports come in a stable order.
func (w *workflow) jobIDs() []string { return sortedKeys(w.Jobs) }

// events are the workflow's triggers, sorted: on: takes a name, a list of
// names or a mapping keyed by name.
func (w *workflow) events() []string {
	var names []string
	switch w.On.Kind {
	case yaml.ScalarNode:
		names = []string{w.On.Value}
	case yaml.SequenceNode:
		for _, n := range w.On.Content {
			names = append(names, n.Value)
		}
	case yaml.MappingNode:
		for i := 0; i < len(w.On.Content); i += 2 {
			names = append(names, w.On.Content[i].Value)
		}
	}
	slices.Sort(names)
	return names
}

// trigger is the configuration of one event under on:, nil if absent or
// given without configuration.
func (w *workflow) trigger(event string) *yaml.Node {
	return mappingValue(&w.On, event)
}

// mappingValue is the value of key in a mapping node, nil if n is not a
// mapping or lacks the key.
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// concurrency returns the group and the cancel-in-progress value as
// written ("" when absent; GitHub's default is false).
func concurrency(n *yaml.Node) (group, cancel string) {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value, ""
	case yaml.MappingNode:
		if g := mappingValue(n, "group"); g != nil {
			group = g.Value
		}
		if c := mappingValue(n, "cancel-in-progress"); c != nil {
			cancel = c.Value
		}
	}
	return group, cancel
}

// environment is the job's environment name: environment: takes a name or
// a mapping with name and url.
func (j *job) environment() string {
	if j.Environment.Kind == yaml.MappingNode {
		if n := mappingValue(&j.Environment, "name"); n != nil {
			return n.Value
		}
		return ""
	}
	return j.Environment.Value
}

// needs are the jobs this one needs: needs: takes a name or a list.
func (j *job) needs() []string {
	switch j.Needs.Kind {
	case yaml.ScalarNode:
		return []string{j.Needs.Value}
	case yaml.SequenceNode:
		var names []string
		for _, n := range j.Needs.Content {
			names = append(names, n.Value)
		}
		return names
	}
	return nil
}

// action is the owner/repo of a uses: value, without the ref.
func action(uses string) string {
	name, _, _ := strings.Cut(uses, "@")
	return name
}

// role is the role-to-assume of the job's configure-aws-credentials steps,
// "" when it has none. A job assuming two roles is refused: its subject
// would be trusted by one of them at most, and the checks could not tell
// which step acts as which role.
// roleKind is the kind of role the job assumes, as the role expression of
// its base variable ("${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}" for a stack's
// SLIPWAY_PREVIEW_ROLE_ARN_<STACK>), or "" for none. A job may assume
// several stacks' roles of one kind (the preview); two kinds is an error.
func (j *job) roleKind(p workflows.Params) (string, error) {
	kind := ""
	for _, r := range j.roles() {
		k := r
		for _, e := range p.Environments {
			for _, base := range workflows.StackVariables() {
				if r == roleExpr(workflows.StackVariable(base, e.Stack)) {
					k = roleExpr(base)
				}
			}
		}
		if kind != "" && k != kind {
			return "", fmt.Errorf("assumes two kinds of role, %s and %s", kind, k)
		}
		kind = k
	}
	for _, s := range j.Steps {
		if action(s.Uses.Value) == awsCredentialsAction && s.With["role-to-assume"].Value == "" {
			return "", fmt.Errorf("a %s step has no role-to-assume", awsCredentialsAction)
		}
	}
	return kind, nil
}

// roles are the role-to-assume expressions of the job's credential
// steps, as written, in order, each once.
func (j *job) roles() []string {
	var out []string
	for _, s := range j.Steps {
		if r := s.With["role-to-assume"].Value; action(s.Uses.Value) == awsCredentialsAction && r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// env is the value a step sees for the environment variable name: the
// step's env: wins over the job's, which wins over the workflow's. ok is
// false when no level sets it as a mapping key (an env: given as one
// expression is opaque here).
func (w *workflow) env(j *job, s step, name string) (value string, ok bool) {
	for _, n := range []*yaml.Node{&s.Env, &j.Env, &w.Env} {
		if v := mappingValue(n, name); v != nil {
			return v.Value, true
		}
	}
	return "", false
}

// workingDirectory is the folder a run: step runs in, cleaned: the step's
// working-directory, else the job's and then the workflow's
// defaults.run.working-directory, else the workspace root (".").
func (w *workflow) workingDirectory(j *job, s step) string {
	dir := s.WorkingDirectory
	for _, d := range []*yaml.Node{&j.Defaults, &w.Defaults} {
		if dir != "" {
			break
		}
		if v := mappingValue(mappingValue(d, "run"), "working-directory"); v != nil {
			dir = v.Value
		}
	}
	if dir == "" {
		return "."
	}
	return path.Clean(dir)
}
