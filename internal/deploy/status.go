package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/contract"
)

// Status is the running service compared with the stack's outputs.
type Status struct {
	ImageTag          string            `json:"imageTag"`
	TaskDefinitionArn string            `json:"taskDefinitionArn"`
	RunningImage      string            `json:"runningImage"`
	Cluster           string            `json:"cluster"`
	Service           string            `json:"service"`
	Running           int32             `json:"running"`
	Desired           int32             `json:"desired"`
	Deployments       []awsx.Deployment `json:"deployments"`
	Events            []awsx.Event      `json:"events"`
	// Problems are the ways the service differs from the stack; none
	// means ECS runs the stack's task definition, settled.
	Problems []string `json:"problems"`
}

// ReadStatus describes the stack's service in ECS and judges it against
// the stack's outputs.
func ReadStatus(ctx context.Context, outputs map[string]interface{}, open func(ctx context.Context, region string) (Cloud, error)) (Status, error) {
	var names [4]string
	for i, key := range []string{contract.OutTaskDefinitionArn, contract.OutClusterName, contract.OutServiceName, contract.OutRegion} {
		s, err := outputString(outputs, key)
		if err != nil {
			return Status{}, err
		}
		names[i] = s
	}
	cloud, err := open(ctx, names[3])
	if err != nil {
		return Status{}, err
	}
	st, err := cloud.Service(ctx, names[1], names[2])
	if err != nil {
		return Status{}, err
	}
	s := Status{TaskDefinitionArn: names[0], Cluster: names[1], Service: names[2], Running: st.Running, Desired: st.Desired, Deployments: st.Deployments, Events: st.Events}
	s.ImageTag, _ = outputs[contract.OutImageTag].(string)
	var images map[string]string
	var imagesErr error
	primary, ok := st.Primary()
	if ok {
		images, imagesErr = cloud.Images(ctx, primary.TaskDefinition)
		s.RunningImage = images[contract.ContainerName]
	}
	s.Problems = statusProblems(st, s, ok, imagesErr)
	return s, nil
}

// statusProblems are the mismatches between ECS and the stack: ECS's
// verdict on the stack's task definition, the image the PRIMARY
// deployment runs, and the task count.
func statusProblems(st awsx.ServiceState, s Status, hasPrimary bool, imagesErr error) []string {
	problems := []string{}
	if v := awsx.Verify(st, s.TaskDefinitionArn); !v.OK {
		problems = append(problems, v.Reason)
	}
	switch {
	case !hasPrimary:
	case imagesErr != nil:
		problems = append(problems, "running image unknown: "+imagesErr.Error())
	case s.RunningImage == "":
		problems = append(problems, "the PRIMARY task definition has no "+contract.ContainerName+" container")
	case !strings.HasSuffix(s.RunningImage, ":"+s.ImageTag):
		problems = append(problems, fmt.Sprintf("ECS runs image %s, the stack deployed %s", s.RunningImage, s.ImageTag))
	}
	if st.Running != st.Desired {
		problems = append(problems, fmt.Sprintf("%d of %d tasks running", st.Running, st.Desired))
	}
	return problems
}
