package awsx

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
)

// sources are the ways a verdict is reached: the service deployment, or the deployments list when
// one of the service-deployment operations is denied.
var sources = []struct {
	name, deny, want string
}{
	{name: "service deployment", want: SourceServiceDeployment},
	{name: "ListServiceDeployments denied", deny: "ListServiceDeployments", want: SourceDeployments},
	{name: "DescribeServiceDeployments denied", deny: "DescribeServiceDeployments", want: SourceDeployments},
}

func waitFor(since time.Time) WaitInput {
	return WaitInput{Cluster: "prod", Service: "api-service", Want: tdNew, Since: since, Timeout: time.Minute, Interval: time.Millisecond}
}

// seen is what one source reports of a settled rollout.
type seen struct {
	status                 string
	failed, threshold      int32
	statusReason, rollback string // substrings of StatusReason and RollbackReason
	alarms                 []string
}

// watched are deployment alarms that watch api-5xx, with rollback as given.
func watched(rollback bool) *ecstypes.DeploymentAlarms {
	return &ecstypes.DeploymentAlarms{AlarmNames: []string{"api-5xx", "api-p99"}, Enable: true, Rollback: rollback}
}

func TestWaitVerifiedVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name         string
		rollout      awsfake.Rollout // of imageNew
		noRollback   bool            // the circuit breaker's rollback is off
		oldFails     bool            // imageOld fails from now on, so a rollback to it fails
		alarms       *ecstypes.DeploymentAlarms
		verdict      string
		rolledBackTo string
		sd, list     seen
	}{
		{name: "completes", rollout: awsfake.Rollout{Steps: 3}, verdict: "ok",
			sd: seen{status: StatusSuccessful, threshold: 3}, list: seen{status: RolloutCompleted}},
		{name: "circuit breaker rolls back", rollout: awsfake.Rollout{Outcome: awsfake.CircuitBreaks}, verdict: "rolledBack", rolledBackTo: tdOld,
			sd:   seen{status: StatusRollbackSuccessful, failed: 3, threshold: 3, statusReason: awsfake.CircuitBreakerReason, rollback: "Circuit Breaker was triggered"},
			list: seen{status: RolloutCompleted}},
		{name: "rollback fails", rollout: awsfake.Rollout{Outcome: awsfake.CircuitBreaks}, oldFails: true, verdict: "rollbackFailed",
			sd:   seen{status: StatusRollbackFailed, failed: 3, threshold: 3, statusReason: awsfake.RollbackFailedReason, rollback: "Circuit Breaker was triggered"},
			list: seen{status: RolloutFailed, failed: 3}},
		{name: "circuit breaker without rollback", rollout: awsfake.Rollout{Outcome: awsfake.CircuitBreaks}, noRollback: true, verdict: "stopped",
			sd:   seen{status: StatusStopped, failed: 3, threshold: 3, statusReason: awsfake.CircuitBreakerReason},
			list: seen{status: RolloutFailed, failed: 3}},
		// The deployments list carries no alarms: only the service deployment names them.
		{name: "an alarm rolls back", rollout: awsfake.Rollout{Steps: 2, Alarm: "api-5xx"}, alarms: watched(true), verdict: "rolledBack", rolledBackTo: tdOld,
			sd:   seen{status: StatusRollbackSuccessful, threshold: 3, statusReason: "alarm api-5xx", rollback: "Alarm api-5xx triggered", alarms: []string{"api-5xx"}},
			list: seen{status: RolloutCompleted}},
		{name: "an alarm without rollback stops it", rollout: awsfake.Rollout{Steps: 2, Alarm: "api-5xx"}, alarms: watched(false), verdict: "stopped",
			sd:   seen{status: StatusStopped, threshold: 3, statusReason: "alarm api-5xx", alarms: []string{"api-5xx"}},
			list: seen{status: RolloutFailed}},
		{name: "an alarm ECS does not watch", rollout: awsfake.Rollout{Steps: 2, Alarm: "api-errors"}, alarms: watched(true), verdict: "ok",
			sd: seen{status: StatusSuccessful, threshold: 3}, list: seen{status: RolloutCompleted}},
	} {
		for _, src := range sources {
			t.Run(tc.name+"/"+src.name, func(t *testing.T) {
				c, fake := newFakeClient(t)
				since := deployingWithConfig(t, c, fake, tc.rollout, ecstypes.DeploymentConfiguration{
					DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: !tc.noRollback}, Alarms: tc.alarms,
				}, 2)
				if tc.oldFails {
					fake.SetRollout(imageOld, awsfake.Rollout{Outcome: awsfake.CircuitBreaks})
				}
				if src.deny != "" {
					fake.DenyOperation(src.deny)
				}
				v, err := c.WaitVerified(t.Context(), waitFor(since))
				if err != nil {
					t.Fatalf("WaitVerified: %v", err)
				}
				want := tc.sd
				if src.want == SourceDeployments {
					want = tc.list
				}
				if got := verdictOf(v); got != tc.verdict {
					t.Errorf("verdict = %q, want %q (reason %q)", got, tc.verdict, v.Reason)
				}
				if v.Status != want.status || v.FailedTasks != want.failed || v.Threshold != want.threshold {
					t.Errorf("status, failed, threshold = %s, %d, %d; want %s, %d, %d", v.Status, v.FailedTasks, v.Threshold, want.status, want.failed, want.threshold)
				}
				if !strings.Contains(v.StatusReason, want.statusReason) || !strings.Contains(v.RollbackReason, want.rollback) {
					t.Errorf("StatusReason, RollbackReason = %q, %q; want them to contain %q, %q", v.StatusReason, v.RollbackReason, want.statusReason, want.rollback)
				}
				// Once a rollback settles, the deployments list no longer shows Want's deployment.
				if v.Source != src.want || v.RolledBackTo != tc.rolledBackTo || v.Want != tdNew || (v.DeploymentArn == "") != (src.want == SourceDeployments && v.RolledBack) {
					t.Errorf("Source, RolledBackTo, Want, DeploymentArn = %q, %q, %q, %q; want %q, %q, %q and an ARN or ID unless gone",
						v.Source, v.RolledBackTo, v.Want, v.DeploymentArn, src.want, tc.rolledBackTo, tdNew)
				}
				if !slices.Equal(v.Alarms, want.alarms) || (len(want.alarms) > 0 && !strings.Contains(v.Reason, "alarms in ALARM: "+strings.Join(want.alarms, ", "))) {
					t.Errorf("Alarms = %q (reason %q), want %q named", v.Alarms, v.Reason, want.alarms)
				}
				if v.Reason == "" || strings.Contains(v.Reason, "\n") {
					t.Errorf("Reason = %q, want one non-empty line", v.Reason)
				}
				if src.deny != "" && !strings.Contains(v.Reason, "AccessDeniedException") {
					t.Errorf("Reason = %q, want it to say why the deployments list decided", v.Reason)
				}
			})
		}
	}
}

