package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/deploy"
)

// DriftOptions are the flags of drift.
type DriftOptions struct {
	CommonOptions
}

func (c *Command) driftCmd() *cobra.Command {
	var o DriftOptions
	o.runsProgram = true
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "preview with refresh: does the cloud still match the stack?",
		Example: `  deploy drift
  deploy drift --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.drift(cmd.Context(), o) },
	}
	commonFlags(cmd, &o.CommonOptions)
	return cmd
}

func (c *Command) drift(ctx context.Context, o DriftOptions) error {
	session, err := c.begin(ctx, &o.CommonOptions, nil)
	if err != nil {
		return err
	}
	defer session.Close()
	sha, err := c.deployedSHA(ctx, session, "")
	if err != nil {
		return err
	}
	// A preview with refresh reads the cloud into the preview only: it takes
	// no lock and writes no state.
	plan, err := session.Preview(ctx, sha, deploy.PreviewOptions{Refresh: true})
	if err != nil {
		return stackError(err)
	}
	if o.Output == "json" {
		if err := writeJSON(c.Stdout, map[string]interface{}{"stack": o.Stack, "imageTag": sha, "drifted": plan.HasChanges(), "changes": nonNil(plan.Changes)}); err != nil {
			return err
		}
	} else if plan.HasChanges() {
		fmt.Fprintf(c.Stdout, "stack %s has drifted: the cloud no longer matches the stack (image %s)\n", o.Stack, sha)
		for _, ch := range plan.Changes {
			fmt.Fprintf(c.Stdout, "  %-18s %s %s %v\n", ch.Op, ch.Type, ch.Name, ch.Keys)
		}
	} else {
		fmt.Fprintf(c.Stdout, "stack %s: no drift (image %s)\n", o.Stack, sha)
	}
	if plan.HasChanges() {
		_ = c.appendStepSummary(previewMarkdown(o.Stack, sha, plan))
		return exitError{ExitDrift, errors.New("drift found: see the changes above; an administrator decides whether to apply the stack (up --all) or adopt the change in code")}
	}
	return nil
}
