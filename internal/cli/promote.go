package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// PromoteOptions are the flags of promote. The stack deployed is --to:
// --stack, which every stack verb takes, may only repeat it.
type PromoteOptions struct {
	UpOptions
	From string
	To   string
	// stackSet: --stack was given on the command line.
	stackSet bool
}

func (c *Command) promoteCmd() *cobra.Command {
	var o PromoteOptions
	o.runsProgram = true
	cmd := &cobra.Command{
		Use:   "promote",
		Short: "deploy to --to a SHA the --from stack verifiably ran, the same image by digest",
		Long: `promote deploys to the --to stack the SHA the --from stack verifiably runs now, or --sha. It
refuses, before touching anything, a SHA that never ran in --from, that ECS rolled back there,
whose deploy there was not verified (no verified-<from>-<sha> tag in its repository), or whose
image --to would pull is not the one --from ran (another digest); the refusal names the SHAs that
can be promoted. Then it deploys like up (image check, guard, update, ECS verification,
reconcile), with the update message "promote <sha> from <from>".`,
		Example: `  deploy promote --from staging --to prod
  deploy promote --from staging --to prod --sha "$GITHUB_SHA" --deadline 60m
  deploy promote --from staging --to prod --output json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.stackSet = cmd.Flags().Changed("stack")
			return c.promote(cmd.Context(), o)
		},
	}
	commonFlags(cmd, &o.CommonOptions)
	cmd.Flags().StringVar(&o.From, "from", "", "the stack whose verified deploy to promote, such as staging (required)")
	cmd.Flags().StringVar(&o.To, "to", "", "the stack to deploy, such as prod (required; --stack, if given, must be the same)")
	cmd.Flags().StringVar(&o.SHA, "sha", "", "git SHA (40 lowercase hex) to promote (default: the SHA --from verifiably runs now)")
	commitTimeFlag(cmd, &o.CommitTime)
	deployFlags(cmd, &o.UpOptions)
	return cmd
}

// check refuses bad flags before anything is opened.
func (o PromoteOptions) check() error {
	switch {
	case o.From == "":
		return badInput("--from is required: the stack whose verified deploy to promote, such as --from staging")
	case o.To == "":
		return badInput("--to is required: the stack to deploy, such as --to prod")
	}
	for _, f := range []struct{ flag, stack string }{{"--from", o.From}, {"--to", o.To}} {
		if err := contract.ValidateStack(f.stack); err != nil {
			return badInput("%s: %v", f.flag, err)
		}
	}
	if o.From == o.To {
		return badInput("--from and --to are both %s: a promotion deploys one stack's verified SHA to another", o.To)
	}
	if o.stackSet && o.Stack != o.To {
		return badInput("--stack %s and --to %s: promote deploys the --to stack; drop --stack (or make it %s)", contract.Clip(o.Stack), o.To, o.To)
	}
	if o.SHA != "" {
		if err := checkSHA("--sha", o.SHA); err != nil {
			return err
		}
	}
	if err := checkCommitTime(o.CommitTime); err != nil {
		return err
	}
	return checkDeployFlags(o.UpOptions)
}

func (c *Command) promote(ctx context.Context, o PromoteOptions) error {
	o.started = time.Now()
	if o.To != "" && !o.stackSet {
		o.Stack = o.To
	}
	opts, err := c.stackOptions(&o.CommonOptions, o.check)
	if err != nil {
		return err
	}
	// The stack's config names the one stack it receives promotions from:
	// its deploy role may read that stack's state, and no other's.
	switch o.cfg.PromoteFrom {
	case o.From:
	case "":
		return badInput("stack %s sets no slipway:%s: set it to %s in Pulumi.%s.yaml (an administrator's up --all then lets its deploy role read %s's state), then promote again",
			o.To, contract.KeyPromoteFrom, o.From, o.To, o.From)
	default:
		return badInput("--from %s: stack %s receives promotions from %s only (slipway:%s in Pulumi.%s.yaml)", o.From, o.To, o.cfg.PromoteFrom, contract.KeyPromoteFrom, o.To)
	}
	fromOpts := opts
	fromOpts.Stack = o.From
	source := deploy.OpenHistory(fromOpts)
	// A missing --from stack is bad input, found before the --to stack
	// is opened (one history page of one update).
	before := deploy.Outcome{Stack: o.To, Verb: "promote", ImageTag: o.SHA, PromotedFrom: o.From}
	if _, err := source.HistoryPage(ctx, 1, 1); errors.Is(err, deploy.ErrNoStack) {
		return badInput("--from: %v; promote reads it through the same backend as --to %s, so both stacks must keep their state in one backend", err, o.To)
	} else if err != nil {
		return c.failedBefore(ctx, &o.CommonOptions, before, fmt.Errorf("reading %s's history: %w", o.From, err))
	}
	session, err := deploy.Open(ctx, opts)
	if errors.Is(err, deploy.ErrNoStack) {
		return badInput("--to: %v", err)
	}
	if err != nil {
		return c.failedBefore(ctx, &o.CommonOptions, before, err)
	}
	defer session.Close()
	if err := setCommitTime(ctx, session, o.CommitTime); err != nil {
		return c.failedBefore(ctx, &o.CommonOptions, before, err)
	}
	out := c.deployer(session).Promote(ctx, deploy.Promotion{From: o.From, Source: source, OpenRegistry: openRegistry}, deploy.Request{
		Stack: o.To, SHA: o.SHA, VerifyTimeout: o.VerifyTimeout, Deadline: deadline(o.UpOptions),
		Permanent: permanentNames(o.cfg), Secrets: o.cfg.Secrets, Region: o.cfg.Region, CommitTime: commitTime(o.CommitTime),
	})
	return c.renderOutcome(&o.CommonOptions, out)
}

// openRegistry opens the ECR client promote asks in region.
func openRegistry(ctx context.Context, region string) (deploy.Registry, error) {
	return awsx.New(ctx, region)
}
