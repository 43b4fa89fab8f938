package deploy_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

const (
	clusterType  = "aws:ecs/cluster:Cluster"
	taskType     = "aws:ecs/taskDefinition:TaskDefinition"
	serviceType  = "aws:ecs/service:Service"
	sgType       = "aws:ec2/securityGroup:SecurityGroup"
	componentURN = "urn:pulumi:dev::slipway::slipway:infra:Service$"
)

// change is a Change as the engine reports it for a resource of the
// stand-in's service component.
func change(op, typ, name string, keys ...string) deploy.Change {
	return deploy.Change{Op: op, Type: typ, Name: name, URN: componentURN + typ + "::" + name, Keys: keys}
}

var equateEmpty = cmpopts.EquateEmpty()

// deployedProject is a project whose stack runs shaA, deployed by the
// real engine through the fake aws provider into the project's MemoryECS.
func deployedProject(t *testing.T) deploytest.Project {
	t.Helper()
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	if _, err := open(t, p).Up(context.Background(), shaA, contract.DeployMessage(shaA).String()); err != nil {
		t.Fatal(err)
	}
	return p
}

// A new SHA, previewed by the real engine with the provider's real diff
// semantics: the task definition is replaced for its containers (new
// revision first, the old one dropped from the stack last) and the
// service's task definition is updated in place. The guard lets exactly
// that through, and applying it makes ECS deploy the new revision.
func TestGuardOnEngineDeployShape(t *testing.T) {
	p := deployedProject(t)
	ctx := context.Background()
	plan, err := open(t, p).Preview(ctx, shaB, deploy.PreviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []deploy.Change{
		change("update", serviceType, "service", "taskDefinition"),
		change("create-replacement", taskType, "task", "containerDefinitions"),
		change("replace", taskType, "task", "containerDefinitions"),
		change("delete-replaced", taskType, "task"),
	}
	if diff := cmp.Diff(want, plan.Changes, equateEmpty); diff != "" {
		t.Errorf("preview of a new SHA: changes (-want +got):\n%s", diff)
	}
	if got, want := plan.Counts, map[string]int{"replace": 1, "update": 1}; !cmp.Equal(got, want) {
		t.Errorf("counts = %v, want %v", got, want)
	}
	if pc := deploy.PlatformChanges(plan.Changes); len(pc) != 0 {
		t.Errorf("PlatformChanges = %+v, want none", pc)
	}
	if d := deploy.Destructive(plan.Changes); len(d) != 0 {
		t.Errorf("Destructive = %+v, want none", d)
	}

	res, err := open(t, p).Up(ctx, shaB, contract.DeployMessage(shaB).String())
	if err != nil {
		t.Fatal(err)
	}
	rev1, rev2 := deploytest.TaskDefinitionArn("api-service", 1), deploytest.TaskDefinitionArn("api-service", 2)
	if got := res.Outputs[contract.OutTaskDefinitionArn]; got != rev2 {
		t.Errorf("taskDefinitionArn output = %v, want %s", got, rev2)
	}
	svc, ok := p.ECS.Service(p.Stack+"-cluster", "api-service")
	if !ok {
		t.Fatal("ECS has no service " + p.Stack + "-cluster/api-service")
	}
	if want := []string{rev1, rev2}; !cmp.Equal(svc.Deployments, want) || svc.TaskDefinition != rev2 {
		t.Errorf("ECS service runs %s after deployments %v, want %s after %v", svc.TaskDefinition, svc.Deployments, rev2, want)
	}
	if td, ok := p.ECS.TaskDefinition(rev1); !ok || td.Status != "ACTIVE" {
		t.Errorf("replaced revision %s: registered %v, status %q; want ACTIVE (skipDestroy keeps it)", rev1, ok, td.Status)
	}
}

// Config changes of the platform, previewed by the real engine: each is
// refused by the guard, and those replacing a stateful resource are
// destructive.
func TestGuardRefusesEnginePlatformShapes(t *testing.T) {
	p := deployedProject(t)
	tests := []struct {
		name            string
		config          map[string]string
		sha             string
		wantPlatform    []deploy.Change
		wantDestructive []deploy.Change
	}{
		{
			name:   "desired count with a new SHA",
			config: map[string]string{"slipway:desiredCount": "3"},
			sha:    shaB,
			wantPlatform: []deploy.Change{
				change("update", serviceType, "service", "desiredCount", "taskDefinition"),
			},
		},
		{
			name:   "task size: a task definition replaced for cpu and memory",
			config: map[string]string{"slipway:cpu": "512", "slipway:memory": "1024"},
			sha:    shaA,
			wantPlatform: []deploy.Change{
				change("create-replacement", taskType, "task", "cpu", "memory"),
				change("replace", taskType, "task", "cpu", "memory"),
			},
		},
		{
			name:   "cluster renamed: cluster and service replaced",
			config: map[string]string{"slipway:clusterName": "other-cluster"},
			sha:    shaA,
			wantPlatform: []deploy.Change{
				change("create-replacement", clusterType, "cluster", "name"),
				change("replace", clusterType, "cluster", "name"),
				change("delete-replaced", clusterType, "cluster"),
				change("create-replacement", serviceType, "service", "cluster"),
				change("replace", serviceType, "service", "cluster"),
				change("delete-replaced", serviceType, "service"),
			},
			wantDestructive: []deploy.Change{
				change("create-replacement", clusterType, "cluster", "name"),
				change("replace", clusterType, "cluster", "name"),
				change("delete-replaced", clusterType, "cluster"),
			},
		},
		{
			name:   "a platform resource created (test:platform)",
			config: map[string]string{"test:platform": "v2"},
			sha:    shaA,
			wantPlatform: []deploy.Change{
				{Op: "create", Type: sgType, Name: "task-sg-v2", URN: "urn:pulumi:dev::slipway::" + sgType + "::task-sg-v2"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := deploytest.BaseConfig()
			for k, v := range tt.config {
				cfg[k] = v
			}
			p.WriteConfig(t, cfg)
			plan, err := open(t, p).Preview(context.Background(), tt.sha, deploy.PreviewOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantPlatform, deploy.PlatformChanges(plan.Changes), equateEmpty); diff != "" {
				t.Errorf("PlatformChanges (-want +got):\n%s\nall changes: %+v", diff, plan.Changes)
			}
			if diff := cmp.Diff(tt.wantDestructive, deploy.Destructive(plan.Changes), equateEmpty); diff != "" {
				t.Errorf("Destructive (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlatformChangesOps(t *testing.T) {
	tests := []struct {
		name    string
		change  deploy.Change
		refused bool
	}{
		{"task definition registered", change("create", taskType, "task"), false},
		{"task definition dropped from the stack", change("delete", taskType, "task"), false},
		{"replaced task definition dropped", change("delete-replaced", taskType, "task"), false},
		{"task definition replacement for its containers", change("create-replacement", taskType, "task", "containerDefinitions"), false},
		{"task definition replaced for its containers", change("replace", taskType, "task", "containerDefinitions"), false},
		{"task definition replaced for cpu too", change("replace", taskType, "task", "containerDefinitions", "cpu"), true},
		{"task definition replaced, keys not named", change("replace", taskType, "task"), true},
		{"service task definition updated in place", change("update", serviceType, "service", "taskDefinition"), false},
		{"service scaled", change("update", serviceType, "service", "desiredCount", "taskDefinition"), true},
		{"service updated, keys not named", change("update", serviceType, "service"), true},
		{"service replaced for its task definition", change("replace", serviceType, "service", "taskDefinition"), true},
		{"service replacement for its task definition", change("create-replacement", serviceType, "service", "taskDefinition"), true},
		{"service created", change("create", serviceType, "service"), true},
		{"service deleted", change("delete", serviceType, "service"), true},
		{"replaced service deleted", change("delete-replaced", serviceType, "service"), true},
		{"cluster updated", change("update", clusterType, "cluster", "settings"), true},
		{"security group created", change("create", sgType, "task-sg"), true},
		{"provider updated", deploy.Change{Op: "update", Type: "pulumi:providers:aws", Name: "default", Keys: []string{"region"}}, false},
		{"provider replaced", deploy.Change{Op: "replace", Type: "pulumi:providers:aws", Name: "default", Keys: []string{"region"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(deploy.PlatformChanges([]deploy.Change{tt.change})) == 1
			if got != tt.refused {
				t.Errorf("PlatformChanges(%+v) refuses it: got %v, want %v", tt.change, got, tt.refused)
			}
		})
	}
}

func TestDestructiveOps(t *testing.T) {
	tests := []struct {
		name        string
		change      deploy.Change
		destructive bool
	}{
		{"stateful replaced", change("replace", clusterType, "cluster", "name"), true},
		{"stateful replacement created", change("create-replacement", clusterType, "cluster", "name"), true},
		{"replaced stateful deleted", change("delete-replaced", clusterType, "cluster"), true},
		{"stateful deleted", change("delete", clusterType, "cluster"), true},
		{"stateful created", change("create", clusterType, "cluster"), false},
		{"stateful updated", change("update", clusterType, "cluster", "settings"), false},
		{"stateless replaced", change("replace", taskType, "task", "containerDefinitions"), false},
		{"stateless deleted", change("delete", taskType, "task"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(deploy.Destructive([]deploy.Change{tt.change})) == 1
			if got != tt.destructive {
				t.Errorf("Destructive(%+v): got %v, want %v", tt.change, got, tt.destructive)
			}
		})
	}
}
