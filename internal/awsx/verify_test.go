package awsx

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
)

func TestVerify(t *testing.T) {
	primary := func(td, state string) Deployment {
		return Deployment{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: td, RolloutState: state, Desired: 2, Running: 1}
	}
	failedNew := Deployment{ID: "ecs-svc/2", Status: "ACTIVE", TaskDefinition: tdNew, RolloutState: "FAILED", RolloutStateReason: awsfake.CircuitBreakerReason, Failed: 3}
	backTo := func(state string) Deployment {
		return Deployment{ID: "ecs-svc/1", Status: "PRIMARY", TaskDefinition: tdOld, RolloutState: state}
	}

	for _, tc := range []struct {
		name         string
		deps         []Deployment
		want         string
		verdict      string   // ok, rolledBack, rollbackFailed, stopped, inProgress, or "" for none
		reason       []string // substrings of Reason
		rolledBackTo string
	}{
		{name: "completed and matching", deps: []Deployment{primary(tdNew, "COMPLETED")}, want: tdNew, verdict: "ok", reason: []string{tdNew, "COMPLETED"}},
		{name: "completed with no task desired", deps: []Deployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: tdNew, RolloutState: "COMPLETED"}}, want: tdNew, reason: []string{tdNew, "0 desired tasks"}},
		{name: "circuit breaker rolled back", deps: []Deployment{backTo("COMPLETED"), failedNew}, want: tdNew, verdict: "rolledBack", rolledBackTo: tdOld,
			reason: []string{tdOld, tdNew, "ecs-svc/2", "FAILED", awsfake.CircuitBreakerReason}},
		{name: "rolling back", deps: []Deployment{backTo("IN_PROGRESS"), failedNew}, want: tdNew, verdict: "inProgress", reason: []string{tdOld, "IN_PROGRESS"}},
		{name: "rollback failed", deps: []Deployment{backTo("FAILED"), failedNew}, want: tdNew, verdict: "rollbackFailed", reason: []string{tdOld, "FAILED too"}},
		{name: "someone else deployed", deps: []Deployment{{ID: "ecs-svc/3", Status: "PRIMARY", TaskDefinition: awsfake.TaskDefinitionARN("api-service", 43), RolloutState: "COMPLETED"}},
			want: tdNew, verdict: "rolledBack", rolledBackTo: awsfake.TaskDefinitionARN("api-service", 43), reason: []string{awsfake.TaskDefinitionARN("api-service", 43), tdNew}},
		{name: "primary failed without rollback", deps: []Deployment{{ID: "ecs-svc/2", Status: "PRIMARY", TaskDefinition: tdNew, RolloutState: "FAILED", RolloutStateReason: awsfake.CircuitBreakerReason}},
			want: tdNew, verdict: "stopped", reason: []string{tdNew, "FAILED", awsfake.CircuitBreakerReason}},
		{name: "in progress", deps: []Deployment{primary(tdNew, "IN_PROGRESS"), {ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: tdOld, RolloutState: "COMPLETED"}},
			want: tdNew, verdict: "inProgress", reason: []string{tdNew, "IN_PROGRESS", "1/2"}},
		{name: "retry after an earlier rollback is judged by the PRIMARY", deps: []Deployment{primary(tdNew, "IN_PROGRESS"), failedNew}, want: tdNew, verdict: "inProgress"},
		{name: "no PRIMARY deployment", deps: []Deployment{{ID: "ecs-svc/1", Status: "ACTIVE", TaskDefinition: tdNew, RolloutState: "COMPLETED"}}, want: tdNew, reason: []string{"no PRIMARY deployment", tdNew}},
		{name: "no deployments", want: tdNew, reason: []string{"no PRIMARY deployment"}},
		{name: "no rollout state (CODE_DEPLOY controller)", deps: []Deployment{primary(tdNew, "")}, want: tdNew, reason: []string{"rollout state is \"\""}},
		{name: "nothing to verify against", deps: []Deployment{primary(tdNew, "COMPLETED")}, want: "", reason: []string{"no task definition"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Verify(ServiceState{Service: "api-service", Deployments: tc.deps}, tc.want)
			if v := verdictOf(got); v != tc.verdict {
				t.Errorf("verdict = %q, want %q (reason %q)", v, tc.verdict, got.Reason)
			}
			if got.Want != tc.want || got.Source != SourceDeployments || got.RolledBackTo != tc.rolledBackTo {
				t.Errorf("Want, Source, RolledBackTo = %q, %q, %q; want %q, %q, %q", got.Want, got.Source, got.RolledBackTo, tc.want, SourceDeployments, tc.rolledBackTo)
			}
			if got.Reason == "" || strings.Contains(got.Reason, "\n") {
				t.Errorf("Reason = %q, want one non-empty line", got.Reason)
			}
			for _, sub := range tc.reason {
				if !strings.Contains(got.Reason, sub) {
					t.Errorf("Reason = %q, want it to mention %q", got.Reason, sub)
				}
			}
			if p, ok := (ServiceState{Deployments: tc.deps}).Primary(); ok && got.Primary != p && tc.want != "" {
				t.Errorf("Primary = %+v, want %+v", got.Primary, p)
			}
		})
	}
}

// verdictOf names the verdict set in v, "" for none, and "many" when more than one is.
func verdictOf(v Verification) string {
	var set []string
	for name, on := range map[string]bool{"ok": v.OK, "rolledBack": v.RolledBack, "rollbackFailed": v.RollbackFailed, "stopped": v.Stopped, "inProgress": v.InProgress} {
		if on {
			set = append(set, name)
		}
	}
	switch len(set) {
	case 0:
		return ""
	case 1:
		return set[0]
	}
	return "many"
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
