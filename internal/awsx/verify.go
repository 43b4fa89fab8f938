package awsx

import (
	"cmp"
	"context"
	"fmt"
	"time"
)

// Rollout states ECS reports on a deployment.
const (
	RolloutCompleted  = "COMPLETED"
	RolloutInProgress = "IN_PROGRESS"
	RolloutFailed     = "FAILED"
)

// Verification is the verdict on whether ECS runs the task definition a deploy asked for.
type Verification struct {
	// OK: the PRIMARY deployment runs Want and its rollout COMPLETED with at least one task desired.
	OK bool
	// RolledBack: the PRIMARY deployment runs another task definition (the circuit breaker rolled
	// back, or someone else deployed), or the rollout of Want FAILED.
	RolledBack bool
	// InProgress: the PRIMARY deployment runs Want and is still rolling out.
	InProgress bool
	Want       string
	Primary    Deployment // zero when the service has no PRIMARY deployment
	Reason     string     // one line, naming the task definitions involved
}

// Verify judges s against want, the task definition ARN from the stack outputs. It is pure. want
// must be the full ARN with its revision, as ECS reports it: anything else reads as a rollback.
//
// A later deployment is PRIMARY, so when the PRIMARY runs want its rollout state decides; an older
// FAILED deployment of the same task definition (a retry after a rollback) does not count.
func Verify(s ServiceState, want string) Verification {
	v := Verification{Want: want}
	primary, ok := s.Primary()
	switch {
	case want == "":
		v.Reason = "no task definition ARN to verify against"
		return v
	case !ok:
		v.Reason = fmt.Sprintf("service %s has no PRIMARY deployment; want %s", s.Service, want)
		return v
	}
	v.Primary = primary

	if primary.TaskDefinition != want {
		v.RolledBack = true
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s, not %s", primary.ID, primary.TaskDefinition, want)
		if d, found := deploymentOf(s, want); found {
			v.Reason += fmt.Sprintf("; its deployment %s is %s", d.ID, cmp.Or(d.RolloutState, d.Status))
			if d.RolloutStateReason != "" {
				v.Reason += ": " + d.RolloutStateReason
			}
		} else {
			v.Reason += " (ECS rolled back, or another deploy replaced it)"
		}
		return v
	}

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
		v.RolledBack = true
		v.Reason = fmt.Sprintf("PRIMARY deployment %s runs %s but its rollout FAILED", primary.ID, want)
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

// WaitVerified describes the service every interval while Verify says the rollout is InProgress.
// It returns the last verdict and state: with a nil error once the rollout settled (check OK), with an
// error wrapping ErrTimeout when timeout passed first, with ctx's error when ctx ended, or with the
// first error describing the service.
// A non-positive interval polls every 10 seconds.
func (c *Client) WaitVerified(ctx context.Context, cluster, service, want string, timeout, interval time.Duration) (Verification, ServiceState, error) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	v := Verification{Want: want, Reason: "ECS service not described yet"}
	var st ServiceState
	timedOut := func() error {
		return fmt.Errorf("%w of %s in cluster %s after %s: %s", ErrTimeout, service, clusterLabel(cluster), timeout, v.Reason)
	}
	for {
		s, err := c.Service(wctx, cluster, service)
		if err != nil {
			// The deadline may expire mid-request; report it as the timeout it is.
			if ctx.Err() == nil && wctx.Err() != nil {
				return v, st, timedOut()
			}
			return v, st, err
		}
		st, v = s, Verify(s, want)
		if !v.InProgress {
			return v, st, nil
		}
		t := time.NewTimer(interval)
		select {
		case <-t.C:
		case <-wctx.Done():
			t.Stop()
			if err := ctx.Err(); err != nil {
				return v, st, fmt.Errorf("waiting for ECS service %s: %w", service, err)
			}
			return v, st, timedOut()
		}
	}
}
