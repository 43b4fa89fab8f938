package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/notify"
)

// outcomeExit is the exit code of each deploy outcome: the one table the
// tool follows and the README's "Exit codes of up and rollback" repeats.
var outcomeExit = map[deploy.Kind]int{
	deploy.Verified:                   ExitOK,
	deploy.Unverified:                 ExitFailure,
	deploy.RefusedNeverDeployed:       ExitRefused,
	deploy.RefusedPlatform:            ExitRefused,
	deploy.RefusedNoImage:             ExitNoImage,
	deploy.RefusedDiverged:            ExitMismatch,
	deploy.RefusedRejected:            ExitRefused,
	deploy.RefusedOlder:               ExitRefused,
	deploy.RefusedMissingSecret:       ExitBadInput,
	deploy.RefusedProtectedBranch:     ExitRefused,
	deploy.RefusedDestructive:         ExitRefused,
	deploy.RefusedRename:              ExitRefused,
	deploy.RefusedStateChanged:        ExitRefused,
	deploy.RefusedNoTarget:            ExitBadInput,
	deploy.RefusedNotPromotable:       ExitRefused,
	deploy.RolledBackReconciled:       ExitRolledBack,
	deploy.RolledBackPlatform:         ExitRolledBack,
	deploy.RolledBackRedeploy:         ExitRolledBack,
	deploy.RolledBackNoEarlier:        ExitRolledBack,
	deploy.RolledBackDiverged:         ExitRolledBack,
	deploy.RolledBackReconcileFailed:  ExitRolledBack,
	deploy.RolledBackReconcileSkipped: ExitRolledBack,
	deploy.RollbackFailed:             ExitFailure,
	deploy.Stopped:                    ExitFailure,
	deploy.Failed:                     ExitFailure,
	deploy.Locked:                     ExitLocked,
	deploy.Interrupted:                ExitFailure,
}

// exitCode is the exit code of an outcome kind; a kind missing from the
// table is a failure.
func exitCode(k deploy.Kind) int {
	if code, ok := outcomeExit[k]; ok {
		return code
	}
	return ExitFailure
}

// renderOutcome prints a deploy's outcome (what ECS said and the warnings
// on stderr, the result on stdout), appends the job summary (the phases'
// gantt chart) and the service-url step output, posts the notification,
// and returns the outcome's exit error. opts are the verb's: its output
// format, and the config naming the stack's GitHub environment.
func (c *Command) renderOutcome(opts *CommonOptions, o deploy.Outcome) error {
	format := opts.Output
	if o.Diagnostics != nil {
		printDiagnostics(c.Stderr, *o.Diagnostics)
	}
	for _, w := range o.Warnings {
		c.note("warning: %s", w)
	}
	reported := o.Kind == deploy.Verified || o.Kind == deploy.Unverified || o.Kind.RolledBack()
	if format == "json" {
		if err := writeJSON(c.Stdout, o); err != nil {
			return err
		}
	} else if reported {
		printOutcome(c.Stdout, o)
	}
	// The job summary, the step output and the notification are reports:
	// one that cannot be made is worth a warning, not the exit code of a
	// failed deploy.
	if err := c.appendStepSummary(deploySummaryMarkdown(o)); err != nil {
		c.note("warning: %v", err)
	}
	if o.ServiceURL != "" {
		if err := c.appendStepOutput("service-url", o.ServiceURL); err != nil {
			c.note("warning: %v", err)
		}
	}
	c.notify(o, opts.cfg.GitHubEnvironment)
	if o.Kind == deploy.Verified {
		return nil
	}
	err := errors.New(explain(o))
	if o.Kind == deploy.Locked {
		err = fmt.Errorf("%w\n%s", err, lockedRunbook)
	}
	return exitError{exitCode(o.Kind), err}
}

