package deploy

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

const (
	taskURN    = "urn:pulumi:prod::slipway::slipway:infra:Service$aws:ecs/taskDefinition:TaskDefinition::task"
	serviceURN = "urn:pulumi:prod::slipway::slipway:infra:Service$aws:ecs/service:Service::service"
)

func step(op, urn, typ string, keys, diffs []string) events.EngineEvent {
	var e events.EngineEvent
	e.ResourcePreEvent = &apitype.ResourcePreEvent{Metadata: apitype.StepEventMetadata{
		Op: apitype.OpType(op), URN: urn, Type: typ, Keys: keys, Diffs: diffs,
	}}
	return e
}

// plan feeds engine events through collect, as a preview's event stream.
func plan(evs ...events.EngineEvent) Plan {
	ch := make(chan events.EngineEvent)
	done := make(chan Plan, 1)
	go collect(ch, done)
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	return <-done
}

// The steps a real preview of a new SHA emits for the real program: the
// task definition is replaced (its containers changed), the service's task
// definition is updated in place, and refresh steps precede them in a
// drift check. None of them is a platform change.
func TestCollectRealDeployShapes(t *testing.T) {
	deployEvents := []events.EngineEvent{
		step("same", "urn:pulumi:prod::slipway::pulumi:pulumi:Stack::slipway-prod", "pulumi:pulumi:Stack", nil, nil),
		step("refresh", taskURN, "aws:ecs/taskDefinition:TaskDefinition", nil, nil),
		step("create-replacement", taskURN, "aws:ecs/taskDefinition:TaskDefinition", []string{"containerDefinitions"}, []string{"containerDefinitions"}),
		step("replace", taskURN, "aws:ecs/taskDefinition:TaskDefinition", []string{"containerDefinitions"}, []string{"containerDefinitions"}),
		step("update", serviceURN, "aws:ecs/service:Service", nil, []string{"taskDefinition"}),
		step("delete-replaced", taskURN, "aws:ecs/taskDefinition:TaskDefinition", []string{"containerDefinitions"}, nil),
		step("same", "urn:pulumi:prod::slipway::pulumi:providers:aws::default_6_83_4", "pulumi:providers:aws", nil, nil),
	}
	p := plan(deployEvents...)
	if len(p.Changes) != 4 {
		t.Fatalf("collected %d changes %+v, want the 4 task definition and service steps (same and refresh left out)", len(p.Changes), p.Changes)
	}
	if pc := PlatformChanges(p.Changes); len(pc) != 0 {
		t.Errorf("a SHA deploy's steps are refused as platform changes: %+v", pc)
	}

	tagged := append(deployEvents[:2:2], step("replace", taskURN, "aws:ecs/taskDefinition:TaskDefinition", []string{"containerDefinitions"}, []string{"containerDefinitions", "skipDestroy"}))
	if pc := PlatformChanges(plan(tagged...).Changes); len(pc) != 1 || pc[0].Name != "task" {
		t.Errorf("a replacement that also changes skipDestroy (in Diffs only): platform changes %+v, want the task definition", pc)
	}

	scaled := append(deployEvents[:4:4], step("update", serviceURN, "aws:ecs/service:Service", nil, []string{"desiredCount", "taskDefinition"}))
	if pc := PlatformChanges(plan(scaled...).Changes); len(pc) != 1 || pc[0].Name != "service" {
		t.Errorf("a service update that also scales: platform changes %+v, want the service", pc)
	}
}
