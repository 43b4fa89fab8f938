package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/ghrules"
	"github.com/slipway-dev/slipway/workflows"
)

// UpOptions are the flags of up.
type UpOptions struct {
	CommonOptions
	SHA              string
	All              bool
	Force            bool
	GitHubBypass     bool
	CommitTime       string
	AllowDestructive []string
	VerifyTimeout    time.Duration
	Deadline         time.Duration
	// started is when the command started: the deadline counts from it.
	started time.Time
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
	commitTimeFlag(cmd, &o.CommitTime)
	cmd.Flags().BoolVar(&o.GitHubBypass, "github-bypass", false, "with --all: the GitHub token may bypass the default branch's rules that require pull requests (its identity is on their bypass list)")
	cmd.Flags().StringArrayVar(&o.AllowDestructive, "allow-destructive", nil, "with --all: the URN of a stateful resource the update may replace or delete (repeat for each)")
	cmd.Flags().BoolVar(&o.Force, "force", false, "deploy although ECS runs something other than history's current SHA, or the SHA is older than the current deploy or was rolled back by ECS")
	deployFlags(cmd, &o)
	return cmd
}

func (c *Command) up(ctx context.Context, o UpOptions) error {
	o.started = time.Now()
	o.checksChain = o.All
	session, err := c.begin(ctx, &o.CommonOptions, func() error {
		if o.SHA == "" {
			return badInput("--sha is required: the full git SHA of the image to deploy (git rev-parse HEAD)")
		}
		if err := checkSHA("--sha", o.SHA); err != nil {
			return err
		}
		if err := checkCommitTime(o.CommitTime); err != nil {
			return err
		}
		if o.GitHubBypass && !o.All {
			return badInput("--github-bypass without --all: only an up --all commits workflow files")
		}
		if len(o.AllowDestructive) > 0 && !o.All {
			return badInput("--allow-destructive without --all: a deploy changes no stateful resource; an administrator's up --all may")
		}
		return checkDeployFlags(o)
	})
	before := deploy.Outcome{Stack: o.Stack, Verb: "deploy", ImageTag: o.SHA}
	if err != nil {
		return c.failedBefore(ctx, &o.CommonOptions, before, err)
	}
	defer session.Close()
	if err := setCommitTime(ctx, session, o.CommitTime); err != nil {
		return c.failedBefore(ctx, &o.CommonOptions, before, err)
	}
	var blockers []string
	if o.All && !o.GitHubBypass {
		blockers = c.commitBlockers(ctx, o.cfg)
	}
	out := c.deployer(session).Up(ctx, deploy.Request{
		Stack: o.Stack, SHA: o.SHA, All: o.All, Force: o.Force, VerifyTimeout: o.VerifyTimeout, Deadline: deadline(o),
		AllowDestructive: o.AllowDestructive, Permanent: permanentNames(o.cfg), Secrets: o.cfg.Secrets, Region: o.cfg.Region, CommitTime: commitTime(o.CommitTime), CommitBlockers: blockers,
	})
	return c.renderOutcome(&o.CommonOptions, out)
}

// deployer decides the deploys of session.
func (c *Command) deployer(session *deploy.Session) *deploy.Deployer {
	return &deploy.Deployer{
		Stack:          session,
		History:        session,
		OpenCloud:      openCloud,
		VerifyInterval: c.VerifyInterval,
		Notify:         func(line string) { c.note("%s", line) },
	}
}

// deployFlags are the flags up and rollback share.
func deployFlags(cmd *cobra.Command, o *UpOptions) {
	cmd.Flags().DurationVar(&o.VerifyTimeout, "verify-timeout", defaultVerifyTimeout, "how long to wait for ECS to complete a rollout")
	cmd.Flags().DurationVar(&o.Deadline, "deadline", 0, "how long the whole command may run (default: two updates and two rollouts, "+
		"the deploy's and a reconcile's: 2 × (update allowance + --verify-timeout)); a reconcile that cannot finish in the time left is skipped")
}