// TestWaitVerifiedMatchesTheUpdatesDeployment: the deployment judged is the newest one of Want
// created since the update began; when the update started none, the deployments list decides.
func TestWaitVerifiedMatchesTheUpdatesDeployment(t *testing.T) {
	tdThird := awsfake.TaskDefinitionARN("api-service", 3)
	for _, tc := range []struct {
		name    string
		arrange func(t *testing.T, c *Client, fake *awsfake.Server) time.Time // returns Since
		verdict string
		source  string
		reason  string
	}{
		{
			// An earlier deployment of Want SUCCEEDED, then the service went back to tdOld: with
			// no new deployment, that old success must not verify this update.
			name: "an old success of Want before the update",
			arrange: func(t *testing.T, c *Client, fake *awsfake.Server) time.Time {
				deploying(t, c, fake, awsfake.Rollout{})
				fake.Advance(3 * awsfake.Tick)
				update(t, c, tdOld, false)
				fake.Advance(10 * awsfake.Tick)
				return fake.Now()
			},
			verdict: "rolledBack", source: SourceDeployments, reason: "no service deployment of " + tdNew,
		},
		{
			name: "the update started no deployment (Want already runs)",
			arrange: func(t *testing.T, c *Client, fake *awsfake.Server) time.Time {
				deploying(t, c, fake, awsfake.Rollout{})
				fake.Advance(10 * awsfake.Tick)
				return fake.Now()
			},
			verdict: "ok", source: SourceDeployments, reason: "no service deployment of " + tdNew,
		},
		{
			// ECS lists the update's deployment only from the third listing on: within the polls
			// a new deployment gets to show up, so it decides.
			name: "the deployment listed two polls late",
			arrange: func(t *testing.T, c *Client, fake *awsfake.Server) time.Time {
				fake.SetListingLag(2)
				return deploying(t, c, fake, awsfake.Rollout{Steps: 2})
			},
			verdict: "ok", source: SourceServiceDeployment, reason: "SUCCESSFUL",
		},
		{
			// Listed later than that: the deployments list decides, and says why.
			name: "the deployment not listed within the grace",
			arrange: func(t *testing.T, c *Client, fake *awsfake.Server) time.Time {
				fake.SetListingLag(startGrace + 1)
				return deploying(t, c, fake, awsfake.Rollout{Steps: 2})
			},
			verdict: "ok", source: SourceDeployments, reason: "no service deployment of " + tdNew,
		},
		{
			// A later deployment of another task definition replaced the update's before it
			// finished: the newest deployment is not the one to judge.
			name: "another deploy replaced it",
			arrange: func(t *testing.T, c *Client, fake *awsfake.Server) time.Time {
				since := deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.Stalls})
				register(t, c, imageOld)
				update(t, c, tdThird, false)
				fake.Advance(3 * awsfake.Tick)
				return since
			},
			verdict: "stopped", source: SourceServiceDeployment, reason: tdNew,
		},
		{
			// The update was forced again with the same task definition: ECS stops the first
			// deployment when the second one completes, and the second decides.
			name: "two deployments of Want",
			arrange: func(t *testing.T, c *Client, fake *awsfake.Server) time.Time {
				since := deploying(t, c, fake, awsfake.Rollout{Steps: 2})
				fake.Advance(awsfake.Tick)
				update(t, c, tdNew, true)
				fake.Advance(3 * awsfake.Tick)
				return since
			},
			verdict: "ok", source: SourceServiceDeployment, reason: "SUCCESSFUL",
		},
		{
			// The same, but the second deployment starts and completes (STOPPING the first) while
			// the first is being described, after the listing showed only the first.
			name: "two deployments of Want, the second during a poll",
			arrange: func(t *testing.T, c *Client, fake *awsfake.Server) time.Time {
				since := deploying(t, c, fake, awsfake.Rollout{Steps: 2})
				fake.SetDelay("DescribeServiceDeployments", 2*time.Second)
				ctx := t.Context()
				go func() {
					for ctx.Err() == nil && countCalls(fake.Calls(), "DescribeServiceDeployments") == 0 {
						time.Sleep(time.Millisecond)
					}
					fake.SetDelay("DescribeServiceDeployments", 0)
					fake.Advance(awsfake.Tick)
					if _, err := c.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
						Cluster: aws.String("prod"), Service: aws.String("api-service"), TaskDefinition: aws.String(tdNew), ForceNewDeployment: true,
					}); err != nil {
						t.Errorf("UpdateService: %v", err)
					}
					fake.Advance(3 * awsfake.Tick)
				}()
				return since
			},
			verdict: "ok", source: SourceServiceDeployment, reason: "SUCCESSFUL",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			since := tc.arrange(t, c, fake)
			v, err := c.WaitVerified(t.Context(), waitFor(since))
			if err != nil {
				t.Fatalf("WaitVerified: %v", err)
			}
			if got := verdictOf(v); got != tc.verdict || v.Source != tc.source || !strings.Contains(v.Reason, tc.reason) {
				t.Errorf("verdict, source = %q, %q (reason %q); want %q, %q, a reason mentioning %q", got, v.Source, v.Reason, tc.verdict, tc.source, tc.reason)
			}
		})
	}
}

