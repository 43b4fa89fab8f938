package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/slipway-dev/slipway/internal/contract"
	"strings"

	"github.com/slipway-dev/slipway/internal/awsx"
)

// StatusOptions are the flags of status.
type StatusOptions struct {
	CommonOptions
}

// statusReport is what status prints.
type statusReport struct {
	Stack             string            `json:"stack"`
	ImageTag          string            `json:"imageTag"`
	TaskDefinitionArn string            `json:"taskDefinitionArn"`
	RunningImage      string            `json:"runningImage"`
	Running           int32             `json:"running"`
	Desired           int32             `json:"desired"`
	Deployments       []awsx.Deployment `json:"deployments"`
	Events            []awsx.Event      `json:"events"`
	Problems          []string          `json:"problems"`
}

func (c *Command) status(ctx context.Context, args []string) error {
	var o StatusOptions
	fs := c.flags("status")
	c.commonFlags(fs, &o.CommonOptions)
	session, err := c.begin(ctx, fs, args, &o.CommonOptions, nil)
	if err != nil {
		return err
	}
	defer session.Close()
	outputs, err := session.Outputs(ctx)
	if err != nil {
		return err
	}
	want, err := outputString(outputs, contract.OutTaskDefinitionArn)
	if err != nil {
		return err
	}
	cluster, err := outputString(outputs, contract.OutClusterName)
	if err != nil {
		return err
	}
	service, err := outputString(outputs, contract.OutServiceName)
	if err != nil {
		return err
	}
	aws, err := c.awsFor(ctx, outputs)
	if err != nil {
		return err
	}
	st, err := aws.Service(ctx, cluster, service)
	if err != nil {
		return err
	}
	r := statusReport{Stack: o.Stack, TaskDefinitionArn: want, Running: st.Running, Desired: st.Desired,
		Deployments: st.Deployments, Events: st.Events, Problems: []string{}}
	r.ImageTag, _ = outputs[contract.OutImageTag].(string)
	if v := awsx.Verify(st, want); !v.OK {
		r.Problems = append(r.Problems, v.Reason)
	}
	if primary, ok := st.Primary(); ok {
		images, err := aws.Images(ctx, primary.TaskDefinition)
		switch {
		case err != nil:
			r.Problems = append(r.Problems, "running image unknown: "+err.Error())
		case images[contract.ContainerName] == "":
			r.Problems = append(r.Problems, "the PRIMARY task definition has no "+contract.ContainerName+" container")
		default:
			r.RunningImage = images[contract.ContainerName]
			if !strings.HasSuffix(r.RunningImage, ":"+r.ImageTag) {
				r.Problems = append(r.Problems, fmt.Sprintf("ECS runs image %s, the stack deployed %s", r.RunningImage, r.ImageTag))
			}
		}
	}
	if st.Running != st.Desired {
		r.Problems = append(r.Problems, fmt.Sprintf("%d of %d tasks running", st.Running, st.Desired))
	}
	if o.Output == "json" {
		if err := writeJSON(c.Stdout, r); err != nil {
			return err
		}
	} else {
		w := c.Stdout
		fmt.Fprintf(w, "stack %s: %s/%s\n  stack image   %s\n  stack taskdef %s\n  running image %s\n  tasks         %d running / %d desired\ndeployments:\n",
			o.Stack, cluster, service, r.ImageTag, want, firstNonEmpty(r.RunningImage, "(unknown)"), st.Running, st.Desired)
		for _, d := range st.Deployments {
			fmt.Fprintf(w, "  %-8s %-12s %s  %d/%d running  %s\n", d.Status, d.RolloutState, shortArn(d.TaskDefinition), d.Running, d.Desired, d.RolloutStateReason)
		}
		fmt.Fprintln(w, "recent events:")
		printEvents(w, st.Events)
		if len(r.Problems) == 0 {
			fmt.Fprintln(w, "OK: ECS runs the stack's task definition")
		}
	}
	if len(r.Problems) > 0 {
		return exitError{ExitMismatch, errors.New("the service differs from the stack: " + strings.Join(r.Problems, "; "))}
	}
	return nil
}
