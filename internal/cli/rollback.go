package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/slipway-dev/slipway/internal/contract"

	"github.com/slipway-dev/slipway/internal/deploy"
)

// RollbackOptions are the flags of rollback.
type RollbackOptions struct {
	UpOptions
	To     string
	DryRun bool
}

func (c *Command) rollback(ctx context.Context, args []string) error {
	var o RollbackOptions
	o.runsProgram = true
	fs := c.flags("rollback")
	c.commonFlags(fs, &o.CommonOptions)
	fs.StringVar(&o.To, "to", "", "SHA to roll back to (default: the newest good deploy before the current one); must have been deployed successfully")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the current SHA and the target, change nothing (reads the stack history only)")
	verifyTimeoutFlag(fs, &o.VerifyTimeout)
	session, err := c.begin(ctx, fs, args, &o.CommonOptions, func() error {
		if o.To != "" {
			if err := contract.ValidateSHA(o.To); err != nil {
				return badInput("--to: %v", err)
			}
		}
		return checkVerifyTimeout(o.VerifyTimeout)
	})
	if err != nil {
		return err
	}
	defer session.Close()
	hist, err := session.History(ctx)
	if err != nil {
		return err
	}
	current, target, err := deploy.RollbackTarget(hist, o.To)
	if errors.Is(err, deploy.ErrNeverDeployed) {
		return exitError{ExitRefused, fmt.Errorf("%w: nothing to roll back", err)}
	}
	if err != nil {
		return badInput("%v", err)
	}
	if o.DryRun {
		if o.Output == "json" {
			return writeJSON(c.Stdout, map[string]string{"stack": o.Stack, "current": current, "target": target})
		}
		fmt.Fprintf(c.Stdout, "stack %s\n  current  %s\n  target   %s\ndry run: nothing changed; run without --dry-run to deploy the target\n", o.Stack, current, target)
		return nil
	}
	o.SHA = target
	return c.deploySHA(ctx, session, deployRequest{
		opts: o.UpOptions, sha: target, previous: current, message: contract.RollbackMessage(target, current).String(), verb: "rollback",
	})
}
