package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/deploy"
)

// RollbackOptions are the flags of rollback.
type RollbackOptions struct {
	UpOptions
	To     string
	DryRun bool
}

func (c *Command) rollbackCmd() *cobra.Command {
	var o RollbackOptions
	o.runsProgram = true
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "deploy the previous good SHA (or --to SHA); --dry-run shows the target",
		Long: `rollback deploys the newest SHA that really ran before the current one (never one ECS rolled
back), or --to a SHA that ran successfully before, with the same checks and verification as up.`,
		Example: `  deploy rollback --dry-run
  deploy rollback
  deploy rollback --to 0123456789abcdef0123456789abcdef01234567`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.rollback(cmd.Context(), o) },
	}
	commonFlags(cmd, &o.CommonOptions)
	cmd.Flags().StringVar(&o.To, "to", "", "SHA to roll back to (default: the newest good deploy before the current one); must have been deployed successfully")
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the current SHA and the target, change nothing (reads the stack history only)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "roll back although ECS runs something other than history's current SHA")
	deployFlags(cmd, &o.UpOptions)
	return cmd
}

func (c *Command) rollback(ctx context.Context, o RollbackOptions) error {
	o.started = time.Now()
	check := func() error {
		if o.To != "" {
			if err := checkSHA("--to", o.To); err != nil {
				return err
			}
		}
		return checkDeployFlags(o.UpOptions)
	}
	if o.DryRun {
		// A dry run reads the history only: no stack to open.
		reader, err := c.beginHistory(&o.CommonOptions, check)
		if err != nil {
			return err
		}
		current, target, err := c.rollbackTarget(ctx, reader, o.To)
		if err != nil {
			return rollbackRefusal(err)
		}
		if o.Output == "json" {
			return writeJSON(c.Stdout, map[string]string{"stack": o.Stack, "current": current, "target": target})
		}
		fmt.Fprintf(c.Stdout, "stack %s\n  current  %s\n  target   %s\ndry run: nothing changed; run without --dry-run to deploy the target (or, while the current deploy still rolls out, to have ECS roll it back)\n", o.Stack, current, target)
		return nil
	}
	session, err := c.begin(ctx, &o.CommonOptions, check)
	if err != nil {
		return c.failedBefore(ctx, &o.CommonOptions, deploy.Outcome{Stack: o.Stack, Verb: "rollback", ImageTag: o.To}, err)
	}
	defer session.Close()
	out := c.deployer(session).Rollback(ctx, o.To, deploy.Request{
		Stack: o.Stack, Force: o.Force, VerifyTimeout: o.VerifyTimeout, Deadline: deadline(o.UpOptions), Secrets: o.cfg.Secrets, Region: o.cfg.Region,
	})
	return c.renderOutcome(&o.CommonOptions, out)
}

// rollbackRefusal is the exit of a rollback that has nothing to go to.
func rollbackRefusal(err error) error {
	if errors.Is(err, deploy.ErrNeverDeployed) {
		return exitError{ExitRefused, fmt.Errorf("%w: nothing to roll back", err)}
	}
	return err
}