// failedBefore reports err, which ended a deploy verb before its deploy
// could be decided (the backend, the engine or its plugins, the commit
// time), as an outcome like any other: failed (interrupted when the
// context ended), with the job summary and the notification a failed
// deploy gets. Bad input changed nothing, and exits 2 as it is.
func (c *Command) failedBefore(ctx context.Context, opts *CommonOptions, o deploy.Outcome, err error) error {
	var in inputError
	if errors.As(err, &in) {
		return err
	}
	o.Kind, o.Err, o.Error = deploy.Failed, err, err.Error()
	if ctx.Err() != nil {
		o.Kind = deploy.Interrupted
	}
	if o.Phases == nil {
		o.Phases = []deploy.Phase{}
	}
	return c.renderOutcome(opts, o)
}

// explain is the one-paragraph account of an outcome that is not a
// verified deploy, ending with what to do.
func explain(o deploy.Outcome) string {
	because := ""
	if o.Reason != "" {
		because = " (" + o.Reason + ")"
	}
	if len(o.Alarms) > 0 {
		because += " on alarm " + strings.Join(o.Alarms, ", ")
	}
	switch o.Kind {
	case deploy.RefusedPlatform:
		var b strings.Builder
		fmt.Fprintf(&b, "refused before touching anything: the stack has %d platform change(s) pending, which CD must not apply:\n", len(o.Platform))
		for _, ch := range o.Platform {
			fmt.Fprintf(&b, "  %-18s %s %s\n", ch.Op, ch.Type, ch.Name)
		}
		fmt.Fprintf(&b, "An administrator applies them with credentials allowed to: deploy up --stack %s --all --sha %s", o.Stack, cmp.Or(o.Previous, o.ImageTag))
		return b.String()
	case deploy.RefusedNoImage:
		if o.PromotedFrom != "" {
			return "refused before touching anything: " + o.Error + "; " + promotableNote(o)
		}
		return "refused before touching anything: " + o.Error
	case deploy.RefusedDiverged:
		return fmt.Sprintf("refused before touching anything: %s. ECS may have rolled back a deploy the tool could not verify, or someone deployed by hand: check deploy status; "+
			"to make the stack follow ECS, deploy up --sha %s --force; to %s anyway, add --force", o.Error, o.RunningImageTag, o.Verb)
	case deploy.RefusedRejected:
		return "refused before touching anything: " + o.Error + "; fix the image and deploy a new SHA, or add --force to deploy this one again"
	case deploy.RefusedOlder:
		return "refused before touching anything: " + o.Error + "; a re-run of an old CD run must not go back quietly (add --force to deploy it as a new deploy)"
	case deploy.RollbackFailed:
		return o.Error + "; the service may run neither version: run deploy status, then deploy rollback --to <a SHA that ran> --force (or deploy up --sha <a fixed SHA> --force): ECS no longer runs what history records"
	case deploy.Stopped:
		return o.Error + "; the service may run neither version fully: run deploy status, then deploy up --sha <the SHA to run> --force (ECS may not run what history records)"
	case deploy.Interrupted:
		if o.TaskDefinitionArn != "" {
			return fmt.Sprintf("%s; follow the rollout with: deploy status --stack %s", o.Error, o.Stack)
		}
		return o.Error
	case deploy.RefusedProtectedBranch:
		return "refused before touching anything: " + o.Error + "; put the token's identity on the bypass list of those rules (README: bootstrap), then run again with --github-bypass"
	case deploy.RefusedMissingSecret:
		return "refused before touching anything: " + o.Error + "; create it (or fix slipway:secrets), then deploy again"
	case deploy.RefusedDestructive:
		var b strings.Builder
		fmt.Fprintf(&b, "refused before touching anything: %s:\n", o.Error)
		for _, ch := range o.Destructive {
			fmt.Fprintf(&b, "  %-18s %s (forced by: %s)\n", ch.Op, ch.URN, cmp.Or(strings.Join(ch.Keys, ", "), "the engine does not say"))
		}
		b.WriteString("If that is intended (and the data is backed up), name each: --allow-destructive <URN>; a protected resource also needs pulumi state unprotect <URN> first")
		return b.String()
	case deploy.RefusedRename:
		return o.Error + "; put the old name back, or move to the new one deliberately (README: runbooks)"
	case deploy.RefusedNotPromotable:
		return "refused before touching anything: " + o.Error + "; " + promotableNote(o)
	case deploy.RefusedStateChanged:
		return "refused: the stack changed between the guard's preview and the update, so the update would not be the one judged: " + o.Error + "; nothing was applied: run the command again (it previews anew)"
	case deploy.RolledBackReconcileSkipped:
		return fmt.Sprintf("%s; ECS runs the previous task definition: run deploy status, then deploy up --sha %s", o.Error, o.Previous)
	case deploy.Unverified:
		if strings.Contains(o.Error, awsx.ErrTimeout.Error()) {
			return "the stack records the deploy but it is UNVERIFIED: " + o.Error + "; watch it with deploy status: once ECS runs it, deploy up --sha " + o.ImageTag + " again verifies and tags it; to stop it, deploy rollback (ECS rolls it back in flight); if ECS rolled it back on its own, make the stack follow ECS with deploy up --sha <the SHA ECS runs> --force"
		}
		return fmt.Sprintf("the stack records %s as deployed, but ECS does not confirm it: %s; check with deploy status (nothing was rolled back or reconciled)", o.ImageTag, o.Error)
	case deploy.RolledBackPlatform:
		return fmt.Sprintf("ECS rolled back the deploy of %s%s, which also applied %d platform change(s): the cause may be the platform change, not the image, so nothing was reconciled or marked rejected; "+
			"the stack records %s while ECS runs the previous task definition: fix or revert the platform change and run up --all --force again (--force: ECS runs another image than the stack records; see deploy status)", o.ImageTag, because, len(o.Platform), o.ImageTag)
	case deploy.RolledBackRedeploy:
		return fmt.Sprintf("ECS rolled back a re-deploy of the running SHA %s%s: the image is not marked rejected, and ECS runs its previous task definition; see deploy status", o.ImageTag, because)
	case deploy.RolledBackNoEarlier:
		return fmt.Sprintf("ECS rolled back the deploy of %s%s and there is no earlier good SHA to reconcile the stack to; fix the image and deploy again", o.ImageTag, because)
	case deploy.RolledBackDiverged:
		return fmt.Sprintf("%s; check deploy status, then make the stack follow ECS: deploy up --sha %s --force (the stack records another SHA)", o.Error, cmp.Or(o.RunningImageTag, "<the SHA ECS runs>"))
	case deploy.RolledBackReconcileFailed:
		return fmt.Sprintf("%s; ECS still runs the old task definition; run deploy status, then deploy up --sha %s once its image is in ECR (or deploy a fixed SHA)", o.Error, o.Previous)
	case deploy.RolledBackReconciled:
		return fmt.Sprintf("ECS rolled back the deploy of %s%s; the stack is reconciled to %s", o.ImageTag, because, o.Reconciled)
	}
	return o.Error
}

