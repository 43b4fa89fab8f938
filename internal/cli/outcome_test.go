package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/workflows"
)

// The outcome → exit code table holds its invariants: every kind has a
// code; exactly the rolled-back kinds exit 4; only a verified deploy
// exits 0; refusals exit 7 or 8 and a lock conflict 3.
func TestOutcomeExitCodes(t *testing.T) {
	for _, k := range deploy.Kinds {
		code, ok := outcomeExit[k]
		if !ok {
			t.Errorf("kind %s has no exit code", k)
			continue
		}
		if got, want := code == ExitRolledBack, k.RolledBack(); got != want {
			t.Errorf("%s exits %d: rolled back %v, want exit %d exactly for rolled-back kinds", k, code, want, ExitRolledBack)
		}
		if got, want := code == ExitOK, k == deploy.Verified; got != want {
			t.Errorf("%s exits %d: only a verified deploy exits 0", k, code)
		}
		if strings.HasPrefix(string(k), "refused-") && (code == ExitOK || code == ExitFailure || code == ExitRolledBack) {
			t.Errorf("%s exits %d: a refusal changes nothing and has its own code, not %d, %d or %d", k, code, ExitOK, ExitFailure, ExitRolledBack)
		}
	}
	for k, want := range map[deploy.Kind]int{deploy.Locked: ExitLocked, deploy.RefusedNoImage: ExitNoImage, deploy.Unverified: ExitFailure, deploy.Interrupted: ExitFailure,
		deploy.RefusedDiverged: ExitMismatch, deploy.RefusedNoTarget: ExitBadInput, deploy.RefusedOlder: ExitRefused} {
		if got := exitCode(k); got != want {
			t.Errorf("exitCode(%s) = %d, want %d", k, got, want)
		}
	}
	if got := exitCode("no-such-kind"); got != ExitFailure {
		t.Errorf("exitCode of an unknown kind = %d, want %d", got, ExitFailure)
	}
}

// The one-line result names what ECS said, from the source of the verdict.
func TestOutcomeState(t *testing.T) {
	tests := []struct {
		o    deploy.Outcome
		want string
	}{
		{deploy.Outcome{Kind: deploy.Verified, VerdictSource: awsx.SourceServiceDeployment}, "verified: ECS runs it (service deployment SUCCESSFUL)"},
		{deploy.Outcome{Kind: deploy.Verified, VerdictSource: awsx.SourceDeployments}, "verified: ECS runs it (PRIMARY deployment COMPLETED)"},
		{deploy.Outcome{Kind: deploy.RolledBackReconciled, Reconciled: "aaaa"}, "ROLLED BACK by ECS; stack reconciled to aaaa"},
		{deploy.Outcome{Kind: deploy.RolledBackDiverged}, "ROLLED BACK by ECS"},
		{deploy.Outcome{Kind: deploy.Unverified}, "UNVERIFIED: ECS did not confirm the rollout"},
	}
	for _, tt := range tests {
		if got := state(tt.o); got != tt.want {
			t.Errorf("state(%s from %q) = %q, want %q", tt.o.Kind, tt.o.VerdictSource, got, tt.want)
		}
	}
}

// The deadline counts from the command's start: setting up the engine
// spends the budget too.
func TestDeadline(t *testing.T) {
	started := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		o    UpOptions
		want time.Time
	}{
		{"--deadline", UpOptions{Deadline: 60 * time.Minute, VerifyTimeout: 30 * time.Minute, started: started}, started.Add(60 * time.Minute)},
		{"default: two updates and two rollouts", UpOptions{VerifyTimeout: 30 * time.Minute, started: started}, started.Add(2 * (updateAllowance + 30*time.Minute))},
	}
	for _, tt := range tests {
		if got := deadline(tt.o); !got.Equal(tt.want) {
			t.Errorf("%s: deadline = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// A --verify-timeout the tool accepts fits in a CI deploy job's budget.
func TestVerifyTimeoutCeilingBelowTheJobBudget(t *testing.T) {
	budget := time.Duration(workflows.ToolDeadlineMinutes+workflows.ToolSetupMinutes) * time.Minute
	if maxVerifyTimeout >= budget {
		t.Errorf("--verify-timeout may be %s, want less than the deploy job's %s", maxVerifyTimeout, budget)
	}
}

// Each outcome that leaves work to a person ends with the command that
// does it, as the runbooks say; where history no longer says what ECS
// runs, that command carries --force, which the check of what ECS runs
// needs there.
func TestExplainSaysWhatToDo(t *testing.T) {
	const sha, prev = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	tests := []struct {
		o    deploy.Outcome
		want []string
	}{
		{deploy.Outcome{Kind: deploy.RolledBackReconcileSkipped, ImageTag: sha, Previous: prev}, []string{"deploy up --sha " + prev}},
		{deploy.Outcome{Kind: deploy.RolledBackReconcileFailed, ImageTag: sha, Previous: prev}, []string{"deploy up --sha " + prev}},
		{deploy.Outcome{Kind: deploy.RolledBackPlatform, ImageTag: sha, Previous: prev}, []string{"up --all --force"}},
		{deploy.Outcome{Kind: deploy.RolledBackDiverged, ImageTag: sha, Previous: prev, RunningImageTag: "cccccccccccccccccccccccccccccccccccccccc"},
			[]string{"deploy up --sha cccccccccccccccccccccccccccccccccccccccc --force"}},
		{deploy.Outcome{Kind: deploy.RollbackFailed, ImageTag: prev, Previous: sha}, []string{"deploy rollback --to <a SHA that ran> --force"}},
		{deploy.Outcome{Kind: deploy.Stopped, ImageTag: sha, Previous: prev}, []string{"--force"}},
		{deploy.Outcome{Kind: deploy.RefusedDiverged, Verb: "deploy", ImageTag: sha, Previous: prev, RunningImageTag: prev}, []string{"deploy up --sha " + prev + " --force"}},
		{deploy.Outcome{Kind: deploy.RefusedNoImage, Stack: "prod", PromotedFrom: "staging", ImageTag: sha, Promotable: []string{prev}},
			[]string{"SHAs staging verifiably ran that can be promoted", prev, "deploy promote --from staging --to prod --sha <sha>"}},
		{deploy.Outcome{Kind: deploy.RefusedNotPromotable, Stack: "prod", PromotedFrom: "staging", ImageTag: sha},
			[]string{"no SHA staging ran recently can be promoted"}},
		{deploy.Outcome{Kind: deploy.Unverified, ImageTag: sha, Previous: prev, Error: awsx.ErrTimeout.Error() + " of api-service"},
			[]string{"deploy up --sha " + sha + " again", "deploy rollback", "deploy up --sha <the SHA ECS runs> --force"}},
		{deploy.Outcome{Kind: deploy.Interrupted, Stack: "prod", TaskDefinitionArn: "arn:aws:ecs:us-east-1:1:task-definition/api:2"}, []string{"deploy status --stack prod"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.o.Kind), func(t *testing.T) {
			got := explain(tt.o)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("explain = %q, want it to say %q", got, w)
				}
			}
		})
	}
}
