package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// upWith is another run's update of sha with config on top of the base
// config, the stack file restored after it.
func upWith(sha string, config map[string]string) func(t *testing.T, p deploytest.Project) {
	return func(t *testing.T, p deploytest.Project) {
		t.Helper()
		cfg := deploytest.BaseConfig()
		for k, v := range config {
			cfg[k] = v
		}
		p.WriteConfig(t, cfg)
		defer p.WriteConfig(t, deploytest.BaseConfig())
		if _, err := open(t, p).Up(context.Background(), sha, contract.DeployMessage(sha).String()); err != nil {
			t.Fatalf("the update in between: %v", err)
		}
	}
}

// world is what a bound update must leave alone when it refuses.
type world struct {
	Outputs map[string]interface{}
	History []deploy.Update
	Service deploytest.MemoryService
	Locks   []string
}

func look(t *testing.T, p deploytest.Project) world {
	t.Helper()
	hist, err := deploy.Recent(context.Background(), open(t, p), 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := open(t, p).Outputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	svc, _ := p.ECS.Service(p.Stack+"-cluster", "api-service")
	return world{Outputs: out, History: hist, Service: svc, Locks: p.LockFiles(t)}
}

// The guard's preview of shaB binds the session's next Up of shaB: with
// nothing in between (or an update that changed nothing) the up applies
// what the preview found; when another update changed the stack between
// them, the up refuses with ErrPlanMismatch naming the change, starts no
// update, and leaves the state, the history, ECS and the lock as they were.
func TestBoundUp(t *testing.T) {
	tests := []struct {
		name        string
		between     func(t *testing.T, p deploytest.Project)
		wantChanged []string // what the refusal names; nil: the up applies the preview
	}{
		{name: "nothing lands", between: func(*testing.T, deploytest.Project) {}},
		{
			name: "a marker lands (an update changing nothing)",
			between: func(t *testing.T, p deploytest.Project) {
				if err := open(t, p).Mark(context.Background(), shaA, contract.RejectedMessage(shaC).String()); err != nil {
					t.Fatalf("the marker in between: %v", err)
				}
			},
		},
		{
			name:        "another deploy lands",
			between:     upWith(shaC, nil),
			wantChanged: []string{"task (aws:ecs/taskDefinition:TaskDefinition) changed: ", "inputs.containerDefinitions"},
		},
		{
			name:        "another update scales the service",
			between:     upWith(shaA, map[string]string{"slipway:desiredCount": "3"}),
			wantChanged: []string{"service (aws:ecs/service:Service) changed: ", "inputs.desiredCount"},
		},
		{
			name:        "another update creates a platform resource",
			between:     upWith(shaA, map[string]string{"test:platform": "v2"}),
			wantChanged: []string{"task-sg-v2 (aws:ec2/securityGroup:SecurityGroup) is new in the state"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := deployedProject(t)
			ctx := context.Background()
			s := open(t, p)
			plan, err := s.Preview(ctx, shaB, deploy.PreviewOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if pc := deploy.PlatformChanges(plan.Changes); len(pc) != 0 {
				t.Fatalf("the guard refuses the preview of a new SHA: %+v", pc)
			}
			tt.between(t, p)
			before := look(t, p)

			res, err := s.Up(ctx, shaB, contract.DeployMessage(shaB).String())
			if tt.wantChanged == nil {
				if err != nil {
					t.Fatalf("bound up: %v, want it to apply the preview", err)
				}
				if got, want := res.Counts, plan.Counts; !cmp.Equal(got, want) {
					t.Errorf("the up's counts = %v, want the preview's %v", got, want)
				}
				after := look(t, p)
				if got := after.History[0]; !got.Deployed() || got.ImageTag != shaB {
					t.Errorf("newest update %+v, want the succeeded deploy of %s", got, shaB)
				}
				td, _ := p.ECS.TaskDefinition(after.Service.TaskDefinition)
				if got, want := image(td.ContainerDefinitions), deploytest.RepositoryURL+":"+shaB; got != want {
					t.Errorf("ECS runs %s with image %q, want %q", after.Service.TaskDefinition, got, want)
				}
				return
			}
			var mismatch *deploy.PlanMismatchError
			if !errors.Is(err, deploy.ErrPlanMismatch) || !errors.As(err, &mismatch) {
				t.Fatalf("bound up after the stack changed: %v, want a *PlanMismatchError", err)
			}
			t.Logf("refused: %v", err)
			if mismatch.Applied {
				t.Errorf("Applied = true, want false: the change was there before the up (%v)", err)
			}
			for _, want := range tt.wantChanged {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to name %q", err, want)
				}
			}
			if diff := cmp.Diff(before, look(t, p)); diff != "" {
				t.Errorf("the refused up changed the stack, history, ECS or the lock (-before +after):\n%s", diff)
			}
		})
	}
}

// image is the image of the first container.
func image(defs []types.ContainerDefinition) string {
	if len(defs) == 0 {
		return ""
	}
	return aws.ToString(defs[0].Image)
}

// A session's binding is to one SHA: an Up of another SHA than the
// preview's is refused without running.
func TestBoundUpOfAnotherSHA(t *testing.T) {
	p := deployedProject(t)
	ctx := context.Background()
	s := open(t, p)
	if _, err := s.Preview(ctx, shaB, deploy.PreviewOptions{}); err != nil {
		t.Fatal(err)
	}
	before := look(t, p)
	_, err := s.Up(ctx, shaC, contract.DeployMessage(shaC).String())
	if err == nil || !strings.Contains(err.Error(), "the session's preview was of "+shaB) {
		t.Errorf("Up of %s after a preview of %s: %v, want a refusal naming the preview's SHA", shaC, shaB, err)
	}
	if diff := cmp.Diff(before, look(t, p)); diff != "" {
		t.Errorf("the refused up changed the stack, history, ECS or the lock (-before +after):\n%s", diff)
	}
}