// promotableNote names the SHAs a refused promotion could promote
// instead, with the command, or says that there are none.
func promotableNote(o deploy.Outcome) string {
	if len(o.Promotable) == 0 {
		return fmt.Sprintf("no SHA %s ran recently can be promoted: deploy one to %s and let ECS verify it, then promote it", o.PromotedFrom, o.PromotedFrom)
	}
	return fmt.Sprintf("SHAs %s verifiably ran that can be promoted, newest first: %s (deploy promote --from %s --to %s --sha <sha>)",
		o.PromotedFrom, strings.Join(o.Promotable, ", "), o.PromotedFrom, o.Stack)
}

func printDiagnostics(w io.Writer, d deploy.Diagnostics) {
	fmt.Fprintf(w, "\nslipway: %s\n", d.Headline)
	for _, u := range d.Unavailable {
		fmt.Fprintf(w, "  (%s unavailable)\n", u)
	}
	fmt.Fprintln(w, "stopped tasks:")
	for _, t := range d.StoppedTasks {
		printStoppedTask(w, t)
	}
	fmt.Fprintln(w, "latest service events:")
	printEvents(w, d.Events)
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

// state is the one-line result of a reported outcome.
func state(o deploy.Outcome) string {
	switch {
	case o.Kind == deploy.Verified && o.VerdictSource == awsx.SourceDeployments:
		return "verified: ECS runs it (PRIMARY deployment COMPLETED)"
	case o.Kind == deploy.Verified:
		return "verified: ECS runs it (service deployment SUCCESSFUL)"
	case o.Kind == deploy.RolledBackReconciled:
		return "ROLLED BACK by ECS; stack reconciled to " + o.Reconciled
	case o.Kind.RolledBack():
		return "ROLLED BACK by ECS"
	}
	return "UNVERIFIED: ECS did not confirm the rollout"
}

func printOutcome(w io.Writer, o deploy.Outcome) {
	fmt.Fprintf(w, "stack %s: %s\n  image      %s\n", o.Stack, state(o), o.ImageTag)
	if o.PromotedFrom != "" {
		fmt.Fprintf(w, "  promoted   from %s, which verifiably ran it\n", o.PromotedFrom)
	}
	fmt.Fprintf(w, "  previous   %s\n  task def   %s\n  duration   %s\n  changes    %s\n",
		cmp.Or(o.Previous, "(none)"), o.TaskDefinitionArn, duration(o.Phases), countsLine(o.Changes))
}

// duration is the time from the first phase's start to the last's end.
func duration(phases []deploy.Phase) string {
	if len(phases) == 0 {
		return "0s"
	}
	return phases[len(phases)-1].End.Sub(phases[0].Start).Round(time.Second).String()
}

// appendStepOutput appends name=value to $GITHUB_OUTPUT when set, as a
// step's output: ${{ steps.<id>.outputs.<name> }}.
func (c *Command) appendStepOutput(name, value string) error {
	path := c.getenv("GITHUB_OUTPUT")
	if path == "" {
		return nil
	}
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("the step output %s is not written: its value has a line break", name)
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing the step output %s: %w", name, err)
	}
	if _, err := io.WriteString(f, name+"="+value+"\n"); err != nil {
		f.Close()
		return fmt.Errorf("writing the step output %s: %w", name, err)
	}
	return f.Close()
}

