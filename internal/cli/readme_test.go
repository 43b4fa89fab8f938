package cli

import (
	"fmt"
	"github.com/slipway-dev/slipway/internal/contract"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README documents every exit code and every config key.
func TestReadmeIsTrue(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(projectRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	codes := []struct {
		name string
		code int
	}{
		{"ExitOK", ExitOK}, {"ExitFailure", ExitFailure}, {"ExitBadInput", ExitBadInput}, {"ExitLocked", ExitLocked},
		{"ExitRolledBack", ExitRolledBack}, {"ExitDrift", ExitDrift}, {"ExitMismatch", ExitMismatch},
		{"ExitRefused", ExitRefused}, {"ExitNoImage", ExitNoImage},
	}
	for _, c := range codes {
		if row := fmt.Sprintf("| %d | `%s` |", c.code, c.name); !strings.Contains(readme, row) {
			t.Errorf("README has no exit code row %q", row)
		}
	}
	for _, k := range contract.Keys {
		if row := fmt.Sprintf("| `slipway:%s` | %s |", k.Name, k.Type); !strings.Contains(readme, row) {
			t.Errorf("README config reference has no row starting %q", row)
		}
	}
	for v := range verbs {
		if !strings.Contains(readme, "| `"+v+"` |") {
			t.Errorf("README does not document the %s command", v)
		}
	}
}
