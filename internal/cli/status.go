package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/deploy"
)

// StatusOptions are the flags of status.
type StatusOptions struct {
	CommonOptions
}

func (c *Command) statusCmd() *cobra.Command {
	var o StatusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "compare the running ECS service with the stack's outputs",
		Example: `  deploy status
  deploy status --stack prod --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.status(cmd.Context(), o) },
	}
	commonFlags(cmd, &o.CommonOptions)
	return cmd
}

func (c *Command) status(ctx context.Context, o StatusOptions) error {
	session, err := c.begin(ctx, &o.CommonOptions, nil)
	if err != nil {
		return err
	}
	defer session.Close()
	outputs, err := session.Outputs(ctx)
	if err != nil {
		return err
	}
	r, err := deploy.ReadStatus(ctx, outputs, openCloud)
	if err != nil {
		return err
	}
	if o.Output == "json" {
		if err := writeJSON(c.Stdout, struct {
			Stack string `json:"stack"`
			deploy.Status
		}{o.Stack, r}); err != nil {
			return err
		}
	} else {
		w := c.Stdout
		fmt.Fprintf(w, "stack %s: %s/%s\n  stack image   %s\n  stack taskdef %s\n  running image %s\n  tasks         %d running / %d desired\ndeployments:\n",
			o.Stack, r.Cluster, r.Service, r.ImageTag, r.TaskDefinitionArn, cmp.Or(r.RunningImage, "(unknown)"), r.Running, r.Desired)
		for _, d := range r.Deployments {
			fmt.Fprintf(w, "  %-8s %-12s %s  %d/%d running  %s\n", d.Status, d.RolloutState, shortArn(d.TaskDefinition), d.Running, d.Desired, d.RolloutStateReason)
		}
		fmt.Fprintln(w, "recent events:")
		printEvents(w, r.Events)
		if len(r.Problems) == 0 {
			fmt.Fprintln(w, "OK: ECS runs the stack's task definition")
		}
	}
	if len(r.Problems) > 0 {
		return exitError{ExitMismatch, errors.New("the service differs from the stack: " + strings.Join(r.Problems, "; "))}
	}
	return nil
}