func checkDeployFlags(o UpOptions) error {
	if o.VerifyTimeout <= 0 || o.VerifyTimeout > maxVerifyTimeout {
		return badInput("--verify-timeout %s: want a positive duration up to %s, such as 10m", o.VerifyTimeout, maxVerifyTimeout)
	}
	if o.Deadline < 0 || o.Deadline > maxDeadline {
		return badInput("--deadline %s: want a duration up to %s, such as 45m (0: the default)", o.Deadline, maxDeadline)
	}
	return nil
}

// deadline is when a deploy must be done: --deadline from the command's
// start (setting up the engine counts), or room for two updates and two
// rollouts.
func deadline(o UpOptions) time.Time {
	d := o.Deadline
	if d == 0 {
		d = 2 * (updateAllowance + o.VerifyTimeout)
	}
	return o.started.Add(d)
}

// Limits of the deploy flags. updateAllowance is what an engine update of
// the service takes at most: the program's service timeout for its API
// calls. The ceilings keep a typo (876000h) from holding a job: a rollout
// is waited for at most the tool's deadline in CI, which the job's
// timeout exceeds by its setup.
const (
	updateAllowance  = 10 * time.Minute
	maxVerifyTimeout = time.Duration(workflows.ToolDeadlineMinutes) * time.Minute
	maxDeadline      = 6 * time.Hour
)

// openCloud opens the AWS clients the deploy verbs use in region.
func openCloud(ctx context.Context, region string) (deploy.Cloud, error) {
	return awsx.New(ctx, region)
}

// permanentNames are the names of the resources a rename would replace,
// as the stack's config gives them (see deploy.Request.Permanent).
func permanentNames(cfg contract.Config) map[string]string {
	return map[string]string{contract.OutServiceName: cfg.ServiceName, contract.OutClusterName: cfg.ClusterName}
}

// commitBlockers asks GitHub (with $GITHUB_TOKEN, the token the github
// provider uses when the stack sets none) which rules of the default
// branch would refuse the program's commit of the workflow files. Without
// a token, or when GitHub cannot say, it warns and lets the update go on.
func (c *Command) commitBlockers(ctx context.Context, cfg contract.Config) []string {
	token := c.getenv("GITHUB_TOKEN")
	repo := cfg.GitHubOwner + "/" + cfg.GitHubRepo
	if token == "" {
		c.note("warning: GITHUB_TOKEN is not set, so whether %s's %s accepts the workflow files' commit is not checked", repo, contract.DefaultBranch)
		return nil
	}
	blockers, err := ghrules.DirectCommitBlockers(ctx, c.getenv("GITHUB_API_URL"), token, repo, contract.DefaultBranch)
	if err != nil {
		c.note("warning: could not read the rules of %s's %s (%v): the workflow files' commit may be refused after the AWS changes", repo, contract.DefaultBranch, err)
		return nil
	}
	return blockers
}

// commitTimeFlag is --commit-time of up and promote.
func commitTimeFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "commit-time", "", "when the commit was made (RFC 3339, e.g. git show -s --format=%cI): history records it, for deploy metrics' lead time, and the check of the SHA's earlier deploys reads history only back to a week before it")
}

// checkCommitTime refuses a --commit-time that is not RFC 3339.
func checkCommitTime(s string) error {
	if s == "" {
		return nil
	}
	if _, err := time.Parse(time.RFC3339, s); err != nil {
		return badInput("--commit-time %q: want a time in RFC 3339 such as 2026-12-01T10:00:00Z (git show -s --format=%%cI)", contract.Clip(s))
	}
	return nil
}

// commitTime is a checked --commit-time, zero when none was given.
func commitTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// setCommitTime records a checked --commit-time in the session's config.
func setCommitTime(ctx context.Context, session *deploy.Session, s string) error {
	if s == "" {
		return nil
	}
	return session.SetCommitTime(ctx, commitTime(s))
}
