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
		if strings.HasPrefix(string(k), "refused-") && code != ExitRefused && code != ExitNoImage {
			t.Errorf("%s exits %d, want %d or %d (refused before touching anything)", k, code, ExitRefused, ExitNoImage)
		}
	}
	for k, want := range map[deploy.Kind]int{deploy.Locked: ExitLocked, deploy.RefusedNoImage: ExitNoImage, deploy.Unverified: ExitFailure, deploy.Interrupted: ExitFailure} {
		if got := exitCode(k); got != want {
			t.Errorf("exitCode(%s) = %d, want %d", k, got, want)
		}
	}
	if got := exitCode("no-such-kind"); got != ExitFailure {
		t.Errorf("exitCode of an unknown kind = %d, want %d", got, ExitFailure)
	}
}