func register(t *testing.T, c *Client, image string) {
	t.Helper()
	if _, err := c.ecs.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("api-service"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api-service"), Image: aws.String(image)}},
	}); err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
}

// TestWaitVerifiedProgress: the callback fires once per change, not once per poll.
func TestWaitVerifiedProgress(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rollout  awsfake.Rollout
		deny     string
		poll     string // the operation each poll makes once
		polls    int
		statuses []string // of the progress reports, in order
		running  []int32
		draining []int32
		failed   []int32
	}{
		// Pending, then running beside the old tasks for four polls, then alone.
		{name: "completes after 5 steps", rollout: awsfake.Rollout{Steps: 5}, poll: "DescribeServiceDeployments", polls: 6,
			statuses: []string{"IN_PROGRESS", "IN_PROGRESS", "SUCCESSFUL"}, running: []int32{0, 2, 2}, draining: []int32{2, 2, 0}, failed: []int32{0, 0, 0}},
		{name: "completes after 5 steps, deployments list", rollout: awsfake.Rollout{Steps: 5}, deny: "ListServiceDeployments", poll: "DescribeServices", polls: 6,
			statuses: []string{"IN_PROGRESS", "IN_PROGRESS", "COMPLETED"}, running: []int32{0, 2, 2}, draining: []int32{2, 2, 0}, failed: []int32{0, 0, 0}},
		// The rollback is under way (ROLLBACK_IN_PROGRESS) before it settles; the old tasks never
		// stopped, since no new task became healthy.
		{name: "circuit breaker rolls back", rollout: awsfake.Rollout{Outcome: awsfake.CircuitBreaks}, poll: "DescribeServiceDeployments", polls: 4,
			statuses: []string{"IN_PROGRESS", "IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"},
			running:  []int32{0, 0, 0, 0}, draining: []int32{2, 2, 2, 2}, failed: []int32{0, 2, 3, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			since := deploying(t, c, fake, tc.rollout)
			if tc.deny != "" {
				fake.DenyOperation(tc.deny)
			}
			var got []Progress
			in := waitFor(since)
			in.Progress = func(p Progress) { got = append(got, p) }
			if _, err := c.WaitVerified(t.Context(), in); err != nil {
				t.Fatalf("WaitVerified: %v", err)
			}
			if n := countCalls(fake.Calls(), tc.poll); n != tc.polls {
				t.Errorf("%s called %d times, want %d", tc.poll, n, tc.polls)
			}
			var statuses []string
			var running, draining, failed []int32
			for _, p := range got {
				statuses, running, draining, failed = append(statuses, p.Status), append(running, p.Running), append(draining, p.Draining), append(failed, p.Failed)
			}
			if !slices.Equal(statuses, tc.statuses) || !slices.Equal(running, tc.running) || !slices.Equal(draining, tc.draining) || !slices.Equal(failed, tc.failed) {
				t.Errorf("%d reports: statuses %v, running %v, draining %v, failed %v; want %v, %v, %v, %v",
					len(got), statuses, running, draining, failed, tc.statuses, tc.running, tc.draining, tc.failed)
			}
		})
	}
}

