package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/ghrules"
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
	policies, err := c.foreignPolicies(ctx, o.cfg)
	if err != nil {
		return err
	}
	drifted := plan.HasChanges() || len(policies) > 0
	if o.Output == "json" {
		if err := writeJSON(c.Stdout, map[string]interface{}{"stack": o.Stack, "imageTag": sha, "drifted": drifted, "changes": nonNil(plan.Changes), "branchPolicies": nonNilStrings(policies)}); err != nil {
			return err
		}
	} else if drifted {
		fmt.Fprintf(c.Stdout, "stack %s has drifted: the cloud no longer matches the stack (image %s)\n", o.Stack, sha)
		for _, ch := range plan.Changes {
			fmt.Fprintf(c.Stdout, "  %-18s %s %s %v\n", ch.Op, ch.Type, ch.Name, ch.Keys)
		}
		for _, p := range policies {
			fmt.Fprintf(c.Stdout, "  %s: a job of it may run from that ref, and assume the role trusting the environment\n", p)
		}
	} else {
		fmt.Fprintf(c.Stdout, "stack %s: no drift (image %s)\n", o.Stack, sha)
	}
	if drifted {
		_ = c.appendStepSummary(previewMarkdown(o.Stack, sha, plan))
		return exitError{ExitDrift, errors.New("drift found: see the changes above; an administrator decides whether to apply the stack (up --all) or adopt the change in code")}
	}
	return nil
}

// foreignPolicies are the deployment branch policies of the environments
// the roles trust (Command.Environments) other than the default branch,
// read live from GitHub with $GITHUB_TOKEN; without one (a run by hand)
// it warns. A token that cannot read them fails the drift check: a check
// that did not run must not read as no drift.
func (c *Command) foreignPolicies(ctx context.Context, cfg contract.Config) ([]string, error) {
	token := c.getenv("GITHUB_TOKEN")
	if c.Environments == nil {
		return nil, nil
	}
	if token == "" {
		c.note("warning: GITHUB_TOKEN is not set, so the environments' deployment branch policies are not checked")
		return nil, nil
	}
	repo := cfg.GitHubOwner + "/" + cfg.GitHubRepo
	var all []string
	for _, env := range c.Environments(cfg) {
		p, err := ghrules.ForeignBranchPolicies(ctx, c.getenv("GITHUB_API_URL"), token, repo, env, contract.DefaultBranch)
		if err != nil {
			return nil, fmt.Errorf("checking the deployment branch policies of environment %s (a fine-grained token needs Actions read on %s for them): %w", env, repo, err)
		}
		all = append(all, p...)
	}
	return all, nil
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
