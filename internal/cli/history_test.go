package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// historySHA is the SHA of the i-th deploy of a written history.
func historySHA(i int) string { return fmt.Sprintf("%040x", i+1) }

// A stack with two good deploys followed by eleven failed ones: every
// verb sees the whole history, the right current SHA and target.
func TestHistoryBeyondOnePage(t *testing.T) {
	w := newWorld(t)
	entries := []deploytest.Entry{
		{ImageTag: historySHA(0), Message: contract.DeployMessage(historySHA(0)).String()},
		{ImageTag: historySHA(1), Message: contract.DeployMessage(historySHA(1)).String()},
	}
	for i := 2; i < 13; i++ {
		entries = append(entries, deploytest.Entry{ImageTag: historySHA(i), Result: "failed", Message: contract.DeployMessage(historySHA(i)).String()})
	}
	w.p.WriteHistory(t, entries)

	if rows := w.history(t); len(rows) != 13 {
		t.Errorf("history --output json: %d rows, want the newest 13 (the default limit is %d)", len(rows), defaultHistoryLimit)
	}
	out, _ := w.mustRun(t, ExitOK, "rollback", "--dry-run", "--output", "json")
	var r map[string]string
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if r["current"] != historySHA(1) || r["target"] != historySHA(0) {
		t.Errorf("rollback --dry-run = %v, want current %s target %s", r, historySHA(1), historySHA(0))
	}
}

// A --to SHA hundreds of updates back is found; history shows 20 by
// default, --limit N and --all.
func TestHistoryDeep(t *testing.T) {
	w := newWorld(t)
	var entries []deploytest.Entry
	for i := range 300 {
		entries = append(entries, deploytest.Entry{ImageTag: historySHA(i), Message: contract.DeployMessage(historySHA(i)).String()})
	}
	w.p.WriteHistory(t, entries)
	deep := historySHA(299 - 250)
	out, _ := w.mustRun(t, ExitOK, "rollback", "--to", deep, "--dry-run", "--output", "json")
	if !strings.Contains(out, `"target": "`+deep+`"`) {
		t.Errorf("rollback --to %s (250 updates back) --dry-run:\n%s", deep, out)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{nil, defaultHistoryLimit},
		{[]string{"--limit", "7"}, 7},
		{[]string{"--all"}, 300},
	} {
		out, _ := w.mustRun(t, ExitOK, append([]string{"history", "--output", "json"}, tc.args...)...)
		var rows []historyRow
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != tc.want || rows[0].ImageTag != historySHA(299) {
			t.Errorf("history %v: %d rows, newest %s; want %d, newest %s", tc.args, len(rows), rows[0].ImageTag, tc.want, historySHA(299))
		}
		// A file:// backend numbers no updates: no version 0 on each.
		if strings.Contains(out, `"version"`) {
			t.Errorf("history %v --output json holds a version, which this backend does not number:\n%.300s", tc.args, out)
		}
	}
	w.mustRun(t, ExitBadInput, "history", "--all", "--limit", "5")
	w.mustRun(t, ExitBadInput, "history", "--limit", "0")
}

// Entries written by someone else cannot change the current SHA or put a
// workflow command in the output: a tag that is no SHA counts as no
// deploy (and is named once), and history text is printed escaped.
func TestForgedHistoryEntries(t *testing.T) {
	w := newWorld(t)
	good, other := historySHA(0), historySHA(1)
	w.p.WriteHistory(t, []deploytest.Entry{
		{ImageTag: other, Message: contract.DeployMessage(other).String()},
		{ImageTag: good, Message: contract.DeployMessage(good).String()},
		{ImageTag: "::warning::pwned", Message: "deploy\n::error::injected"},
		{ImageTag: "legacy", Message: "##[error]legacy command"},
		{ImageTag: strings.Repeat("AB", 20), Message: contract.DeployMessage(strings.Repeat("ab", 20)).String()},
	})
	out, errs := w.mustRun(t, ExitOK, "rollback", "--dry-run", "--output", "json")
	if !strings.Contains(out, `"current": "`+good+`"`) {
		t.Errorf("rollback --dry-run:\n%s\nwant current %s: a forged entry changed it", out, good)
	}
	if strings.Count(errs, "count as no deploy") != 1 {
		t.Errorf("stderr names the skipped entries %d times, want once:\n%s", strings.Count(errs, "count as no deploy"), errs)
	}
	table, errs := w.mustRun(t, ExitOK, "history")
	for _, text := range []string{table, errs} {
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "::") {
				t.Errorf("output line %q starts with ::, which GitHub runs as a workflow command", line)
			}
		}
	}
	if !strings.Contains(table, `"deploy\n::error::injected"`) {
		t.Errorf("history table does not show the forged message escaped:\n%s", table)
	}
	// JSON carries the text as it is, and still no line a runner would run.
	out, _ = w.mustRun(t, ExitOK, "history", "--output", "json")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "::") || strings.Contains(line, "##[") {
			t.Errorf("history --output json line %q: GitHub would run it as a workflow command", line)
		}
	}
	var rows []historyRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.ImageTag+" "+r.Message)
	}
	for _, want := range []string{"::warning::pwned deploy\n::error::injected", "legacy ##[error]legacy command"} {
		if !slices.Contains(got, want) {
			t.Errorf("history --output json rows %q, want %q as written", got, want)
		}
	}
}