// TestWaitVerifiedThrottled: a throttling burst mid-verification changes neither the verdict nor
// its source, whether the SDK retries it or the next poll does (AWS_MAX_ATTEMPTS=1).
func TestWaitVerifiedThrottled(t *testing.T) {
	for _, tc := range []struct {
		name, op, deny, attempts, source string
	}{
		{name: "service deployment, SDK retries", op: "DescribeServiceDeployments", source: SourceServiceDeployment},
		{name: "service deployment, one attempt per call", op: "ListServiceDeployments", attempts: "1", source: SourceServiceDeployment},
		{name: "deployments list, SDK retries", op: "DescribeServices", deny: "ListServiceDeployments", source: SourceDeployments},
		{name: "deployments list, one attempt per call", op: "DescribeServices", deny: "ListServiceDeployments", attempts: "1", source: SourceDeployments},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			if tc.attempts != "" {
				t.Setenv("AWS_MAX_ATTEMPTS", tc.attempts)
				c = newClient(t, fast)
			}
			since := deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.CircuitBreaks})
			if tc.deny != "" {
				fake.DenyOperation(tc.deny)
			}
			in := waitFor(since)
			throttled := false
			in.Progress = func(Progress) {
				if !throttled {
					fake.Throttle(tc.op, 3)
					throttled = true
				}
			}
			v, err := c.WaitVerified(t.Context(), in)
			if err != nil {
				t.Fatalf("WaitVerified: %v", err)
			}
			if !v.RolledBack || v.RolledBackTo != tdOld || v.Source != tc.source {
				t.Errorf("verdict = %q to %q from %q (reason %q); want rolledBack to %s from %q", verdictOf(v), v.RolledBackTo, v.Source, v.Reason, tdOld, tc.source)
			}
		})
	}
}

