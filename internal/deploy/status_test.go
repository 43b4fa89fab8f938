package deploy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/awsx"
)

// Status reports every way ECS differs from the stack, and nothing when
// ECS runs the stack's task definition, settled.
func TestStatusProblems(t *testing.T) {
	settled := awsx.ServiceState{Service: "api-service", Running: 2, Desired: 2, Deployments: []awsx.Deployment{
		{ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: tdNew, RolloutState: awsx.RolloutCompleted, Running: 2, Desired: 2},
	}}
	rolledBack := awsx.ServiceState{Service: "api-service", Running: 2, Desired: 2, Deployments: []awsx.Deployment{
		{ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: tdOld, RolloutState: awsx.RolloutCompleted, Running: 2, Desired: 2},
	}}
	short := settled
	short.Running = 1
	stack := Status{TaskDefinitionArn: tdNew, ImageTag: shaNew, RunningImage: repo + ":" + shaNew}
	tests := []struct {
		name       string
		st         awsx.ServiceState
		s          Status
		hasPrimary bool
		imagesErr  error
		want       []string // each problem, by a fragment, in order
	}{
		{"settled on the stack's task definition", settled, stack, true, nil, nil},
		{"ECS runs another task definition and image", rolledBack, Status{TaskDefinitionArn: tdNew, ImageTag: shaNew, RunningImage: repo + ":" + shaOld}, true, nil,
			[]string{"runs " + tdOld + ", not " + tdNew, "ECS runs image " + repo + ":" + shaOld + ", the stack deployed " + shaNew}},
		{"running image unreadable", settled, Status{TaskDefinitionArn: tdNew, ImageTag: shaNew}, true, errors.New("AccessDenied"), []string{"running image unknown: AccessDenied"}},
		{"no app container", settled, Status{TaskDefinitionArn: tdNew, ImageTag: shaNew}, true, nil, []string{"has no app container"}},
		{"a task missing", short, stack, true, nil, []string{"1 of 2 tasks running"}},
		{"no PRIMARY deployment", awsx.ServiceState{Service: "api-service"}, Status{TaskDefinitionArn: tdNew}, false, nil, []string{"no PRIMARY deployment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := statusProblems(tt.st, tt.s, tt.hasPrimary, tt.imagesErr)
			ok := len(got) == len(tt.want)
			for i := 0; ok && i < len(got); i++ {
				ok = strings.Contains(got[i], tt.want[i])
			}
			if !ok || got == nil {
				t.Errorf("problems %q, want %q (never nil)", got, tt.want)
			}
			if slices.Contains(got, "") {
				t.Errorf("an empty problem in %q", got)
			}
		})
	}
}
