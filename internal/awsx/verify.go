package awsx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Rollout states ECS reports on a deployment.
const (
	RolloutCompleted  = "COMPLETED"
	RolloutInProgress = "IN_PROGRESS"
	RolloutFailed     = "FAILED"
)

// Sources of a verdict: what ECS was asked.
const (
	// SourceServiceDeployment: the service deployment the update started, read with
	// ListServiceDeployments, DescribeServiceDeployments and DescribeServiceRevisions.
	SourceServiceDeployment = "service deployment"
	// SourceDeployments: the service's deployments list (DescribeServices), used where the
	// service-deployment operations are unavailable or the update started no service deployment.
	SourceDeployments = "deployments list"
)

// Verification is the verdict on whether ECS runs the task definition a deploy asked for. At most
// one of OK, RolledBack, RollbackFailed, Stopped and InProgress is set; none means ECS settled in
// a way that proves nothing (no task desired, no PRIMARY deployment, an unknown state): see Reason.
// Both sources give the same verdict for a rollout that succeeds, is rolled back, fails its
// rollback or stops at the circuit breaker; they differ when another deploy replaces Want's before
// it finishes (Stopped from the service deployment, RolledBack from the deployments list).
type Verification struct {
	// OK: the deployment of Want succeeded (SUCCESSFUL; or the PRIMARY deployment runs Want and its
	// rollout COMPLETED) with at least one task desired.
	OK bool
	// RolledBack: ECS rolled back, or another deploy replaced Want, and the service settled on
	// RolledBackTo (ROLLBACK_SUCCESSFUL; or a COMPLETED PRIMARY deployment of another task definition).
	RolledBack bool
	// RollbackFailed: ECS tried to roll back and could not (ROLLBACK_FAILED; or the PRIMARY
	// deployment of another task definition FAILED).
	RollbackFailed bool
	// Stopped: the deployment of Want ended without a rollback, e.g. the circuit breaker tripped with
	// rollback off (STOPPED; or the PRIMARY deployment runs Want and its rollout FAILED).
	Stopped bool
	// InProgress: the rollout of Want, or ECS's rollback away from it, is still under way.
	InProgress bool

	Want   string
	Source string // SourceServiceDeployment or SourceDeployments
	// Status is the service deployment's status (SUCCESSFUL, ROLLBACK_IN_PROGRESS...), or in the
	// deployments list the rollout state of the PRIMARY deployment.
	Status string
	Stage  string // the service deployment's lifecycle stage, when ECS reports one
	// DeploymentArn is the service deployment judged, or in the deployments list the ID
	// (ecs-svc/...) of Want's deployment.
	DeploymentArn  string
	RolledBackTo   string // the task definition ECS went back to, when RolledBack
	StatusReason   string // ECS's statusReason of the service deployment
	RollbackReason string // ECS's rollback.reason
	// FailedTasks and Threshold are the circuit breaker's count of failed tasks and its threshold;
	// the deployments list reports no threshold (0).
	FailedTasks, Threshold int32
	Alarms                 []string   // CloudWatch alarms ECS found in ALARM
	Primary                Deployment // the PRIMARY deployment; deployments list only
	Reason                 string     // one line, naming the task definitions involved
}

