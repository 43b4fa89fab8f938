package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/contract"
)

// Stack is what a deploy needs of the stack and its engine; *Session
// satisfies it.
type Stack interface {
	Outputs(ctx context.Context) (map[string]interface{}, error)
	Preview(ctx context.Context, sha string, o PreviewOptions) (Plan, error)
	Up(ctx context.Context, sha, message string) (UpResult, error)
	Mark(ctx context.Context, sha, message string) error
}

// Cloud is what a deploy needs of ECR and ECS; *awsx.Client satisfies it.
type Cloud interface {
	ImageExists(ctx context.Context, repository, tag string) (bool, error)
	AddTag(ctx context.Context, repository, tag, newTag string) error
	WaitVerified(ctx context.Context, in awsx.WaitInput) (awsx.Verification, error)
	InFlight(ctx context.Context, cluster, service string) (awsx.ServiceDeployment, bool, error)
	StopRollout(ctx context.Context, cluster, service, deploymentArn string) error
	MissingSecrets(ctx context.Context, refs []contract.SecretRef) ([]awsx.Missing, error)
	Images(ctx context.Context, taskDefinition string) (map[string]string, error)
	Service(ctx context.Context, cluster, service string) (awsx.ServiceState, error)
	StoppedTasks(ctx context.Context, cluster, service string, max int) ([]awsx.StoppedTask, error)
}

// Deployer decides what a deploy does next: it checks the image, guards
// against platform changes, runs the update, verifies the rollout with
// ECS, and when ECS rolled the deploy back, records the rejection and
// reconciles the stack to what ECS went back to. It prints nothing: every
// decision and finding is in the Outcome it returns.
type Deployer struct {
	Stack Stack
	// History is the stack's history, read newest first (a *Session is
	// one).
	History HistorySource
	// OpenCloud opens ECR and ECS clients in the stack's region.
	OpenCloud func(ctx context.Context, region string) (Cloud, error)
	// VerifyInterval is how often ECS is polled while a rollout is in
	// progress; 0 means every 5 seconds.
	VerifyInterval time.Duration
	// Notify receives one line when a phase that changes something
	// starts (nil: discarded), for a person watching a long deploy.
	Notify func(line string)
	// Now is the clock of the phase timings; nil means time.Now.
	Now func() time.Time
}

// Request is one deploy of a SHA, by up or by rollback.
type Request struct {
	Stack    string
	SHA      string
	Previous string // the SHA running before, "" when there is none
	Message  contract.Message
	// All lets the update apply platform changes too (administrators).
	All bool
	// Force deploys although ECS runs something other than history's
	// current SHA (and, for up, a SHA ECS rolled back or an older one).
	Force         bool
	VerifyTimeout time.Duration
	// Deadline is when the tool must be done; zero means none. Waits end
	// by it, and a reconcile that cannot finish by it is skipped.
	Deadline time.Time
	// AllowDestructive are the URNs of stateful resources an --all update
	// may replace or delete; any other such change is refused.
	AllowDestructive []string
	// Permanent are stack outputs naming resources that a change of name
	// replaces (the service, the cluster), with the names the stack's
	// config gives them now: a difference is refused before the engine runs.
	Permanent map[string]string
	// Secrets are the secrets the task definition passes to the container:
	// each must exist (described, never read) before the update.
	Secrets []contract.SecretRef
	// Region is the config's AWS region: where a first deploy checks the
	// secrets when the stack's outputs name no region yet.
	Region string
	// CommitTime is when the SHA's commit was made (zero when unknown):
	// history older than it, less commitSkew, holds no deploy of the SHA,
	// so Up reads no further for a new SHA.
	CommitTime time.Time
	// CommitBlockers are the rules that would refuse the program's commit
	// of the workflow files to the default branch: an update that changes
	// those files is refused before it touches AWS.
	CommitBlockers []string
}

// Kind is what came of a deploy. Each kind has one exit code (see the
// CLI's table) and one runbook entry in the README.
type Kind string

