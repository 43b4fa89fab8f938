package deploytest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Entry is one update of a history written by WriteHistory.
type Entry struct {
	Kind     string // update (when empty), preview, refresh, ...
	Result   string // succeeded (when empty), failed, ...
	ImageTag string // the image SHA it ran with; "" leaves the key out
	Message  string // as given to the engine (the Automation API quotes it)
}

// historyFile is what the engine writes to a .history.json file for one
// update (backend.UpdateInfo), as far as history readers use it.
type historyFile struct {
	Kind            string            `json:"kind"`
	StartTime       int64             `json:"startTime"`
	Message         string            `json:"message"`
	Environment     map[string]string `json:"environment"`
	Config          map[string]string `json:"config"`
	Version         int               `json:"version"`
	Result          string            `json:"result"`
	EndTime         int64             `json:"endTime"`
	ResourceChanges map[string]int    `json:"resourceChanges"`
}

// WriteHistory appends entries (oldest first) to the history of p's
// stack straight in its file:// backend, as the engine records an
// update run through the Automation API: a
// .pulumi/history/<project>/<stack>/<stack>-<unix-ns>.history.json with
// the config it ran with and its quoted message, next to a
// .checkpoint.json copy of the stack's state. This makes a stack of a
// thousand updates in about a second instead of a thousand deploys.
// The entries start one second apart and the newest a second before now,
// so that the test's real updates run afterwards are newer than all of
// them; their recorded version is 0, as every DIY backend's is.
func (p Project) WriteHistory(t testing.TB, entries []Entry) {
	t.Helper()
	root := filepath.Join(strings.TrimPrefix(p.Backend, "file://"), ".pulumi")
	checkpoint, err := os.ReadFile(filepath.Join(root, "stacks", contract.Project, p.Stack+".json"))
	if err != nil {
		t.Fatalf("reading the stack's checkpoint: %v", err)
	}
	dir := filepath.Join(root, "history", contract.Project, p.Stack)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	first := time.Now().Add(-time.Duration(len(entries)) * time.Second)
	for i, e := range entries {
		start := first.Add(time.Duration(i) * time.Second)
		h := historyFile{
			Kind:            orDefault(e.Kind, "update"),
			StartTime:       start.Unix(),
			Message:         strconv.Quote(e.Message),
			Environment:     map[string]string{"exec.kind": "auto.inline", "pulumi.version": "v3.274.1"},
			Config:          BaseConfig(),
			Result:          orDefault(e.Result, "succeeded"),
			EndTime:         start.Add(time.Second).Unix(),
			ResourceChanges: map[string]int{"same": 3},
		}
		if e.ImageTag != "" {
			h.Config[contract.Project+":"+contract.KeyImageTag] = e.ImageTag
		}
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("%s-%d", p.Stack, start.UnixNano()))
		if err := os.WriteFile(name+".history.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name+".checkpoint.json", checkpoint, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func orDefault(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