func TestWaitVerifiedTimesOut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		hang      string        // an operation that never answers
		timeouts  Timeouts      // of the client
		timeout   time.Duration // of the wait
		mentions  []string
		inProcess bool // the last verdict is the IN_PROGRESS rollout
		lastPoll  bool // the error names the last poll's failure: not the deadline's own cut
	}{
		// The timeout leaves room for many polls: the first one must have answered, however slow
		// the machine, for the verdict to be checked.
		{name: "between polls", timeouts: fast, timeout: 2 * time.Second, mentions: []string{"IN_PROGRESS", tdNew}, inProcess: true},
		// The deadline expires while a request waits for its answer.
		{name: "mid-request", hang: "ListServiceDeployments", timeouts: fast, timeout: 100 * time.Millisecond},
		// Every attempt times out; the wait keeps polling until its own deadline.
		{name: "hung endpoint", hang: "DescribeServiceDeployments", timeouts: Timeouts{Attempt: 20 * time.Millisecond, Call: 100 * time.Millisecond, MaxBackoff: time.Millisecond},
			timeout: 500 * time.Millisecond, mentions: []string{"DescribeServiceDeployments"}, lastPoll: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fake := newFakeClient(t)
			c := newClient(t, tc.timeouts)
			since := deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.Stalls})
			if tc.hang != "" {
				fake.SetDelay(tc.hang, time.Hour)
			}
			in := waitFor(since)
			in.Timeout, in.Interval = tc.timeout, 50*time.Millisecond
			done := make(chan struct{})
			var v Verification
			var err error
			go func() {
				defer close(done)
				v, err = c.WaitVerified(t.Context(), in)
			}()
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("WaitVerified did not come back")
			}
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want it to wrap ErrTimeout", err)
			}
			for _, want := range append([]string{"api-service", "prod"}, tc.mentions...) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to mention %q", err, want)
				}
			}
			if got := strings.Contains(err.Error(), "(last poll:"); got != tc.lastPoll {
				t.Errorf("err = %q names a last poll's failure: %v, want %v", err, got, tc.lastPoll)
			}
			if tc.inProcess && (!v.InProgress || v.Source != SourceServiceDeployment || v.Status != StatusInProgress) {
				t.Errorf("last verification = %+v; want the IN_PROGRESS service deployment", v)
			}
		})
	}
}

func TestWaitVerifiedStopsOnCancel(t *testing.T) {
	c, fake := newFakeClient(t)
	since := deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.Stalls})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		// A second poll means the first one's verdict is in; cancelling during or after the second
		// request leaves an IN_PROGRESS verdict either way.
		for ctx.Err() == nil && countCalls(fake.Calls(), "DescribeServiceDeployments") < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	in := waitFor(since)
	in.Timeout = 2 * time.Hour
	v, err := c.WaitVerified(ctx, in)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want context.Canceled and not ErrTimeout", err)
	}
	if !v.InProgress {
		t.Errorf("last verification = %+v, want the IN_PROGRESS one", v)
	}
}

func TestWaitVerifiedErrors(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.SetService("prod", "other-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdNew, Desired: 1, Running: 1}})
	for _, tc := range []struct {
		name string
		in   WaitInput
		is   error
		text string
	}{
		{name: "missing service", in: waitFor(fake.Now()), is: ErrServiceNotFound},
		{name: "no update time", in: waitFor(time.Time{}), text: "the time its update began"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.WaitVerified(t.Context(), tc.in)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v, want %v containing %q", err, tc.is, tc.text)
			}
		})
	}
}