// The kinds of outcome.
const (
	// Verified: ECS runs the new task definition and its rollout completed.
	Verified Kind = "verified"
	// Unverified: the update ran but ECS did not confirm the rollout (time
	// out, no PRIMARY deployment, ECS could not be read); nothing was
	// rolled back or reconciled.
	Unverified Kind = "unverified"
	// RefusedNeverDeployed: the stack has no service yet (no serviceName
	// output) and the request is not --all; the first deploy is an
	// administrator's.
	RefusedNeverDeployed Kind = "refused-never-deployed"
	// RefusedPlatform: the preview holds changes a deploy must not apply.
	RefusedPlatform Kind = "refused-platform-changes"
	// RefusedNoImage: the image is not in ECR, or not pullable (archived).
	RefusedNoImage Kind = "refused-no-image"
	// RefusedDiverged: ECS runs another image than history's current SHA;
	// nothing is applied without --force.
	RefusedDiverged Kind = "refused-ecs-differs"
	// RefusedRejected: up of a SHA ECS rolled back, without --force.
	RefusedRejected Kind = "refused-rolled-back-before"
	// RefusedOlder: up of a SHA older than the current deploy, which is a
	// rollback (rollback --to), without --force.
	RefusedOlder Kind = "refused-older-sha"
	// RefusedProtectedBranch: the update would commit workflow files to a
	// default branch whose rules refuse direct commits.
	RefusedProtectedBranch Kind = "refused-protected-branch"
	// RefusedMissingSecret: a secret the task definition passes does not
	// exist (or not in the version asked for).
	RefusedMissingSecret Kind = "refused-missing-secret"
	// RefusedDestructive: an --all update would replace or delete a
	// stateful resource that --allow-destructive does not name.
	RefusedDestructive Kind = "refused-destructive"
	// RefusedRename: the config renames a resource whose name cannot
	// change in place (the service, the cluster).
	RefusedRename Kind = "refused-rename"
	// RefusedStateChanged: the stack's state or config changed between the
	// guard's preview and the update; nothing was applied.
	RefusedStateChanged Kind = "refused-state-changed"
	// RefusedNoTarget: a rollback with nothing to go to (the --to SHA
	// never ran, or is the current one, or nothing older qualifies).
	RefusedNoTarget Kind = "refused-no-rollback-target"
	// RefusedNotPromotable: a promotion of a SHA the stack it promotes from
	// has not verifiably run (never ran, rolled back by ECS, no verified
	// tag), or whose image there differs from the one this stack would pull.
	RefusedNotPromotable Kind = "refused-not-promotable"
	// RolledBackReconciled: ECS rolled back; the rejection is recorded and
	// the stack is reconciled to the SHA ECS went back to.
	RolledBackReconciled Kind = "rolled-back-reconciled"
	// RolledBackPlatform: ECS rolled back an update that also changed the
	// platform: the image is not blamed, nothing is reconciled.
	RolledBackPlatform Kind = "rolled-back-platform-change"
	// RolledBackRedeploy: ECS rolled back a re-deploy of the running SHA.
	RolledBackRedeploy Kind = "rolled-back-redeploy"
	// RolledBackNoEarlier: ECS rolled back and there is no earlier good SHA.
	RolledBackNoEarlier Kind = "rolled-back-no-earlier-sha"
	// RolledBackDiverged: ECS went back to something other than history's
	// last good SHA (or what it runs could not be read): no reconcile.
	RolledBackDiverged Kind = "rolled-back-diverged"
	// RolledBackReconcileFailed: ECS rolled back and the reconcile failed.
	RolledBackReconcileFailed Kind = "rolled-back-reconcile-failed"
	// RolledBackReconcileSkipped: ECS rolled back, and the reconcile could
	// not finish before the deadline, so it did not start.
	RolledBackReconcileSkipped Kind = "rolled-back-reconcile-skipped"
	// RollbackFailed: ECS tried to roll the deploy back and could not
	// (ROLLBACK_FAILED): the service is in neither state.
	RollbackFailed Kind = "ecs-rollback-failed"
	// Stopped: ECS stopped the deployment without a rollback (STOPPED, e.g.
	// the circuit breaker with rollback off, or another deploy replaced it).
	Stopped Kind = "ecs-stopped"
	// Failed: the update failed (or could not start) and ECS did not roll
	// anything back.
	Failed Kind = "failed"
	// Locked: another update holds the stack's lock; nothing ran.
	Locked Kind = "locked"
	// Interrupted: the run was cancelled (Ctrl-C, SIGTERM).
	Interrupted Kind = "interrupted"
)

// Kinds lists every kind, in the order the README documents them.
var Kinds = []Kind{Verified, Unverified, RefusedNeverDeployed, RefusedPlatform, RefusedNoImage,
	RefusedDiverged, RefusedRejected, RefusedOlder, RefusedMissingSecret, RefusedProtectedBranch, RefusedDestructive, RefusedRename, RefusedStateChanged, RefusedNoTarget, RefusedNotPromotable, RolledBackReconciled, RolledBackPlatform, RolledBackRedeploy, RolledBackNoEarlier, RolledBackDiverged,
	RolledBackReconcileFailed, RolledBackReconcileSkipped, RollbackFailed, Stopped, Failed, Locked, Interrupted}

// RolledBack reports whether ECS rolled the deploy back.
func (k Kind) RolledBack() bool { return strings.HasPrefix(string(k), "rolled-back-") }