// Verify judges s, as the deployments list shows it, against want, the task definition ARN from
// the stack outputs. It is pure. want must be the full ARN with its revision, as ECS reports it:
// anything else reads as a rollback.
//
// A later deployment is PRIMARY, so when the PRIMARY runs want its rollout state decides; an older
// FAILED deployment of the same task definition (a retry after a rollback) does not count. When the
// PRIMARY runs another task definition, ECS rolled back (or someone else deployed): the rollout
// state of that PRIMARY tells a rollback under way, done or failed.
func Verify(s ServiceState, want string) Verification {
	v := Verification{Want: want, Source: SourceDeployments}
	primary, ok := s.Primary()
	switch {
	case want == "":
		v.Reason = "no task definition ARN to verify against"
		return v
	case !ok:
		v.Reason = fmt.Sprintf("service %s has no PRIMARY deployment; want %s", s.Service, want)
		return v
	}
	v.Primary, v.Status = primary, primary.RolloutState

	if primary.TaskDefinition != want {
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s, not %s", primary.ID, primary.TaskDefinition, want)
		if d, found := deploymentOf(s, want); found {
			v.DeploymentArn, v.FailedTasks = d.ID, d.Failed
			v.Reason += fmt.Sprintf("; its deployment %s is %s", d.ID, cmp.Or(d.RolloutState, d.Status))
			if d.RolloutStateReason != "" {
				v.Reason += ": " + d.RolloutStateReason
			}
		} else {
			v.Reason += " (ECS rolled back, or another deploy replaced it)"
		}
		switch primary.RolloutState {
		case RolloutInProgress:
			v.InProgress = true
			v.Reason += fmt.Sprintf("; %s is still IN_PROGRESS (%d/%d tasks running)", primary.TaskDefinition, primary.Running, primary.Desired)
		case RolloutFailed:
			v.RollbackFailed = true
			v.Reason += fmt.Sprintf("; the rollout of %s FAILED too", primary.TaskDefinition)
			if primary.RolloutStateReason != "" {
				v.Reason += ": " + primary.RolloutStateReason
			}
		default:
			v.RolledBack, v.RolledBackTo = true, primary.TaskDefinition
		}
		return v
	}

	v.DeploymentArn, v.FailedTasks = primary.ID, primary.Failed
	switch {
	case primary.RolloutState == RolloutCompleted && primary.Desired == 0:
		// Completed with nothing to run (scaled to zero by hand): no task
		// ever ran the image, so the deploy proves nothing about it.
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s and its rollout COMPLETED, but with 0 desired tasks: no task ran it (scale the service up, then check with deploy status)",
			primary.ID, want)
	case primary.RolloutState == RolloutCompleted:
		v.OK = true
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s and its rollout COMPLETED (%d/%d tasks running)",
			primary.ID, want, primary.Running, primary.Desired)
	case primary.RolloutState == RolloutInProgress:
		v.InProgress = true
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s and is still IN_PROGRESS (%d/%d tasks running, %d failed)",
			primary.ID, want, primary.Running, primary.Desired, primary.Failed)
	case primary.RolloutState == RolloutFailed:
		v.Stopped = true
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s but its rollout FAILED and ECS did not roll back", primary.ID, want)
		if primary.RolloutStateReason != "" {
			v.Reason += ": " + primary.RolloutStateReason
		}
	default:
		// Services using the CODE_DEPLOY or EXTERNAL deployment controller report no rollout state.
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s but its rollout state is %q, not COMPLETED",
			primary.ID, want, primary.RolloutState)
	}
	return v
}

// deploymentOf returns the newest non-PRIMARY deployment that runs taskDef.
func deploymentOf(s ServiceState, taskDef string) (Deployment, bool) {
	var best Deployment
	found := false
	for _, d := range s.Deployments {
		if d.Status != "PRIMARY" && d.TaskDefinition == taskDef && (!found || d.CreatedAt.After(best.CreatedAt)) {
			best, found = d, true
		}
	}
	return best, found
}

// Progress is how a rollout stands, reported to WaitInput.Progress when it changes.
type Progress struct {
	Source     string // the source of the figures (SourceServiceDeployment, SourceDeployments)
	Deployment string // the service deployment followed, or the ID of Want's deployment
	Status     string // the service deployment's status, or Want's deployment's rollout state
	Stage      string // the lifecycle stage, when ECS reports one
	// Running of Desired tasks run the new task definition; Draining tasks of the old ones still run.
	Running, Desired, Draining int32
	// Failed tasks, counted by the circuit breaker against Threshold (0 when not reported).
	Failed, Threshold int32
	// Elapsed is the time since the wait began. It rides along with the other fields and does
	// not by itself make a change.
	Elapsed time.Duration
}

// changed reports whether p differs from q in anything but Elapsed.
func (p Progress) changed(q Progress) bool {
	p.Elapsed, q.Elapsed = 0, 0
	return p != q
}

// WaitInput says what WaitVerified waits for.
type WaitInput struct {
	Cluster, Service string
	// Want is the task definition ARN the update deployed (from the stack outputs).
	Want string
	// Since is when the update began, read before it started: service deployments created before
	// it (less a clock-skew allowance) are not the update's.
	Since time.Time
	// Timeout bounds the whole wait; Interval is the pause between polls (10 s when not positive).
	Timeout, Interval time.Duration
	// Progress, when set, is called once with the first figures and then once per change of the
	// followed deployment, its status or stage, or its task counts (not once per poll).
	Progress func(Progress)
}