// notify posts o to $SLIPWAY_WEBHOOK_URL when set: every outcome of a
// deploy, a refusal too (CD is red then as well). A post that fails only
// warns, without the URL (a secret).
func (c *Command) notify(o deploy.Outcome, environment string) {
	hook := c.getenv("SLIPWAY_WEBHOOK_URL")
	if hook == "" {
		return
	}
	if err := (notify.Webhook{URL: hook}).Post(context.Background(), notification(o, environment, c.runURL())); err != nil {
		c.note("warning: the notification was not sent: %v", err)
	}
}

// notification is the message about o, a deploy to the GitHub
// environment environment: a one-line text for chat, and the same facts
// as fields.
func notification(o deploy.Outcome, environment, runURL string) notify.Message {
	icon := "❌"
	switch {
	case o.Kind == deploy.Verified:
		icon = "✅"
	case o.Kind == deploy.Unverified:
		icon = "⚠️"
	}
	text := fmt.Sprintf("%s slipway %s %s to %s: %s in %s (previous %s)", icon, o.Verb, short7(o.ImageTag), o.Stack, o.Kind, duration(o.Phases), short7(o.Previous))
	if runURL != "" {
		text += " " + runURL
	}
	secs := 0.0
	if len(o.Phases) > 0 {
		secs = o.Phases[len(o.Phases)-1].End.Sub(o.Phases[0].Start).Seconds()
	}
	return notify.Message{Text: text, Stack: o.Stack, Environment: environment, SHA: o.ImageTag, Previous: o.Previous, Outcome: string(o.Kind), DurationSeconds: secs, RunURL: runURL}
}

// runURL is the link to the GitHub Actions run, "" outside one.
func (c *Command) runURL() string {
	server, repo, id := c.getenv("GITHUB_SERVER_URL"), c.getenv("GITHUB_REPOSITORY"), c.getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || id == "" {
		return ""
	}
	return strings.TrimSuffix(server, "/") + "/" + repo + "/actions/runs/" + id
}
