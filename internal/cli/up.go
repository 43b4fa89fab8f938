package cli

import (
	"context"
	"errors"
	"fmt"
	"github.com/slipway-dev/slipway/internal/contract"
	"io"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// UpOptions are the flags of up.
type UpOptions struct {
	CommonOptions
	SHA           string
	All           bool
	VerifyTimeout time.Duration
}

func (c *Command) up(ctx context.Context, args []string) error {
	var o UpOptions
	o.runsProgram = true
	fs := c.flags("up")
	c.commonFlags(fs, &o.CommonOptions)
	fs.StringVar(&o.SHA, "sha", "", "git SHA (40 lowercase hex) of the image to deploy (required)")
	fs.BoolVar(&o.All, "all", false, "apply platform changes too (IAM, network, workflow files): administrators only")
	verifyTimeoutFlag(fs, &o.VerifyTimeout)
	session, err := c.begin(ctx, fs, args, &o.CommonOptions, func() error {
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
	hist, err := session.History(ctx)
	if err != nil {
		return err
	}
	previous, _ := deploy.CurrentSHA(hist)
	return c.deploySHA(ctx, session, deployRequest{
		opts: o, sha: o.SHA, previous: previous, message: contract.DeployMessage(o.SHA).String(), verb: "deploy",
	})
}

// deployRequest is one deploy of a SHA: by up or by rollback.
type deployRequest struct {
	opts     UpOptions
	sha      string
	previous string // the SHA running before; "" on the first deploy
	message  string
	verb     string
}

// deployResult is what up and rollback print.
type deployResult struct {
	Stack             string         `json:"stack"`
	ImageTag          string         `json:"imageTag"`
	Previous          string         `json:"previous,omitempty"`
	TaskDefinitionArn string         `json:"taskDefinitionArn"`
	Verified          bool           `json:"verified"`
	RolledBack        bool           `json:"rolledBack"`
	Reconciled        string         `json:"reconciledTo,omitempty"`
	DurationSeconds   float64        `json:"durationSeconds"`
	Changes           map[string]int `json:"changes"`
}

// deploySHA is the deploy path: image check, guard, up, ECS verification,
// and reconciliation when ECS rolled the deploy back.
func (c *Command) deploySHA(ctx context.Context, s *deploy.Session, r deployRequest) error {
	outputs, err := s.Outputs(ctx)
	if err != nil {
		return err
	}
	first := len(outputs) == 0
	if first && !r.opts.All {
		return exitError{ExitRefused, errors.New("the stack has never been deployed: an administrator runs the first deploy with up --all (README: bootstrap)")}
	}
	var aws *awsx.Client
	if !first {
		if aws, err = c.checkImage(ctx, outputs, r.sha); err != nil {
			return err
		}
	}

	plan, err := s.Preview(ctx, r.sha, deploy.PreviewOptions{})
	if err != nil {
		return stackError(err)
	}
	platform := deploy.PlatformChanges(plan.Changes)
	if len(platform) > 0 && !r.opts.All {
		var b strings.Builder
		fmt.Fprintf(&b, "refused before touching anything: the stack has %d platform change(s) pending, which CD must not apply:\n", len(platform))
		for _, ch := range platform {
			fmt.Fprintf(&b, "  %-18s %s %s\n", ch.Op, ch.Type, ch.Name)
		}
		fmt.Fprintf(&b, "An administrator applies them with credentials allowed to: deploy up --stack %s --all --sha %s", r.opts.Stack, firstNonEmpty(r.previous, r.sha))
		return exitError{ExitRefused, errors.New(b.String())}
	}

	fmt.Fprintf(c.Stderr, "slipway: %s %s to stack %s\n", r.verb, r.sha, r.opts.Stack)
	res, err := s.Up(ctx, r.sha, r.message)
	if err != nil {
		if aws != nil && !errors.Is(err, deploy.ErrLocked) && ctx.Err() == nil {
			c.explain(ctx, aws, outputs, "pulumi up failed", "")
		}
		return stackError(err)
	}
	out := deployResult{Stack: r.opts.Stack, ImageTag: r.sha, Previous: r.previous, Changes: res.Counts, DurationSeconds: res.Duration.Seconds()}
	out.TaskDefinitionArn, _ = res.Outputs[contract.OutTaskDefinitionArn].(string)

	if aws == nil {
		if aws, err = c.awsFor(ctx, res.Outputs); err != nil {
			return err
		}
	}
	v, err := c.verify(ctx, aws, res.Outputs, r.opts.VerifyTimeout)
	if err != nil {
		return err
	}
	switch {
	case v.OK:
		out.Verified = true
		c.markDeployed(ctx, aws, res.Outputs, r.sha)
		if err := c.report(r.opts.Output, out); err != nil {
			return err
		}
		// The deploy is done and verified: a job summary that cannot be
		// written is worth a warning, not the exit code of a failed deploy.
		if err := c.appendStepSummary(deploySummaryMarkdown(out, r.verb)); err != nil {
			fmt.Fprintf(c.Stderr, "slipway: warning: %v\n", err)
		}
		return nil
	case !v.RolledBack:
		c.explain(ctx, aws, res.Outputs, "ECS does not show the deploy as done", "")
		return fmt.Errorf("the stack records %s as deployed, but ECS does not confirm it: %s; check with deploy status (nothing was rolled back or reconciled)", r.sha, v.Reason)
	}

	// ECS rolled back: the engine says success, ECS runs the old task
	// definition. Tell why, then put state, config and ECS back in step.
	out.RolledBack = true
	c.explain(ctx, aws, res.Outputs, "ECS ROLLED BACK THE DEPLOY: "+v.Reason, out.TaskDefinitionArn)
	// Every outcome from here reports the result and exits 4.
	rolledBack := func(err error) error {
		_ = c.report(r.opts.Output, out)
		return exitError{ExitRolledBack, err}
	}
	if len(platform) > 0 {
		// The image is not the only suspect: reconciling would redeploy
		// the previous SHA with the same platform change, and marking the
		// SHA rejected could blame a good image.
		return rolledBack(fmt.Errorf("ECS rolled back the deploy of %s (%s), which also applied %d platform change(s): the cause may be the platform change, not the image, so nothing was reconciled or marked rejected; "+
			"the stack records %s while ECS runs the previous task definition: fix or revert the platform change and run up --all again (see deploy status)", r.sha, v.Reason, len(platform), r.sha))
	}
	if r.previous == r.sha {
		// A re-deploy of the running SHA: its image runs fine, so ECS's
		// rollback does not blame it, and there is nothing to reconcile to.
		return rolledBack(fmt.Errorf("ECS rolled back a re-deploy of the running SHA %s (%s): the image is not marked rejected, and ECS runs its previous task definition; see deploy status", r.sha, v.Reason))
	}
	// History learns of the rejection first, with an update that must
	// change nothing (the stack already holds this SHA): whatever happens
	// next, no default rollback picks this SHA and the ledger names what
	// ECS runs.
	if err := s.Mark(ctx, r.sha, contract.RejectedMessage(r.sha).String()); err != nil {
		fmt.Fprintf(c.Stderr, "slipway: could not record in history that ECS rolled back %s (the reconcile records it too): %v\n", r.sha, err)
	}
	if r.previous == "" {
		return rolledBack(fmt.Errorf("ECS rolled back the deploy of %s (%s) and there is no earlier good SHA to reconcile the stack to; fix the image and deploy again", r.sha, v.Reason))
	}
	// The reconcile must deploy what ECS went back to. History and ECS
	// can disagree (an update that failed after it was applied): then the
	// tool does not guess.
	if running, err := runningTag(ctx, aws, v.Primary.TaskDefinition); err != nil {
		fmt.Fprintf(c.Stderr, "slipway: warning: could not read the image ECS went back to (%v); reconciling to the last good SHA in history, %s\n", err, r.previous)
	} else if running != r.previous {
		return rolledBack(fmt.Errorf("ECS rolled back the deploy of %s (%s) to a task definition running image tag %q, but the last good SHA in history is %s: nothing was reconciled; check deploy status, then deploy up --sha with the SHA ECS runs", r.sha, v.Reason, running, r.previous))
	}
	if err := c.reconcile(ctx, s, aws, res.Outputs, r); err != nil {
		return rolledBack(fmt.Errorf("ECS rolled back the deploy of %s (%s), and reconciling the stack to %s failed: %w; "+
			"ECS still runs the old task definition; run deploy status, then deploy up --sha %s once its image is in ECR (or deploy a fixed SHA)", r.sha, v.Reason, r.previous, err, r.previous))
	}
	out.Reconciled = r.previous
	_ = c.appendStepSummary(deploySummaryMarkdown(out, r.verb))
	return rolledBack(fmt.Errorf("ECS rolled back the deploy of %s: %s; the stack is reconciled to %s", r.sha, v.Reason, r.previous))
}

// reconcile redeploys the last good SHA after ECS rolled a deploy back, so
// that the stack's state and config agree with what ECS runs. It checks the
// image first and verifies the result like any deploy.
func (c *Command) reconcile(ctx context.Context, s *deploy.Session, aws *awsx.Client, outputs map[string]interface{}, r deployRequest) error {
	fmt.Fprintf(c.Stderr, "slipway: reconciling the stack to the last good SHA %s\n", r.previous)
	if _, err := c.checkImage(ctx, outputs, r.previous); err != nil {
		return err
	}
	res, err := s.Up(ctx, r.previous, contract.ReconcileMessage(r.previous, r.sha).String())
	if err != nil {
		return stackError(err)
	}
	v, err := c.verify(ctx, aws, res.Outputs, r.opts.VerifyTimeout)
	if err != nil {
		return err
	}
	if !v.OK {
		return errors.New("ECS did not settle on the reconciled task definition: " + v.Reason)
	}
	c.markDeployed(ctx, aws, res.Outputs, r.previous)
	return nil
}

// runningTag is the image tag of the service container in taskDefinition.
func runningTag(ctx context.Context, aws *awsx.Client, taskDefinition string) (string, error) {
	images, err := aws.Images(ctx, taskDefinition)
	if err != nil {
		return "", err
	}
	image := images[contract.ContainerName]
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return "", fmt.Errorf("task definition %s has no tagged %s image (got %q)", taskDefinition, contract.ContainerName, image)
	}
	return image[i+1:], nil
}

// markDeployed tags the image ECS verifiably runs deployed-<sha>: the
// lifecycle policy keeps the rollback window of such images however many
// images are pushed since. A failure only warns: the deploy is done.
func (c *Command) markDeployed(ctx context.Context, aws *awsx.Client, outputs map[string]interface{}, sha string) {
	repo, err := outputString(outputs, contract.OutRepositoryURL)
	if err == nil {
		err = aws.AddTag(ctx, repo, sha, contract.DeployedTagPrefix+sha)
	}
	if err != nil {
		fmt.Fprintf(c.Stderr, "slipway: warning: could not tag the image %s as deployed (%s%s), so the lifecycle policy does not protect it beyond the newest pushes: %v\n", sha, contract.DeployedTagPrefix, sha, err)
	}
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// awsFor opens AWS clients in the stack's region.
func (c *Command) awsFor(ctx context.Context, outputs map[string]interface{}) (*awsx.Client, error) {
	region, err := outputString(outputs, contract.OutRegion)
	if err != nil {
		return nil, err
	}
	return awsx.New(ctx, region)
}

// checkImage refuses a SHA whose image is not in the stack's repository.
func (c *Command) checkImage(ctx context.Context, outputs map[string]interface{}, sha string) (*awsx.Client, error) {
	repo, err := outputString(outputs, contract.OutRepositoryURL)
	if err != nil {
		return nil, err
	}
	aws, err := c.awsFor(ctx, outputs)
	if err != nil {
		return nil, err
	}
	ok, err := aws.ImageExists(ctx, repo, sha)
	if errors.Is(err, awsx.ErrImageUnavailable) {
		return nil, exitError{ExitNoImage, fmt.Errorf("refused before touching anything: %w", err)}
	}
	if err != nil {
		return nil, fmt.Errorf("checking the image %s:%s: %w", repo, sha, err)
	}
	if !ok {
		return nil, exitError{ExitNoImage, fmt.Errorf("refused before touching anything: image %s:%s is not in ECR (not pushed yet, or expired by the lifecycle policy); push it, or pick a SHA from deploy history", repo, sha)}
	}
	return aws, nil
}

// verify waits until ECS settles on the stack's task definition or not.
func (c *Command) verify(ctx context.Context, aws *awsx.Client, outputs map[string]interface{}, timeout time.Duration) (awsx.Verification, error) {
	want, err := outputString(outputs, contract.OutTaskDefinitionArn)
	if err != nil {
		return awsx.Verification{}, err
	}
	cluster, err := outputString(outputs, contract.OutClusterName)
	if err != nil {
		return awsx.Verification{}, err
	}
	service, err := outputString(outputs, contract.OutServiceName)
	if err != nil {
		return awsx.Verification{}, err
	}
	interval := c.VerifyInterval
	if interval == 0 {
		interval = verifyInterval
	}
	v, _, err := aws.WaitVerified(ctx, cluster, service, want, timeout, interval)
	if errors.Is(err, awsx.ErrTimeout) {
		return v, fmt.Errorf("ECS had not finished the rollout of %s after %s (%s): the stack records the deploy but it is UNVERIFIED; "+
			"watch it with deploy status, and if ECS rolls it back, run deploy rollback: %w", want, timeout, v.Reason, err)
	}
	if err != nil {
		return v, fmt.Errorf("verifying the rollout of %s: %w", want, err)
	}
	return v, nil
}

// explain prints what ECS says: the stopped tasks (of taskDef, when
// given) and the latest service events. Best effort: it never fails.
func (c *Command) explain(ctx context.Context, aws *awsx.Client, outputs map[string]interface{}, headline, taskDef string) {
	w := c.Stderr
	fmt.Fprintf(w, "\nslipway: %s\n", headline)
	cluster, _ := outputs[contract.OutClusterName].(string)
	service, _ := outputs[contract.OutServiceName].(string)
	if tasks, err := aws.StoppedTasks(ctx, cluster, service, 50); err != nil {
		fmt.Fprintf(w, "  (stopped tasks unavailable: %v)\n", err)
	} else {
		fmt.Fprintln(w, "stopped tasks:")
		shown := 0
		for _, t := range tasks {
			if (taskDef == "" || t.TaskDefinition == taskDef) && shown < 5 {
				printStoppedTask(w, t)
				shown++
			}
		}
	}
	if st, err := aws.Service(ctx, cluster, service); err != nil {
		fmt.Fprintf(w, "  (service events unavailable: %v)\n", err)
	} else {
		fmt.Fprintln(w, "latest service events:")
		printEvents(w, st.Events)
	}
}

func printStoppedTask(w io.Writer, t awsx.StoppedTask) {
	fmt.Fprintf(w, "  %s  %s  %s: %s\n", t.StoppedAt.UTC().Format(time.RFC3339), shortArn(t.TaskDefinition), t.StopCode, t.StoppedReason)
	for _, ct := range t.Containers {
		code := "-"
		if ct.ExitCode != nil {
			code = fmt.Sprint(*ct.ExitCode)
		}
		fmt.Fprintf(w, "      container %s exit %s %s\n", ct.Name, code, ct.Reason)
	}
}

func printEvents(w io.Writer, events []awsx.Event) {
	for _, e := range events {
		fmt.Fprintf(w, "  %s  %s\n", e.At.UTC().Format(time.RFC3339), e.Message)
	}
}

// shortArn is the last path element of an ARN (family:revision).
func shortArn(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// report prints a deploy's result.
func (c *Command) report(format string, r deployResult) error {
	if format == "json" {
		return writeJSON(c.Stdout, r)
	}
	state := "verified: ECS runs it (PRIMARY deployment COMPLETED)"
	if r.RolledBack {
		state = "ROLLED BACK by ECS"
		if r.Reconciled != "" {
			state += "; stack reconciled to " + r.Reconciled
		}
	}
	fmt.Fprintf(c.Stdout, "stack %s: %s\n  image      %s\n  previous   %s\n  task def   %s\n  duration   %.0fs\n  changes    %s\n",
		r.Stack, state, r.ImageTag, firstNonEmpty(r.Previous, "(none)"), r.TaskDefinitionArn, r.DurationSeconds, countsLine(r.Changes))
	return nil
}

func deploySummaryMarkdown(r deployResult, verb string) string {
	status := "✅ verified: ECS runs it"
	if r.RolledBack {
		status = "❌ ECS rolled the deploy back"
		if r.Reconciled != "" {
			status += "; stack reconciled to `" + r.Reconciled + "`"
		}
	}
	return fmt.Sprintf("### slipway %s `%s` to %s\n%s\n\n| | |\n|---|---|\n| image | `%s` |\n| previous | `%s` |\n| task definition | `%s` |\n| duration | %.0f s |\n| changes | %s |\n",
		verb, r.ImageTag[:7], r.Stack, status, r.ImageTag, firstNonEmpty(r.Previous, "none"), r.TaskDefinitionArn, r.DurationSeconds, countsLine(r.Changes))
}