// Phase is one step of a deploy and how it ended.
type Phase struct {
	Name   string    `json:"name"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Result string    `json:"result"` // ok, refused, failed, skipped, rolled-back, timed-out
}

// The phases of a deploy, in order.
const (
	PhaseImageCheck     = "image check"
	PhaseSecretsCheck   = "secrets check"
	PhaseGuard          = "guard preview"
	PhaseUpdate         = "engine update"
	PhaseVerify         = "ECS rollout"
	PhaseTag            = "tag deployed image"
	PhaseMarkRejected   = "record rejection"
	PhaseReconcile      = "reconcile"
	PhaseReconcileCheck = "reconcile image check"
	PhaseStopRollout    = "ECS rollback of the deploy in flight"
	// PhaseStagePrefix and the lifecycle stage ECS reports (SCALE_UP,
	// BAKE_TIME...) name each stage of a rollout, after its phase.
	PhaseStagePrefix = "ECS stage "
)

// Diagnostics is what ECS said about a deploy that did not go well.
type Diagnostics struct {
	Headline     string             `json:"headline"`
	StoppedTasks []awsx.StoppedTask `json:"stoppedTasks"`
	Events       []awsx.Event       `json:"events"`
	// Unavailable names what could not be read, and why.
	Unavailable []string `json:"unavailable,omitempty"`
}

// Outcome is everything a deploy decided and found.
type Outcome struct {
	Kind              Kind   `json:"outcome"`
	Stack             string `json:"stack"`
	Verb              string `json:"verb"`
	ImageTag          string `json:"imageTag"`
	Previous          string `json:"previous,omitempty"`
	TaskDefinitionArn string `json:"taskDefinitionArn,omitempty"`
	Reconciled        string `json:"reconciledTo,omitempty"`
	RunningImageTag   string `json:"runningImageTag,omitempty"`
	Reason            string `json:"reason,omitempty"` // ECS's verdict, in one line
	// Alarms are the CloudWatch alarms ECS found in ALARM, when they
	// rolled the deploy back.
	Alarms []string `json:"alarms,omitempty"`
	// StoppedDeployment is the service deployment a rollback asked ECS to
	// roll back while it was still in flight.
	StoppedDeployment string `json:"stoppedDeployment,omitempty"`
	// ServiceURL is the update's serviceUrl output: the environment's link.
	ServiceURL string `json:"serviceUrl,omitempty"`
	// VerdictSource is what ECS was asked for the verdict: the service
	// deployment, or the deployments list where that API is unavailable.
	VerdictSource string   `json:"verdictSource,omitempty"`
	Platform      []Change `json:"platformChanges,omitempty"`
	// Destructive are the replacements and deletions of stateful resources
	// an update would make.
	Destructive []Change       `json:"destructiveChanges,omitempty"`
	Changes     map[string]int `json:"changes,omitempty"`
	Phases      []Phase        `json:"phases"`
	Diagnostics *Diagnostics   `json:"diagnostics,omitempty"`
	Warnings    []string       `json:"warnings,omitempty"`
	// PromotedFrom is the stack a promotion took the SHA from.
	PromotedFrom string `json:"promotedFrom,omitempty"`
	// Promotable are, when a promotion is refused, the SHAs the stack it
	// promotes from verifiably ran, newest first, that can be promoted.
	Promotable []string `json:"promotable,omitempty"`
	// Err is the error behind a failed, refused or unverified outcome.
	Err error `json:"-"`
	// Error is Err's text, for JSON.
	Error string `json:"error,omitempty"`

	// stages are the lifecycle stages of the rollout verify waited for,
	// which the next phase recorded (the rollout's own) precedes.
	stages []Phase
}

// Verified reports whether ECS verifiably runs the deploy.
func (o Outcome) Verified() bool { return o.Kind == Verified }

// Deploy runs one deploy of r.SHA and returns what came of it.
func (d *Deployer) Deploy(ctx context.Context, r Request) Outcome {
	o := Outcome{Stack: r.Stack, Verb: verb(r.Message), ImageTag: r.SHA, Previous: r.Previous, PromotedFrom: r.Message.Source, Phases: []Phase{}}
	d.deploy(ctx, r, &o)
	if o.Err != nil {
		o.Error = o.Err.Error()
	}
	return o
}

// Up deploys r.SHA; r.Previous and r.Message are Up's to set (history's
// current SHA, a deploy message). Unless r.Force, it refuses a SHA ECS
// rolled back and a SHA older than the current deploy (going back is a
// rollback: a re-run of an old CD run must not quietly go back), before
// touching anything.
func (d *Deployer) Up(ctx context.Context, r Request) Outcome {
	o := Outcome{Stack: r.Stack, Verb: "deploy", ImageTag: r.SHA, Phases: []Phase{}}
	return d.guarded(ctx, r, o, contract.DeployMessage(r.SHA))
}

// commitSkew is how far ahead of the backend's clock a commit's recorded
// time may be (the committer's clock, a rebase's dates) while a deploy of
// it still started after it: a week, far beyond clock drift.
const commitSkew = 7 * 24 * time.Hour

// guarded deploys r.SHA with message m, as Up does: after history's
// precedent of the SHA in this stack, o holding what came before.
func (d *Deployer) guarded(ctx context.Context, r Request, o Outcome, m contract.Message) Outcome {
	var notBefore time.Time
	if !r.CommitTime.IsZero() {
		notBefore = r.CommitTime.Add(-commitSkew)
	}
	p, err := PrecedentOf(ctx, d.History, r.SHA, notBefore)
	o.Previous = p.Current
	o.Warnings = append(o.Warnings, skippedWarning(p.Skipped)...)
	switch {
	case err != nil:
		engineEnd(ctx, &o, err)
	case p.Rejected && !r.Force:
		end(&o, RefusedRejected, fmt.Errorf("ECS rolled back a deploy of %s, and it has not run since", r.SHA))
	case p.Older && !r.Force:
		end(&o, RefusedOlder, fmt.Errorf("%s is older than the current deploy %s: going back to it is a rollback (deploy rollback --to %s)", r.SHA, p.Current, r.SHA))
	default:
		r.Previous, r.Message = p.Current, m
		return d.finish(ctx, r, o)
	}
	o.Error = o.Err.Error()
	return o
}

// Rollback deploys the rollback target: to, or without it the previous
// good SHA (see RollbackTarget). r.SHA, r.Previous and r.Message are
// Rollback's to set.
func (d *Deployer) Rollback(ctx context.Context, to string, r Request) Outcome {
	o := Outcome{Stack: r.Stack, Verb: "rollback", ImageTag: to, Phases: []Phase{}}
	t, err := RollbackTarget(ctx, d.History, to)
	o.Previous = t.Current
	o.Warnings = skippedWarning(t.Skipped)
	switch {
	case errors.Is(err, ErrNeverDeployed):
		end(&o, RefusedNeverDeployed, fmt.Errorf("%w: nothing to roll back", err))
	case errors.Is(err, ErrNoTarget):
		end(&o, RefusedNoTarget, err)
	case err != nil:
		engineEnd(ctx, &o, err)
	default:
		r.SHA, r.Previous, r.Message = t.Target, t.Current, contract.RollbackMessage(t.Target, t.Current)
		o.ImageTag = t.Target
		if to == "" {
			if done := d.rollBackInFlight(ctx, r, &o, t.CurrentUpdate); done {
				if o.Err != nil {
					o.Error = o.Err.Error()
				}
				return o
			}
		}
		return d.finish(ctx, r, o)
	}
	o.Error = o.Err.Error()
	return o
}

// rollBackInFlight handles a rollback while the current SHA's deploy is
// still rolling out: ECS rolls it back itself (StopServiceDeployment,
// ROLLBACK), which is faster than a deploy of the target and needs no
// engine run, then the rejection is recorded and the stack reconciled to
// what ECS went back to, as after a rollback by the circuit breaker. It
// reports false, having done nothing, when no deployment of the stack's
// task definition is in flight (or ECS cannot say): then the rollback is a
// deploy of the target. update is how long the current deploy's engine
// update took, what the reconcile's update is expected to take.
func (d *Deployer) rollBackInFlight(ctx context.Context, r Request, o *Outcome, update time.Duration) bool {
	outputs, err := d.Stack.Outputs(ctx)
	if err != nil || !hasService(outputs) {
		return false
	}
	cloud, err := d.cloudFor(ctx, outputs)
	if err != nil {
		return false
	}
	cluster, _ := outputs[contract.OutClusterName].(string)
	service, _ := outputs[contract.OutServiceName].(string)
	want, _ := outputs[contract.OutTaskDefinitionArn].(string)
	sd, ok, err := cloud.InFlight(ctx, cluster, service)
	if err != nil {
		o.Warnings = append(o.Warnings, fmt.Sprintf("could not ask ECS for a deployment in flight (%v): rolling back with a deploy of %s", err, r.SHA))
		return false
	}
	if !ok || sd.TargetTaskDefinition != want {
		return false
	}
	d.notify("the deploy of %s is still rolling out (%s): asking ECS to roll it back", r.Previous, shortName(sd.Arn))
	o.TaskDefinitionArn = want
	o.ServiceURL, _ = outputs[contract.OutServiceURL].(string)
	start := d.now()
	if err := cloud.StopRollout(ctx, cluster, service, sd.Arn); err != nil {
		d.phase(o, PhaseStopRollout, start, "failed")
		end(o, Failed, err)
		return true
	}
	v, err := d.verify(ctx, o, cloud, outputs, sd.CreatedAt, d.waitFor(r))
	o.Reason, o.Alarms, o.VerdictSource = v.Reason, v.Alarms, v.Source
	switch {
	case err != nil && ctx.Err() != nil:
		d.phase(o, PhaseStopRollout, start, verifyResult(err))
		end(o, Interrupted, fmt.Errorf("interrupted while ECS rolls back %s (it goes on with the rollback): %w", shortName(sd.Arn), err))
		return true
	case err != nil:
		d.phase(o, PhaseStopRollout, start, verifyResult(err))
		end(o, Unverified, err)
		return true
	case !v.RolledBack:
		d.phase(o, PhaseStopRollout, start, "failed")
		o.Diagnostics = diagnose(ctx, cloud, outputs, "ECS DID NOT ROLL BACK THE DEPLOY IN FLIGHT: "+v.Reason, want)
		end(o, RollbackFailed, fmt.Errorf("ECS was asked to roll back the deploy of %s in flight and did not: %s", r.Previous, v.Reason))
		return true
	}
	d.phase(o, PhaseStopRollout, start, "rolled-back")
	// From here as after the circuit breaker: the SHA rolled back is the
	// current one, the SHA to reconcile to is the rollback's target. The
	// reconcile is an update like the current deploy's and a rollout of
	// the target's tasks like the one ECS just finished.
	// The outcome too reads as after the circuit breaker until the
	// reconcile is done: the SHA ECS rolled back and the one it went back
	// to, which a skipped or failed reconcile tells the user to deploy.
	need := update + phaseTime(o.Phases, PhaseStopRollout)
	o.ImageTag, o.Previous = r.Previous, r.SHA
	d.rolledBack(ctx, Request{Stack: r.Stack, SHA: r.Previous, Previous: r.SHA, VerifyTimeout: r.VerifyTimeout, Deadline: r.Deadline}, o, cloud, outputs, v, nil, need)
	o.StoppedDeployment = sd.Arn
	if o.Kind == RolledBackReconciled {
		// What the rollback asked for: ECS runs the target, verified, and
		// the stack records it.
		o.ImageTag, o.Previous = r.SHA, r.Previous
		end(o, Verified, nil)
	}
	return true
}

// finish runs the deploy and puts the phases and warnings of before, what
// was decided before it, first.
func (d *Deployer) finish(ctx context.Context, r Request, before Outcome) Outcome {
	o := d.Deploy(ctx, r)
	o.Phases = append(before.Phases, o.Phases...)
	o.Warnings = append(before.Warnings, o.Warnings...)
	return o
}

// skippedWarning names the history entries that count as no deploy.
func skippedWarning(s Skipped) []string {
	if note := s.Note(); note != "" {
		return []string{note}
	}
	return nil
}

func verb(m contract.Message) string {
	switch m.Kind {
	case contract.Rollback:
		return "rollback"
	case contract.Promote:
		return "promote"
	}
	return "deploy"
}

func (d *Deployer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Deployer) notify(format string, args ...interface{}) {
	if d.Notify != nil {
		d.Notify(fmt.Sprintf(format, args...))
	}
}

// phase records a phase that started at start.
func (d *Deployer) phase(o *Outcome, name string, start time.Time, result string) {
	o.Phases = append(o.Phases, Phase{Name: name, Start: start, End: d.now(), Result: result})
	o.Phases, o.stages = append(o.Phases, o.stages...), nil
}

// stageResult is how the stage a rollout ended in ended: as the rollout.
func stageResult(v awsx.Verification, err error) string {
	switch {
	case err != nil:
		return verifyResult(err)
	case v.OK:
		return "ok"
	case v.RolledBack:
		return "rolled-back"
	}
	return "failed"
}

// end sets the outcome's kind and error.
func end(o *Outcome, k Kind, err error) {
	o.Kind, o.Err = k, err
}

// engineEnd classifies an engine error: locked, interrupted, a state that
// changed since the guard's preview (refused when nothing was applied),
// or failed.
func engineEnd(ctx context.Context, o *Outcome, err error) {
	var mismatch *PlanMismatchError
	switch {
	case errors.As(err, &mismatch) && !mismatch.Applied:
		end(o, RefusedStateChanged, err)
	case errors.Is(err, ErrLocked):
		end(o, Locked, err)
	case ctx.Err() != nil:
		end(o, Interrupted, err)
	default:
		end(o, Failed, err)
	}
}

func (d *Deployer) deploy(ctx context.Context, r Request, o *Outcome) {
	outputs, err := d.Stack.Outputs(ctx)
	if err != nil {
		engineEnd(ctx, o, fmt.Errorf("reading the stack's outputs: %w", err))
		return
	}
	first := !hasService(outputs)
	if first && !r.All {
		end(o, RefusedNeverDeployed, errors.New("the stack has never been deployed: an administrator runs the first deploy with up --all (README: bootstrap)"))
		return
	}
	for _, key := range slices.Sorted(maps.Keys(r.Permanent)) {
		if had, _ := outputs[key].(string); had != "" && had != r.Permanent[key] {
			end(o, RefusedRename, fmt.Errorf("refused before the engine runs: the config names the %s %q, but the stack's is %q: a rename replaces it (and what hangs on it), it is not an update", key, r.Permanent[key], had))
			return
		}
	}
	// The image is checked wherever the stack names its repository: on
	// every deploy, and on a first one after the registry's own update.
	// The secrets are checked on every deploy, a first one's in the
	// config's region.
	_, registry := outputs[contract.OutRepositoryURL]
	var cloud Cloud
	switch {
	case !first || registry:
		cloud, err = d.cloudFor(ctx, outputs)
	case len(r.Secrets) > 0:
		cloud, err = d.OpenCloud(ctx, r.Region)
	}
	if err != nil {
		end(o, Failed, err)
		return
	}
	if !first && r.Previous != "" && !r.Force {
		// ECS is asked before acting: history's order comes from the
		// writing machine's clock, and ECS may have moved on its own.
		running, err := runningNow(ctx, cloud, outputs)
		if err != nil {
			end(o, Failed, fmt.Errorf("reading the image ECS runs now: %w", err))
			return
		}
		o.RunningImageTag = running
		if running != r.Previous {
			end(o, RefusedDiverged, fmt.Errorf("ECS runs image tag %q, but history's current SHA is %s", running, r.Previous))
			return
		}
	}
	if !first || registry {
		start := d.now()
		if k, err := checkImage(ctx, cloud, outputs, r.SHA); err != nil {
			d.phase(o, PhaseImageCheck, start, "refused")
			end(o, k, err)
			return
		}
		d.phase(o, PhaseImageCheck, start, "ok")
	}
	if len(r.Secrets) > 0 {
		start := d.now()
		missing, err := cloud.MissingSecrets(ctx, r.Secrets)
		switch {
		case err != nil:
			d.phase(o, PhaseSecretsCheck, start, "failed")
			end(o, Failed, fmt.Errorf("checking the task's secrets: %w", err))
			return
		case len(missing) > 0:
			d.phase(o, PhaseSecretsCheck, start, "refused")
			names := make([]string, len(missing))
			for i, m := range missing {
				names[i] = m.String()
			}
			end(o, RefusedMissingSecret, fmt.Errorf("%d secret(s) the task would read do not exist: %s", len(missing), strings.Join(names, "; ")))
			return
		}
		d.phase(o, PhaseSecretsCheck, start, "ok")
	}

	start := d.now()
	plan, err := d.Stack.Preview(ctx, r.SHA, PreviewOptions{})
	if err != nil {
		d.phase(o, PhaseGuard, start, "failed")
		engineEnd(ctx, o, err)
		return
	}
	platform := PlatformChanges(plan.Changes)
	if len(platform) > 0 && !r.All {
		d.phase(o, PhaseGuard, start, "refused")
		o.Platform = platform
		end(o, RefusedPlatform, fmt.Errorf("the stack has %d platform change(s) pending, which a deploy must not apply", len(platform)))
		return
	}
	if len(r.CommitBlockers) > 0 && slices.ContainsFunc(plan.Changes, func(c Change) bool { return c.Type == repositoryFileType }) {
		d.phase(o, PhaseGuard, start, "refused")
		end(o, RefusedProtectedBranch, fmt.Errorf("the update commits workflow files to %s, which would be refused after the AWS changes were applied: %s", contract.DefaultBranch, strings.Join(r.CommitBlockers, "; ")))
		return
	}
	if destructive := notAllowed(Destructive(plan.Changes), r.AllowDestructive); len(destructive) > 0 {
		d.phase(o, PhaseGuard, start, "refused")
		o.Destructive = destructive
		end(o, RefusedDestructive, fmt.Errorf("the update would replace or delete %d stateful resource(s) (data or what points at them is lost)", len(destructive)))
		return
	}
	d.phase(o, PhaseGuard, start, "ok")

	d.notify("%s %s to stack %s", o.Verb, r.SHA, r.Stack)
	start = d.now()
	since := start // service deployments older than the update are not its
	res, err := d.Stack.Up(ctx, r.SHA, r.Message.String())
	if err != nil {
		d.phase(o, PhaseUpdate, start, "failed")
		engineEnd(ctx, o, err)
		if cloud != nil && hasService(outputs) && o.Kind == Failed {
			o.Diagnostics = diagnose(ctx, cloud, outputs, "pulumi up failed", "")
		}
		return
	}
	d.phase(o, PhaseUpdate, start, "ok")
	o.Changes = res.Counts
	o.TaskDefinitionArn, _ = res.Outputs[contract.OutTaskDefinitionArn].(string)
	o.ServiceURL, _ = res.Outputs[contract.OutServiceURL].(string)
	if cloud == nil {
		if cloud, err = d.cloudFor(ctx, res.Outputs); err != nil {
			end(o, Unverified, err)
			return
		}
	}

	start = d.now()
	v, err := d.verify(ctx, o, cloud, res.Outputs, since, d.waitFor(r))
	o.Reason, o.Alarms, o.VerdictSource = v.Reason, v.Alarms, v.Source
	switch {
	case err != nil:
		d.phase(o, PhaseVerify, start, verifyResult(err))
		if ctx.Err() != nil {
			// The update is done and its lock released: stopping here
			// leaves ECS rolling out, its circuit breaker still on guard.
			// Say what ECS is doing, with a short wait of its own.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), snapshotTimeout)
			defer cancel()
			o.Diagnostics = diagnose(sctx, cloud, res.Outputs, "interrupted while ECS rolls out "+o.TaskDefinitionArn+": ECS goes on with it, and its circuit breaker still guards it", "")
			end(o, Interrupted, fmt.Errorf("interrupted while waiting for ECS (the update is done and holds no lock): %w", err))
			return
		}
		end(o, Unverified, err)
		return
	case v.OK:
		d.phase(o, PhaseVerify, start, "ok")
		end(o, Verified, nil)
		d.tag(ctx, cloud, res.Outputs, r.SHA, o)
		return
	case v.RollbackFailed:
		d.phase(o, PhaseVerify, start, "failed")
		o.Diagnostics = diagnose(ctx, cloud, res.Outputs, "ECS COULD NOT ROLL BACK THE DEPLOY: "+v.Reason, o.TaskDefinitionArn)
		end(o, RollbackFailed, fmt.Errorf("ECS could not roll back the deploy of %s: %s", r.SHA, v.Reason))
		return
	case v.Stopped:
		d.phase(o, PhaseVerify, start, "failed")
		o.Diagnostics = diagnose(ctx, cloud, res.Outputs, "ECS STOPPED THE DEPLOY: "+v.Reason, o.TaskDefinitionArn)
		end(o, Stopped, fmt.Errorf("ECS stopped the deploy of %s without rolling it back: %s", r.SHA, v.Reason))
		return
	case !v.RolledBack:
		d.phase(o, PhaseVerify, start, "failed")
		o.Diagnostics = diagnose(ctx, cloud, res.Outputs, "ECS does not show the deploy as done", "")
		end(o, Unverified, fmt.Errorf("ECS does not confirm the rollout of %s: %s", o.TaskDefinitionArn, v.Reason))
		return
	}
	d.phase(o, PhaseVerify, start, "rolled-back")
	// A reconcile is an update and a rollout like this deploy's.
	d.rolledBack(ctx, r, o, cloud, res.Outputs, v, platform, phaseTime(o.Phases, PhaseUpdate, PhaseVerify))
}

// repositoryFileType is a workflow file the program commits.
const repositoryFileType = "github:index/repositoryFile:RepositoryFile"

// notAllowed are the changes whose URN allowed does not name.
func notAllowed(changes []Change, allowed []string) []Change {
	var out []Change
	for _, c := range changes {
		if !slices.Contains(allowed, c.URN) {
			out = append(out, c)
		}
	}
	return out
}

// rolledBack decides what follows an ECS rollback: the engine recorded the
// deploy as a success while ECS runs an earlier task definition.
//
// need is how long a reconcile is expected to take: when the deadline
// leaves less, it is not started.
func (d *Deployer) rolledBack(ctx context.Context, r Request, o *Outcome, cloud Cloud, outputs map[string]interface{}, v awsx.Verification, platform []Change, need time.Duration) {
	o.Diagnostics = diagnose(ctx, cloud, outputs, "ECS ROLLED BACK THE DEPLOY: "+v.Reason, o.TaskDefinitionArn)
	if len(platform) > 0 {
		// The image is not the only suspect: reconciling would redeploy the
		// previous SHA with the same platform change, and marking the SHA
		// rejected could blame a good image.
		o.Platform = platform
		end(o, RolledBackPlatform, fmt.Errorf("ECS rolled back the deploy of %s, which also applied %d platform change(s)", r.SHA, len(platform)))
		return
	}
	if r.Previous == r.SHA {
		// A re-deploy of the running SHA: its image runs fine, so ECS's
		// rollback does not blame it, and there is nothing to reconcile to.
		end(o, RolledBackRedeploy, fmt.Errorf("ECS rolled back a re-deploy of the running SHA %s", r.SHA))
		return
	}
	// History learns of the rejection first, with an update that must
	// change nothing (the stack already holds this SHA): whatever happens
	// next, no default rollback picks this SHA.
	start := d.now()
	if err := d.Stack.Mark(ctx, r.SHA, contract.RejectedMessage(r.SHA).String()); err != nil {
		d.phase(o, PhaseMarkRejected, start, "failed")
		o.Warnings = append(o.Warnings, fmt.Sprintf("could not record in history that ECS rolled back %s (a reconcile records it too): %v", r.SHA, err))
	} else {
		d.phase(o, PhaseMarkRejected, start, "ok")
	}
	if r.Previous == "" {
		end(o, RolledBackNoEarlier, fmt.Errorf("ECS rolled back the deploy of %s and there is no earlier good SHA to reconcile the stack to", r.SHA))
		return
	}
	// The reconcile must deploy what ECS went back to. History and ECS can
	// disagree (an update that failed after it was applied, a deploy by
	// hand): then the tool does not guess.
	running, err := runningTag(ctx, cloud, cmp.Or(v.RolledBackTo, v.Primary.TaskDefinition))
	if err != nil {
		end(o, RolledBackDiverged, fmt.Errorf("ECS rolled back the deploy of %s, and the image it went back to could not be read (%v): nothing was reconciled", r.SHA, err))
		return
	}
	o.RunningImageTag = running
	if running != r.Previous {
		end(o, RolledBackDiverged, fmt.Errorf("ECS rolled back the deploy of %s to a task definition running image tag %q, but the last good SHA in history is %s: nothing was reconciled", r.SHA, running, r.Previous))
		return
	}
	// When the time left is shorter than the reconcile takes, it would be
	// cut off midway.
	if !r.Deadline.IsZero() && r.Deadline.Sub(d.now()) < need {
		end(o, RolledBackReconcileSkipped, fmt.Errorf("ECS rolled back the deploy of %s, and reconciling the stack to %s (about %s, as long as this deploy's update and rollout) cannot finish before the deadline (%s left): it was not started",
			r.SHA, r.Previous, need.Round(time.Second), r.Deadline.Sub(d.now()).Round(time.Second)))
		return
	}
	if err := d.reconcile(ctx, r, o, cloud, outputs); err != nil {
		if ctx.Err() != nil {
			// Ctrl-C or SIGTERM: the reconcile did not fail, it was
			// stopped; what is left to do is the reconcile.
			end(o, Interrupted, fmt.Errorf("ECS rolled back the deploy of %s; interrupted while reconciling the stack to %s, which ECS runs (finish it with deploy up --sha %s): %w", r.SHA, r.Previous, r.Previous, err))
			return
		}
		end(o, RolledBackReconcileFailed, fmt.Errorf("ECS rolled back the deploy of %s, and reconciling the stack to %s failed: %w", r.SHA, r.Previous, err))
		return
	}
	o.Reconciled = r.Previous
	end(o, RolledBackReconciled, fmt.Errorf("ECS rolled back the deploy of %s; the stack is reconciled to %s", r.SHA, r.Previous))
}

// reconcile redeploys the last good SHA after ECS rolled a deploy back, so
// that the stack's state and config agree with what ECS runs. It checks
// the image first and verifies the result like any deploy.
func (d *Deployer) reconcile(ctx context.Context, r Request, o *Outcome, cloud Cloud, outputs map[string]interface{}) error {
	d.notify("reconciling the stack to the last good SHA %s", r.Previous)
	start := d.now()
	if _, err := checkImage(ctx, cloud, outputs, r.Previous); err != nil {
		d.phase(o, PhaseReconcileCheck, start, "refused")
		return err
	}
	d.phase(o, PhaseReconcileCheck, start, "ok")
	start = d.now()
	// The reconcile is guarded and bound like any deploy: it may change
	// the task definition and the service's pointer to it, nothing else.
	plan, err := d.Stack.Preview(ctx, r.Previous, PreviewOptions{})
	if err != nil {
		d.phase(o, PhaseReconcile, start, "failed")
		return err
	}
	if platform := PlatformChanges(plan.Changes); len(platform) > 0 {
		d.phase(o, PhaseReconcile, start, "refused")
		return fmt.Errorf("the reconcile would apply %d platform change(s) (e.g. %s %s), which it must not", len(platform), platform[0].Op, platform[0].Name)
	}
	res, err := d.Stack.Up(ctx, r.Previous, contract.ReconcileMessage(r.Previous, r.SHA).String())
	if err != nil {
		d.phase(o, PhaseReconcile, start, "failed")
		return err
	}
	v, err := d.verify(ctx, o, cloud, res.Outputs, start, d.waitFor(r))
	if err != nil {
		d.phase(o, PhaseReconcile, start, verifyResult(err))
		return err
	}
	if !v.OK {
		d.phase(o, PhaseReconcile, start, "failed")
		return errors.New("ECS did not settle on the reconciled task definition: " + v.Reason)
	}
	d.phase(o, PhaseReconcile, start, "ok")
	d.tag(ctx, cloud, res.Outputs, r.Previous, o)
	return nil
}

// waitFor is how long a rollout may be waited for: the verify timeout,
// cut to the time left before the deadline.
func (d *Deployer) waitFor(r Request) time.Duration {
	if r.Deadline.IsZero() {
		return r.VerifyTimeout
	}
	return max(min(r.VerifyTimeout, r.Deadline.Sub(d.now())), time.Millisecond)
}

// phaseTime is how long the named phases took together.
func phaseTime(phases []Phase, names ...string) time.Duration {
	var total time.Duration
	for _, p := range phases {
		for _, n := range names {
			if p.Name == n {
				total += p.End.Sub(p.Start)
			}
		}
	}
	return total
}

func verifyResult(err error) string {
	if errors.Is(err, awsx.ErrTimeout) {
		return "timed-out"
	}
	return "failed"
}

// tag tags the image ECS verifiably runs deployed-<sha>, so that the
// lifecycle policy keeps the rollback window of such images however many
// images are pushed since, and verified-<stack>-<sha>, the evidence a
// promotion from this stack requires. A failure only warns: the deploy is
// done.
func (d *Deployer) tag(ctx context.Context, cloud Cloud, outputs map[string]interface{}, sha string, o *Outcome) {
	start := d.now()
	repo, err := outputString(outputs, contract.OutRepositoryURL)
	if err != nil {
		d.phase(o, PhaseTag, start, "failed")
		o.Warnings = append(o.Warnings, fmt.Sprintf("could not tag the image %s as deployed (%s%s) or verified in %s (%s), so the lifecycle policy does not protect it beyond the newest pushes and deploy promote --from %s refuses it: %v",
			sha, contract.DeployedTagPrefix, sha, o.Stack, contract.VerifiedTag(o.Stack, sha), o.Stack, err))
		return
	}
	result := "ok"
	if err := cloud.AddTag(ctx, repo, sha, contract.DeployedTagPrefix+sha); err != nil {
		result = "failed"
		o.Warnings = append(o.Warnings, fmt.Sprintf("could not tag the image %s as deployed (%s%s), so the lifecycle policy does not protect it beyond the newest pushes: %v", sha, contract.DeployedTagPrefix, sha, err))
	}
	verified := contract.VerifiedTag(o.Stack, sha)
	if err := cloud.AddTag(ctx, repo, sha, verified); err != nil {
		result = "failed"
		o.Warnings = append(o.Warnings, fmt.Sprintf("could not tag the image %s as verified in %s (%s), so deploy promote --from %s refuses it until a deploy up --sha %s of the running SHA tags it: %v", sha, o.Stack, verified, o.Stack, sha, err))
	}
	d.phase(o, PhaseTag, start, result)
}

// cloudFor opens ECR and ECS clients in the stack's region.
func (d *Deployer) cloudFor(ctx context.Context, outputs map[string]interface{}) (Cloud, error) {
	region, err := outputString(outputs, contract.OutRegion)
	if err != nil {
		return nil, err
	}
	return d.OpenCloud(ctx, region)
}

// checkImage refuses a SHA whose image is not in the stack's repository,
// or not pullable; the kind says which refusal, or Failed.
func checkImage(ctx context.Context, cloud Cloud, outputs map[string]interface{}, sha string) (Kind, error) {
	repo, err := outputString(outputs, contract.OutRepositoryURL)
	if err != nil {
		return Failed, err
	}
	ok, err := cloud.ImageExists(ctx, repo, sha)
	switch {
	case errors.Is(err, awsx.ErrImageUnavailable):
		return RefusedNoImage, err
	case err != nil:
		return Failed, fmt.Errorf("checking the image %s:%s: %w", repo, sha, err)
	case !ok:
		return RefusedNoImage, fmt.Errorf("image %s:%s is not in ECR (not pushed yet, or expired by the lifecycle policy); push it, or pick a SHA from deploy history", repo, sha)
	}
	return "", nil
}

// snapshotTimeout bounds what an interrupted deploy still asks ECS.
const snapshotTimeout = 5 * time.Second

// verify waits until ECS settles on the stack's task definition or not,
// following the service deployment the update started after since. The
// lifecycle stages ECS reported on the way become phases of o, after the
// rollout's own.
func (d *Deployer) verify(ctx context.Context, o *Outcome, cloud Cloud, outputs map[string]interface{}, since time.Time, timeout time.Duration) (awsx.Verification, error) {
	var stages []Phase
	defer func() { o.stages = stages }()
	var names [3]string
	for i, key := range []string{contract.OutTaskDefinitionArn, contract.OutClusterName, contract.OutServiceName} {
		s, err := outputString(outputs, key)
		if err != nil {
			return awsx.Verification{}, err
		}
		names[i] = s
	}
	want, cluster, service := names[0], names[1], names[2]
	interval := d.VerifyInterval
	if interval == 0 {
		interval = 5 * time.Second
	}
	progress := func(p awsx.Progress) {
		d.progress(p)
		if p.Stage == "" || (len(stages) > 0 && stages[len(stages)-1].Name == PhaseStagePrefix+p.Stage) {
			return
		}
		now := d.now()
		if n := len(stages); n > 0 {
			stages[n-1].End, stages[n-1].Result = now, "ok"
		}
		stages = append(stages, Phase{Name: PhaseStagePrefix + p.Stage, Start: now})
	}
	v, err := cloud.WaitVerified(ctx, awsx.WaitInput{
		Cluster: cluster, Service: service, Want: want, Since: since,
		Timeout: timeout, Interval: interval, Progress: progress,
	})
	if n := len(stages); n > 0 {
		// The stage the wait ended in ended with the rollout.
		stages[n-1].End, stages[n-1].Result = d.now(), stageResult(v, err)
	}
	if errors.Is(err, awsx.ErrTimeout) {
		return v, fmt.Errorf("ECS had not finished the rollout of %s after %s (%s): %w", want, timeout, v.Reason, err)
	}
	if err != nil {
		return v, fmt.Errorf("verifying the rollout of %s: %w", want, err)
	}
	return v, nil
}

// progress reports one change of a rollout as one line.
func (d *Deployer) progress(p awsx.Progress) {
	line := fmt.Sprintf("ECS %s %s", cmp.Or(p.Status, "(no status)"), shortName(p.Deployment))
	if p.Stage != "" {
		line += " stage " + p.Stage
	}
	line += fmt.Sprintf(": %d/%d new tasks running", p.Running, p.Desired)
	if p.Draining > 0 {
		line += fmt.Sprintf(", %d old draining", p.Draining)
	}
	if p.Failed > 0 {
		if p.Threshold > 0 {
			line += fmt.Sprintf(", %d failed of %d the circuit breaker allows", p.Failed, p.Threshold)
		} else {
			line += fmt.Sprintf(", %d failed", p.Failed)
		}
	}
	d.notify("%s (%s)", line, p.Elapsed.Round(time.Second))
}

// shortName is the last element of an ARN or ID.
func shortName(id string) string {
	return id[strings.LastIndex(id, "/")+1:]
}

// runningNow is the image tag of the service's PRIMARY deployment.
func runningNow(ctx context.Context, cloud Cloud, outputs map[string]interface{}) (string, error) {
	cluster, err := outputString(outputs, contract.OutClusterName)
	if err != nil {
		return "", err
	}
	service, err := outputString(outputs, contract.OutServiceName)
	if err != nil {
		return "", err
	}
	st, err := cloud.Service(ctx, cluster, service)
	if err != nil {
		return "", err
	}
	primary, ok := st.Primary()
	if !ok {
		return "", fmt.Errorf("service %s has no PRIMARY deployment", service)
	}
	return runningTag(ctx, cloud, primary.TaskDefinition)
}

// runningTag is the image tag of the service container in taskDefinition.
func runningTag(ctx context.Context, cloud Cloud, taskDefinition string) (string, error) {
	if taskDefinition == "" {
		return "", errors.New("ECS reports no task definition for the PRIMARY deployment")
	}
	images, err := cloud.Images(ctx, taskDefinition)
	if err != nil {
		return "", err
	}
	return imageTag(taskDefinition, images[contract.ContainerName])
}

// imageTag is the tag of an image reference repo:tag.
func imageTag(taskDefinition, image string) (string, error) {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return "", fmt.Errorf("task definition %s has no tagged %s image (got %q)", taskDefinition, contract.ContainerName, image)
	}
	return image[i+1:], nil
}

// diagnose collects what ECS says: the stopped tasks (of taskDef, when
// given) and the latest service events. Best effort: what cannot be read
// is named in Unavailable.
func diagnose(ctx context.Context, cloud Cloud, outputs map[string]interface{}, headline, taskDef string) *Diagnostics {
	const maxTasks = 5
	dg := &Diagnostics{Headline: headline, StoppedTasks: []awsx.StoppedTask{}, Events: []awsx.Event{}}
	cluster, _ := outputs[contract.OutClusterName].(string)
	service, _ := outputs[contract.OutServiceName].(string)
	if tasks, err := cloud.StoppedTasks(ctx, cluster, service, 50); err != nil {
		dg.Unavailable = append(dg.Unavailable, "stopped tasks: "+err.Error())
	} else {
		for _, t := range tasks {
			if (taskDef == "" || t.TaskDefinition == taskDef) && len(dg.StoppedTasks) < maxTasks {
				dg.StoppedTasks = append(dg.StoppedTasks, t)
			}
		}
	}
	if st, err := cloud.Service(ctx, cluster, service); err != nil {
		dg.Unavailable = append(dg.Unavailable, "service events: "+err.Error())
	} else {
		dg.Events = st.Events
	}
	return dg
}

// hasService reports whether the stack's outputs name its service: not
// before its first full deploy, also when an update of the registry alone
// (README bootstrap step 3) gave it other outputs.
func hasService(outputs map[string]interface{}) bool {
	_, ok := outputs[contract.OutServiceName]
	return ok
}

// outputString reads a string stack output.
func outputString(outputs map[string]interface{}, key string) (string, error) {
	s, ok := outputs[key].(string)
	if !ok || s == "" {
		return "", fmt.Errorf("the stack has no %q output: it was never deployed with this program (an administrator runs up --all first)", key)
	}
	return s, nil
}
