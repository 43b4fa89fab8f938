package awsx

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
)

func TestVerify(t *testing.T) {
	primary := func(td, state string) Deployment {
		return Deployment{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: td, RolloutState: state, Desired: 2, Running: 1}
	}
	failedNew := Deployment{ID: "ecs-svc/2", Status: "ACTIVE", TaskDefinition: tdNew, RolloutState: "FAILED", RolloutStateReason: awsfake.CircuitBreakerReason}

	for _, tc := range []struct {
		name                       string
		deployments                []Deployment
		want                       string
		ok, rolledBack, inProgress bool
		reason                     []string // substrings of Reason
	}{
		{
			name:        "completed and matching",
			deployments: []Deployment{primary(tdNew, "COMPLETED")},
			want:        tdNew, ok: true,
			reason: []string{tdNew, "COMPLETED"},
		},
		{
			name:        "completed with no task desired",
			deployments: []Deployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: tdNew, RolloutState: "COMPLETED"}},
			want:        tdNew,
			reason:      []string{tdNew, "0 desired tasks"},
		},
		{
			name:        "circuit breaker rolled back",
			deployments: []Deployment{{ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: tdOld, RolloutState: "COMPLETED"}, failedNew},
			want:        tdNew, rolledBack: true,
			reason: []string{tdOld, tdNew, "ecs-svc/2", "FAILED", awsfake.CircuitBreakerReason},
		},
		{
			name:        "someone else deployed",
			deployments: []Deployment{{ID: "ecs-svc/3", Status: "PRIMARY", TaskDefinition: awsfake.TaskDefinitionARN("api-service", 43), RolloutState: "COMPLETED"}},
			want:        tdNew, rolledBack: true,
			reason: []string{awsfake.TaskDefinitionARN("api-service", 43), tdNew},
		},
		{
			name:        "primary failed without rollback",
			deployments: []Deployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: tdNew, RolloutState: "FAILED", RolloutStateReason: awsfake.CircuitBreakerReason}},
			want:        tdNew, rolledBack: true,
			reason: []string{tdNew, "FAILED", awsfake.CircuitBreakerReason},
		},
		{
			name:        "in progress",
			deployments: []Deployment{primary(tdNew, "IN_PROGRESS"), {ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: tdOld, RolloutState: "COMPLETED"}},
			want:        tdNew, inProgress: true,
			reason: []string{tdNew, "IN_PROGRESS", "1/2"},
		},
		{
			name:        "retry after an earlier rollback is judged by the PRIMARY",
			deployments: []Deployment{primary(tdNew, "IN_PROGRESS"), failedNew},
			want:        tdNew, inProgress: true,
		},
		{
			name:        "no PRIMARY deployment",
			deployments: []Deployment{{ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: tdNew, RolloutState: "COMPLETED"}},
			want:        tdNew,
			reason:      []string{"no PRIMARY deployment", tdNew},
		},
		{
			name:   "no deployments",
			want:   tdNew,
			reason: []string{"no PRIMARY deployment"},
		},
		{
			name:        "no rollout state (CODE_DEPLOY controller)",
			deployments: []Deployment{primary(tdNew, "")},
			want:        tdNew,
			reason:      []string{"rollout state is \"\""},
		},
		{
			name:        "nothing to verify against",
			deployments: []Deployment{primary(tdNew, "COMPLETED")},
			want:        "",
			reason:      []string{"no task definition"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Verify(ServiceState{Service: "api-service", Deployments: tc.deployments}, tc.want)
			if got.OK != tc.ok || got.RolledBack != tc.rolledBack || got.InProgress != tc.inProgress {
				t.Errorf("OK/RolledBack/InProgress = %v/%v/%v, want %v/%v/%v (reason %q)",
					got.OK, got.RolledBack, got.InProgress, tc.ok, tc.rolledBack, tc.inProgress, got.Reason)
			}
			if got.Want != tc.want {
				t.Errorf("Want = %q, want %q", got.Want, tc.want)
			}
			if got.Reason == "" || strings.Contains(got.Reason, "\n") {
				t.Errorf("Reason = %q, want one non-empty line", got.Reason)
			}
			for _, sub := range tc.reason {
				if !strings.Contains(got.Reason, sub) {
					t.Errorf("Reason = %q, want it to mention %q", got.Reason, sub)
				}
			}
			if p, ok := (ServiceState{Deployments: tc.deployments}).Primary(); ok && got.Primary != p && tc.want != "" {
				t.Errorf("Primary = %+v, want %+v", got.Primary, p)
			}
		})
	}
}

func countCalls(calls []string, op string) int {
	n := 0
	for _, c := range calls {
		if c == op {
			n++
		}
	}
	return n
}