// clockSkew is how much earlier than WaitInput.Since (read on this machine's clock) ECS may date
// (on its own clock) the service deployment the update started. AWS refuses requests signed more
// than 5 minutes off its clock; hosts that sync their clock are within a second. An older
// deployment let in by the allowance must still run Want and be the newest that does.
const clockSkew = time.Minute

// startGrace is how many polls may find no service deployment of Want before the deployments list
// decides instead: the update started none (it did not change the task definition), or ECS has
// not listed it yet.
const startGrace = 3

// WaitVerified polls ECS every interval while the verdict is InProgress and returns the last
// verdict: with a nil error once the rollout settled (check OK and the other verdicts), with an
// error wrapping ErrTimeout when the timeout passed first, with ctx's error when ctx ended, or with
// the first error that is neither transient nor a sign that service deployments are unavailable.
// Transient errors (throttling, 5xx, timed-out requests) left after the SDK's retries only cost a
// poll: the next poll asks again, so a burst of them does not change the verdict.
//
// The verdict comes from the service deployment the update started (see matchDeployment), and
// from the deployments list (Verify) when the service-deployment operations answer an error code
// saying they are unavailable (AccessDenied, an unknown operation), or when no service deployment
// of Want shows up within startGrace polls. Verification.Source says which decided.
//
// A service deployment stopped with StopRollout is followed the same way, to ROLLBACK_SUCCESSFUL
// (RolledBack) or ROLLBACK_FAILED.
func (c *Client) WaitVerified(ctx context.Context, in WaitInput) (Verification, error) {
	v := Verification{Want: in.Want, Reason: "ECS not asked yet"}
	switch {
	case in.Want == "":
		v.Reason = "no task definition ARN to verify against"
		return v, nil
	case in.Since.IsZero():
		return v, errors.New("verifying an ECS rollout needs the time its update began")
	}
	interval := in.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()

	w := &waiter{c: c, in: in, revs: revisions{}}
	var last Progress
	reported := false
	var transient error
	end := func() error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("waiting for ECS service %s: %w", in.Service, err)
		}
		err := fmt.Errorf("%w of %s in cluster %s after %s: %s", ErrTimeout, in.Service, clusterLabel(in.Cluster), in.Timeout, v.Reason)
		if transient != nil {
			err = fmt.Errorf("%w (last poll: %v)", err, transient)
		}
		return err
	}
	for {
		nv, p, err := w.poll(wctx)
		switch {
		case err == nil:
			v, transient = nv, nil
			p.Elapsed = time.Since(start)
			if in.Progress != nil && (!reported || p.changed(last)) {
				in.Progress(p)
				last, reported = p, true
			}
			if !v.InProgress {
				return v, nil
			}
		case wctx.Err() != nil:
			// The deadline may expire mid-request; report it as the timeout it is.
			return v, end()
		case transientError(err):
			transient = err
		default:
			return v, err
		}
		t := time.NewTimer(interval)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
			return v, end()
		}
	}
}

// transientError reports whether a poll's error may pass on the next poll: what the SDK's standard
// retryer retries (throttling, 5xx, connection errors and timed-out attempts), or a call deadline.
func transientError(err error) bool {
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err).Bool() ||
		errors.Is(err, context.DeadlineExceeded)
}

// waiter is one WaitVerified's state between polls.
type waiter struct {
	c      *Client
	in     WaitInput
	revs   revisions
	misses int    // polls that found no service deployment of Want
	why    string // why the deployments list decides; "" while the service deployment does
}

// poll asks ECS once for a verdict.
func (w *waiter) poll(ctx context.Context) (Verification, Progress, error) {
	if w.why == "" {
		v, p, found, err := w.pollDeployment(ctx)
		switch {
		case err != nil && deploymentsUnavailable(err):
			var ae smithy.APIError
			errors.As(err, &ae)
			w.why = "service deployments unavailable: " + ae.ErrorCode()
		case err != nil:
			return v, p, err
		case found:
			return v, p, nil
		case w.misses < startGrace:
			return v, p, nil
		default:
			w.why = fmt.Sprintf("no service deployment of %s created since %s", w.in.Want, w.in.Since.UTC().Format(time.RFC3339))
		}
	}
	st, err := w.c.Service(ctx, w.in.Cluster, w.in.Service)
	if err != nil {
		return Verification{}, Progress{}, err
	}
	v := Verify(st, w.in.Want)
	v.Reason += " (from the deployments list: " + w.why + ")"
	return v, listProgress(st, v), nil
}

