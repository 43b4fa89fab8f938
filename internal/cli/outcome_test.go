package cli

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/deploy"
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