func TestWaitVerified(t *testing.T) {
	for _, tc := range []struct {
		name                string
		rollout             awsfake.Rollout // of imageNew
		settle              bool            // let the rollout finish before waiting
		ok, rolledBack      bool
		wantDescribeService int
	}{
		// Each DescribeServices poll moves the fake's clock one tick: the fourth sees the third step.
		{name: "in progress then completed", rollout: awsfake.Rollout{Steps: 3}, ok: true, wantDescribeService: 4},
		{name: "already completed", settle: true, ok: true, wantDescribeService: 1},
		// The circuit breaker trips on the second tick; the third poll sees the rollback under way.
		{name: "in progress then rolled back", rollout: awsfake.Rollout{Outcome: awsfake.CircuitBreaks}, rolledBack: true, wantDescribeService: 3},
		{name: "rolled back and settled (the false success)", rollout: awsfake.Rollout{Outcome: awsfake.CircuitBreaks}, settle: true, rolledBack: true, wantDescribeService: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			deploying(t, c, fake, tc.rollout)
			if tc.settle {
				fake.Advance(5 * awsfake.Tick)
			}
			v, st, err := c.WaitVerified(t.Context(), "prod", "api-service", tdNew, time.Minute, time.Millisecond)
			if err != nil {
				t.Fatalf("WaitVerified: %v", err)
			}
			if v.OK != tc.ok || v.RolledBack != tc.rolledBack || v.InProgress {
				t.Errorf("OK/RolledBack/InProgress = %v/%v/%v, want %v/%v/false (reason %q)", v.OK, v.RolledBack, v.InProgress, tc.ok, tc.rolledBack, v.Reason)
			}
			if st.Service != "api-service" || len(st.Deployments) == 0 {
				t.Errorf("state = %+v, want the last described state", st)
			}
			if got := countCalls(fake.Calls(), "DescribeServices"); got != tc.wantDescribeService {
				t.Errorf("DescribeServices called %d times, want %d", got, tc.wantDescribeService)
			}
		})
	}
}

func TestWaitVerifiedTimesOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration // how long the fake holds each DescribeServices response
		polls int           // DescribeServices calls at least made
	}{
		// The timeout leaves room for many polls: the first one must have answered, however slow
		// the machine, for the verdict to be checked.
		{name: "between polls", polls: 2},
		// The deadline expires while the first request waits for its answer.
		{name: "mid-request", delay: time.Minute, polls: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.Stalls})
			fake.SetDelay("DescribeServices", tc.delay)
			timeout := 2 * time.Second
			if tc.delay > 0 {
				timeout = 100 * time.Millisecond
			}
			v, st, err := c.WaitVerified(t.Context(), "prod", "api-service", tdNew, timeout, 50*time.Millisecond)
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("err = %v, want it to wrap ErrTimeout", err)
			}
			for _, want := range []string{"api-service", "prod"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to mention %q", err, want)
				}
			}
			if got := countCalls(fake.Calls(), "DescribeServices"); got < tc.polls {
				t.Errorf("DescribeServices called %d times before the timeout, want at least %d", got, tc.polls)
			}
			if tc.delay > 0 {
				return
			}
			for _, want := range []string{"IN_PROGRESS", tdNew} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %q, want it to mention %q", err, want)
				}
			}
			if !v.InProgress || v.Primary.TaskDefinition != tdNew || len(st.Deployments) != 2 {
				t.Errorf("last verification = %+v with %d deployments; want the IN_PROGRESS rollout of %s beside the old one", v, len(st.Deployments), tdNew)
			}
		})
	}
}

func TestWaitVerifiedStopsOnCancel(t *testing.T) {
	c, fake := newFakeClient(t)
	deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.Stalls})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() {
		// A second poll means the first one's verdict is in; cancelling during or after the second
		// request leaves an IN_PROGRESS verdict either way.
		for ctx.Err() == nil && countCalls(fake.Calls(), "DescribeServices") < 2 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	v, _, err := c.WaitVerified(ctx, "prod", "api-service", tdNew, 2*time.Hour, time.Millisecond)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want context.Canceled and not ErrTimeout", err)
	}
	if !v.InProgress {
		t.Errorf("last verification = %+v, want the IN_PROGRESS one", v)
	}
}

func TestWaitVerifiedReturnsServiceErrors(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.SetService("prod", "other-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdNew, Desired: 1, Running: 1}})
	_, _, err := c.WaitVerified(t.Context(), "prod", "api-service", tdNew, time.Minute, time.Millisecond)
	if !errors.Is(err, ErrServiceNotFound) {
		t.Errorf("err = %v, want it to wrap ErrServiceNotFound", err)
	}
}
