package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// UpOptions are the flags of up.
type UpOptions struct {
	CommonOptions
	SHA           string
	All           bool
	VerifyTimeout time.Duration
}

func (c *Command) upCmd() *cobra.Command {
	var o UpOptions
	o.runsProgram = true
	cmd := &cobra.Command{
		Use:   "up",
		Short: "deploy an image SHA: check the image, guard, pulumi up, verify ECS",
		Long: `up deploys the image tagged with --sha: it checks the image is in ECR, previews the stack and
refuses platform changes (anything but the new task definition and the service's pointer to it)
unless --all, runs the update, and verifies with ECS that the new task definition runs. When ECS
rolls the deploy back, it records the rejection and reconciles the stack to what ECS went back to.`,
		Example: `  deploy up --sha "$(git rev-parse HEAD)"
  deploy up --stack prod --sha 0123456789abcdef0123456789abcdef01234567 --output json
  deploy up --all --sha "$SHA"    # administrators: also apply platform changes`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.up(cmd.Context(), o) },
	}
	commonFlags(cmd, &o.CommonOptions)
	cmd.Flags().StringVar(&o.SHA, "sha", "", "git SHA (40 lowercase hex) of the image to deploy (required)")
	cmd.Flags().BoolVar(&o.All, "all", false, "apply platform changes too (IAM, network, workflow files): administrators only")
	verifyTimeoutFlag(cmd, &o.VerifyTimeout)
	return cmd
}

func (c *Command) up(ctx context.Context, o UpOptions) error {
	session, err := c.begin(ctx, &o.CommonOptions, func() error {
		if o.SHA == "" {
			return badInput("--sha is required: the full git SHA of the image to deploy (git rev-parse HEAD)")
		}
		if err := contract.ValidateSHA(o.SHA); err != nil {
			return badInput("--sha: %v", err)
		}
		return checkVerifyTimeout(o.VerifyTimeout)
	})
	if err != nil {
		return err
	}
	defer session.Close()
	previous, err := c.currentSHA(ctx, session)
	if err != nil {
		return err
	}
	return c.deploy(ctx, session, o, deploy.Request{
		Stack: o.Stack, SHA: o.SHA, Previous: previous, Message: contract.DeployMessage(o.SHA),
		All: o.All, VerifyTimeout: o.VerifyTimeout,
	})
}

// deploy runs one deploy through the deployer and renders its outcome.
func (c *Command) deploy(ctx context.Context, session *deploy.Session, o UpOptions, r deploy.Request) error {
	d := &deploy.Deployer{
		Stack:          session,
		OpenCloud:      openCloud,
		VerifyInterval: c.VerifyInterval,
		Notify:         func(line string) { c.note("%s", line) },
	}
	out := d.Deploy(ctx, r)
	return c.renderOutcome(o.Output, out)
}

// openCloud opens the AWS clients the deploy verbs use in region.
func openCloud(ctx context.Context, region string) (deploy.Cloud, error) {
	return awsx.New(ctx, region)
}