// pollDeployment judges the service deployment of Want, found reports whether there is one.
func (w *waiter) pollDeployment(ctx context.Context) (v Verification, p Progress, found bool, err error) {
	arn, err := w.c.matchDeployment(ctx, w.revs, w.in)
	if err != nil {
		return Verification{}, Progress{}, false, err
	}
	if arn == "" {
		w.misses++
		v = Verification{Want: w.in.Want, Source: SourceServiceDeployment, InProgress: true,
			Reason: fmt.Sprintf("no service deployment of %s listed yet for service %s", w.in.Want, w.in.Service)}
		return v, Progress{Source: SourceServiceDeployment}, false, nil
	}
	for {
		sd, err := w.c.describeDeployment(ctx, w.revs, arn)
		if err != nil {
			return Verification{}, Progress{}, false, err
		}
		if final(sd.Status) {
			// Race 2: a newer deployment of Want may have superseded (STOPPED) this one between
			// the listing and now; then that one decides.
			newer, err := w.c.matchDeployment(ctx, w.revs, w.in)
			if err != nil {
				return Verification{}, Progress{}, false, err
			}
			if newer != "" && newer != arn {
				arn = newer
				continue
			}
		}
		p = Progress{
			Source: SourceServiceDeployment, Deployment: sd.Arn, Status: sd.Status, Stage: sd.Stage,
			Running: sd.Running, Desired: sd.Desired, Draining: sd.Draining, Failed: sd.FailedTasks, Threshold: sd.Threshold,
		}
		return judge(sd, w.in.Want), p, true, nil
	}
}

// matchDeployment returns the ARN of the service deployment that in's update started, or "" when
// ECS lists none yet: the newest of the service's deployments created after in.Since (less
// clockSkew), whatever their status, whose target revision runs in.Want (DescribeServiceRevisions).
//
// ecspresso (kayac/ecspresso, which waits on service deployments since 2.6) had to fix three ways
// of following the wrong one; each is avoided here:
//
//  1. A stale deployment (#945, and #873 before it): Service.currentServiceDeployment can still
//     name the previous deployment right after the update, so the wait followed one that had
//     finished and returned at once. Here the service's currentServiceDeployment is never read;
//     the listing is filtered by createdAt after the update began, and the target revision must
//     run Want. An older deployment of Want let in by clockSkew loses to any newer one; when the
//     update started none, no deployment matches and the deployments list decides.
//  2. Two deployments of the same task definition (#899, fixed by #903): ECS may start a second
//     one right after the first and STOP the first, so the one found first ends STOPPED while
//     the rollout succeeds. Here the newest match is taken on every poll, and a match found in a
//     final state is only judged after listing again shows nothing newer (pollDeployment).
//  3. Status filters that lose the deployment (#961): listing only IN_PROGRESS deployments misses
//     one already in ROLLBACK_REQUESTED or ROLLBACK_IN_PROGRESS (after StopServiceDeployment or
//     the circuit breaker), or one that finished between polls, and falls back to an older or no
//     deployment. Here the listing has no status filter, so the same deployment is followed
//     through its rollback to its final status.
func (c *Client) matchDeployment(ctx context.Context, revs revisions, in WaitInput) (string, error) {
	briefs, err := c.listDeployments(ctx, in.Cluster, in.Service, in.Since.Add(-clockSkew))
	if err != nil {
		return "", err
	}
	var targets []string
	for _, b := range briefs {
		targets = append(targets, aws.ToString(b.TargetServiceRevisionArn))
	}
	if err := c.resolve(ctx, revs, targets...); err != nil {
		return "", err
	}
	for i, b := range briefs {
		if revs[targets[i]] == in.Want {
			return aws.ToString(b.ServiceDeploymentArn), nil
		}
	}
	return "", nil
}

// listProgress is the progress the deployments list shows for v.
func listProgress(st ServiceState, v Verification) Progress {
	p := Progress{Source: SourceDeployments, Deployment: v.DeploymentArn, Status: v.Status, Failed: v.FailedTasks}
	for _, d := range st.Deployments {
		if d.TaskDefinition == v.Want && (d.ID == v.DeploymentArn || d.Status == "PRIMARY") {
			p.Running, p.Desired, p.Status = d.Running, d.Desired, cmp.Or(d.RolloutState, p.Status)
			continue
		}
		p.Draining += d.Running
	}
	return p
}
