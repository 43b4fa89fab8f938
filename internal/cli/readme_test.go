package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
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
	// The outcome table, row by row: the same kinds, in deploy.Kinds'
	// order, with the exit codes of outcomeExit.
	_, table, _ := strings.Cut(readme, "<!-- outcomes:")
	table, _, _ = strings.Cut(table, "<!-- /outcomes -->")
	var rows []string
	for _, l := range strings.Split(table, "\n") {
		if strings.HasPrefix(l, "| `") {
			cells := strings.Split(l, " | ")
			rows = append(rows, cells[0]+" | "+cells[1])
		}
	}
	var want []string
	for _, k := range deploy.Kinds {
		want = append(want, fmt.Sprintf("| `%s` | %d", k, exitCode(k)))
	}
	if !slices.Equal(rows, want) {
		t.Errorf("README outcome rows (outcome | exit):\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if len(outcomeExit) != len(deploy.Kinds) {
		t.Errorf("outcomeExit has %d kinds, deploy.Kinds %d: every kind needs one exit code", len(outcomeExit), len(deploy.Kinds))
	}
	for _, v := range verbs {
		if !strings.Contains(readme, "| `"+v+"` |") {
			t.Errorf("README does not document the %s command", v)
		}
	}
}
