package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

func openSession(t *testing.T, p deploytest.Project) *Session {
	t.Helper()
	s, err := Open(context.Background(), Options{ProjectDir: p.Dir, Stack: p.Stack, Program: deploytest.Program, ImageTagKey: "slipway:imageTag", Env: p.Env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// previewedProject is a stack running a, and a session that previewed
// the deploy of b.
func previewedProject(t *testing.T) (deploytest.Project, *Session) {
	t.Helper()
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	ctx := context.Background()
	if _, err := openSession(t, p).Up(ctx, a, contract.DeployMessage(a).String()); err != nil {
		t.Fatal(err)
	}
	s := openSession(t, p)
	if _, err := s.Preview(ctx, b, PreviewOptions{}); err != nil {
		t.Fatal(err)
	}
	return p, s
}

func newestUpdate(t *testing.T, p deploytest.Project) Update {
	t.Helper()
	hist, err := Recent(context.Background(), openSession(t, p), 1)
	if err != nil || len(hist) != 1 {
		t.Fatalf("history: %v, %v", hist, err)
	}
	return hist[0]
}

// A config change in the session's copy of the stack file between the
// preview and the up (a platform resource switched on) is refused before
// the engine runs, naming the key.
func TestBoundUpConfigChanged(t *testing.T) {
	p, s := previewedProject(t)
	cfg := deploytest.BaseConfig()
	cfg["slipway:imageTag"] = b
	cfg["test:platform"] = "v2"
	deploytest.Project{Dir: s.dir, Stack: p.Stack}.WriteConfig(t, cfg)

	_, err := s.Up(context.Background(), b, contract.DeployMessage(b).String())
	var mismatch *PlanMismatchError
	if !errors.As(err, &mismatch) || mismatch.Applied {
		t.Fatalf("up after a config change: %v, want a *PlanMismatchError with nothing applied", err)
	}
	if got, want := strings.Join(mismatch.Changed, "; "), "config test:platform changed"; got != want {
		t.Errorf("Changed = %q, want %q", got, want)
	}
	if got := newestUpdate(t, p); got.ImageTag != a || !got.Deployed() {
		t.Errorf("newest update %+v, want the deploy of %s still (no update started)", got, a)
	}
}

// What lands after the check before the up (here: recorded as the state
// the check compares with) is refused by the engine under the plan, in its
// words, with a failed update in history and no lock left. The engine
// checks each resource as the program registers it: the new task
// definition revision (and for a deletion at the end, the service update
// too) is applied first, which Applied reports.
func TestEngineRefusesWhatLandsAfterTheCheck(t *testing.T) {
	tests := []struct {
		name   string
		config map[string]string // of the update landing in between
		want   string            // the engine's refusal
	}{
		{"another update scales the service", map[string]string{"slipway:desiredCount": "3"}, "service violates plan: properties changed: =~desiredCount[{2}]"},
		{"another update creates a platform resource", map[string]string{"test:platform": "v2"}, "delete is not allowed by the plan: no steps were expected for this resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := previewedProject(t)
			ctx := context.Background()
			cfg := deploytest.BaseConfig()
			for k, v := range tt.config {
				cfg[k] = v
			}
			p.WriteConfig(t, cfg)
			if _, err := openSession(t, p).Up(ctx, a, contract.DeployMessage(a).String()); err != nil {
				t.Fatal(err)
			}
			landed, err := s.readState(ctx)
			if err != nil {
				t.Fatal(err)
			}
			s.bound.state = landed

			_, err = s.Up(ctx, b, contract.DeployMessage(b).String())
			var mismatch *PlanMismatchError
			if !errors.Is(err, ErrPlanMismatch) || !errors.As(err, &mismatch) {
				t.Fatalf("up after a change the check missed: %v, want a *PlanMismatchError from the engine", err)
			}
			t.Logf("refused: %v", err)
			if got := strings.Join(mismatch.Changed, "; "); !strings.Contains(got, tt.want) {
				t.Errorf("Changed = %q, want the engine's %q", got, tt.want)
			}
			if !mismatch.Applied {
				t.Errorf("Applied = false, want true: the new task definition revision was registered before the refusal")
			}
			if got := newestUpdate(t, p); got.ImageTag != b || got.Result != "failed" {
				t.Errorf("newest update %+v, want the failed update of %s", got, b)
			}
			if locks := p.LockFiles(t); len(locks) != 0 {
				t.Errorf("locks left: %v", locks)
			}
		})
	}
}

func TestPlanViolations(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"no error", nil, nil},
		{"another failure", errors.New("up failed: exit status 255\nerror: test:fail: boom"), nil},
		{
			name: "a refusal on the resource's line and in the summary",
			err: errors.New("up failed\n    aws:ec2:SecurityGroup task-sg-v2  error: create is not allowed by the plan: no steps were expected for this resource\n" +
				"    error: create is not allowed by the plan: no steps were expected for this resource\n"),
			want: []string{"aws:ec2:SecurityGroup task-sg-v2  error: create is not allowed by the plan: no steps were expected for this resource"},
		},
		{
			name: "a property refused",
			err:  errors.New("error: resource urn:pulumi:dev::slipway::slipway:infra:Service$aws:ecs/service:Service::service violates plan: properties changed: =~desiredCount[{3}]"),
			want: []string{"error: resource urn:pulumi:dev::slipway::slipway:infra:Service$aws:ecs/service:Service::service violates plan: properties changed: =~desiredCount[{3}]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planViolations(tt.err); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("planViolations = %q, want %q", got, tt.want)
			}
		})
	}
}

// Dependency lists are sets: the same set in another order is no change.
func TestNormalizeDependencies(t *testing.T) {
	state := func(deps ...interface{}) stackState {
		r := map[string]interface{}{"urn": "urn:a", "type": "t", "dependencies": deps,
			"propertyDependencies": map[string]interface{}{"cluster": append([]interface{}{}, deps...)}}
		normalizeDependencies(r)
		return stackState{resources: map[string]map[string]interface{}{"urn:a": r}}
	}
	if got := state("urn:x", "urn:y").changes(state("urn:y", "urn:x")); len(got) != 0 {
		t.Errorf("reordered dependencies: changes %q, want none", got)
	}
	if got := state("urn:x").changes(state("urn:x", "urn:y")); len(got) != 1 {
		t.Errorf("a new dependency: changes %q, want one", got)
	}
}