// TestStopRollout: a stalled rollout, stopped with a rollback, is followed to ROLLBACK_SUCCESSFUL
// and the service runs the previous task definition again.
func TestStopRollout(t *testing.T) {
	c, fake := newFakeClient(t)
	since := deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.Stalls})
	fake.Advance(2 * awsfake.Tick)

	sd, ok, err := c.InFlight(t.Context(), "prod", "api-service")
	if err != nil || !ok {
		t.Fatalf("InFlight = %+v, %v, %v; want the stalled deployment", sd, ok, err)
	}
	if sd.Status != StatusInProgress || sd.TargetTaskDefinition != tdNew || !slices.Equal(sd.SourceTaskDefinitions, []string{tdOld}) {
		t.Errorf("in flight: %s from %v to %s; want IN_PROGRESS from [%s] to %s", sd.Status, sd.SourceTaskDefinitions, sd.TargetTaskDefinition, tdOld, tdNew)
	}
	if err := c.StopRollout(t.Context(), "prod", "other-service", sd.Arn); err == nil || !strings.Contains(err.Error(), "not a service deployment of ECS service other-service") {
		t.Errorf("StopRollout of another service's deployment: %v, want a refusal", err)
	}
	if countCalls(fake.Calls(), "StopServiceDeployment") != 0 {
		t.Fatal("the refused StopRollout reached ECS")
	}
	if err := c.StopRollout(t.Context(), "prod", "api-service", sd.Arn); err != nil {
		t.Fatalf("StopRollout: %v", err)
	}
	var statuses []string
	in := waitFor(since)
	in.Progress = func(p Progress) { statuses = append(statuses, p.Status) }
	v, err := c.WaitVerified(t.Context(), in)
	if err != nil {
		t.Fatalf("WaitVerified: %v", err)
	}
	if !v.RolledBack || v.Status != StatusRollbackSuccessful || v.RolledBackTo != tdOld || v.DeploymentArn != sd.Arn {
		t.Errorf("verdict %q, status %s, back to %s, deployment %s; want rolledBack, ROLLBACK_SUCCESSFUL, %s, %s", verdictOf(v), v.Status, v.RolledBackTo, v.DeploymentArn, tdOld, sd.Arn)
	}
	if want := []string{"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL"}; !slices.Equal(statuses, want) {
		t.Errorf("statuses reported %v, want %v", statuses, want)
	}
	st, err := c.Service(t.Context(), "prod", "api-service")
	if p, ok := st.Primary(); err != nil || !ok || p.TaskDefinition != tdOld || p.RolloutState != RolloutCompleted || len(st.Deployments) != 1 {
		t.Errorf("service after the rollback: %v, %v; want tdOld alone, COMPLETED", deploymentsOf(st), err)
	}
	if _, ok, err := c.InFlight(t.Context(), "prod", "api-service"); ok || err != nil {
		t.Errorf("InFlight after the rollback = %v, %v; want none", ok, err)
	}
}

// TestStopRolloutDenied: the SDK's error comes back, naming the operation.
func TestStopRolloutDenied(t *testing.T) {
	c, fake := newFakeClient(t)
	deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.Stalls})
	sd, _, err := c.InFlight(t.Context(), "prod", "api-service")
	if err != nil {
		t.Fatal(err)
	}
	fake.DenyOperation("StopServiceDeployment")
	err = c.StopRollout(t.Context(), "prod", "api-service", sd.Arn)
	if err == nil || !strings.Contains(err.Error(), "StopServiceDeployment") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Errorf("err = %v, want the AccessDeniedException of StopServiceDeployment", err)
	}
}

// A rollout ECS completes with no task desired (a service scaled to zero by hand) ran nothing: it
// is not verified, from either source.
func TestWaitVerifiedZeroDesired(t *testing.T) {
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			if src.deny != "" {
				fake.DenyOperation(src.deny)
			}
			since := deployingWith(t, c, fake, awsfake.Rollout{}, true, 0)
			v, err := c.WaitVerified(t.Context(), waitFor(since))
			if err != nil {
				t.Fatalf("WaitVerified: %v", err)
			}
			if v.OK || v.InProgress || v.Source != src.want || !strings.Contains(v.Reason, "0 desired") {
				t.Errorf("OK %v, InProgress %v, Source %q, Reason %q; want not OK, settled, from %q, saying 0 desired tasks", v.OK, v.InProgress, v.Source, v.Reason, src.want)
			}
		})
	}
}
