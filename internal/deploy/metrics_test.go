package deploy

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
)

// metricsDay0 is the first day of metricsHistory.
var metricsDay0 = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// at is day d of metricsHistory at hh:mm.
func at(d, hh, mm int) time.Time {
	return metricsDay0.AddDate(0, 0, d).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

func metricsSHA(c byte) string { return strings.Repeat(string(c), 40) }

// metricsHistory is a stack's history, newest first, whose metrics are
// known (see TestMetrics): A before the window; B; C, which ECS rolled
// back, reconciled to B; D, which a rollback to B replaced; a failed
// update and one with a short image tag (no deploys); F, which ECS
// rolled back and whose reconcile failed; G, the next deploy after F.
func metricsHistory() []Update {
	a, b, c, d, e, f, g := metricsSHA('a'), metricsSHA('b'), metricsSHA('c'), metricsSHA('d'), metricsSHA('e'), metricsSHA('f'), metricsSHA('1')
	upd := func(sha string, msg contract.Message, start, end time.Time) Update {
		return Update{Kind: "update", Result: "succeeded", Start: start, End: end, Message: msg.String(), ImageTag: sha}
	}
	oldest := []Update{
		upd(a, contract.DeployMessage(a), at(0, 9, 0), at(0, 9, 5)),
		upd(b, contract.DeployMessage(b), at(4, 10, 0), at(4, 10, 5)),
		upd(c, contract.DeployMessage(c), at(4, 12, 0), at(4, 12, 4)),
		upd(c, contract.RejectedMessage(c), at(4, 12, 5), at(4, 12, 6)),
		upd(b, contract.ReconcileMessage(b, c), at(4, 12, 6), at(4, 12, 10)),
		{Kind: "preview", Result: "succeeded", Start: at(4, 13, 0), End: at(4, 13, 1), ImageTag: d},
		upd(d, contract.DeployMessage(d), at(5, 9, 0), at(5, 9, 3)),
		upd(b, contract.RollbackMessage(b, d), at(5, 11, 0), at(5, 11, 2)),
		{Kind: "update", Result: "failed", Start: at(6, 9, 0), End: at(6, 9, 1), Message: contract.DeployMessage(e).String(), ImageTag: e},
		upd("abc1234", contract.Message{}, at(6, 10, 0), at(6, 10, 1)),
		upd(f, contract.DeployMessage(f), at(7, 8, 0), at(7, 8, 6)),
		upd(f, contract.RejectedMessage(f), at(7, 8, 7), at(7, 8, 8)),
		{Kind: "update", Result: "failed", Start: at(7, 8, 8), End: at(7, 8, 9), Message: contract.ReconcileMessage(b, f).String(), ImageTag: b},
		upd(g, contract.DeployMessage(g), at(8, 10, 0), at(8, 10, 5)),
	}
	for i := range oldest {
		oldest[i].Version = i + 1
	}
	slices.Reverse(oldest)
	return oldest
}

func TestMetrics(t *testing.T) {
	hist := metricsHistory()
	type want struct {
		deploys, rolledBack, failed, restored, unrestored int
		perDay, failureRate                               float64
		medianRestore, longestRestore, medianDuration     time.Duration
		failures                                          []string // version:by
	}
	tests := []struct {
		name       string
		hist       []Update
		since, now time.Time
		want       want
	}{
		{
			// Deploys B, C, reconcile B, D, rollback B, F, G: 7 in 7 days.
			// Failed: C (ECS; restored by the reconcile at 12:10, 10m),
			// D (the rollback replaced it; 09:00 to 11:02, 2h2m), F (ECS;
			// its reconcile failed, G restored it: 26h5m). Durations 5m,
			// 4m, 4m, 3m, 2m, 6m, 5m: median 4m.
			name: "the window after A", hist: hist, since: at(3, 0, 0), now: at(10, 0, 0),
			want: want{deploys: 7, rolledBack: 2, failed: 3, restored: 3, perDay: 1, failureRate: 3.0 / 7,
				medianRestore: 2*time.Hour + 2*time.Minute, longestRestore: 26*time.Hour + 5*time.Minute, medianDuration: 4 * time.Minute,
				failures: []string{"3:ecs", "7:rollback", "11:ecs"}},
		},
		{
			// A (5m) ran, then B: no failure.
			name: "whole history, 10 days", hist: hist, since: at(0, 0, 0), now: at(10, 0, 0),
			want: want{deploys: 8, rolledBack: 2, failed: 3, restored: 3, perDay: 0.8, failureRate: 3.0 / 8,
				medianRestore: 2*time.Hour + 2*time.Minute, longestRestore: 26*time.Hour + 5*time.Minute, medianDuration: 4*time.Minute + 30*time.Second,
				failures: []string{"3:ecs", "7:rollback", "11:ecs"}},
		},
		{
			// The rollback is in the window, D before it: D does not count.
			// The rollback, F and G in 4 days: durations 2m, 6m, 5m.
			name: "a failure older than the window", hist: hist, since: at(5, 10, 0), now: at(9, 10, 0),
			want: want{deploys: 3, rolledBack: 1, failed: 1, restored: 1, perDay: 0.75, failureRate: 1.0 / 3,
				medianRestore: 26*time.Hour + 5*time.Minute, longestRestore: 26*time.Hour + 5*time.Minute, medianDuration: 5 * time.Minute,
				failures: []string{"11:ecs"}},
		},
		{
			// Without G, F is not restored yet.
			name: "unrestored", hist: hist[1:], since: at(7, 0, 0), now: at(8, 0, 0),
			want: want{deploys: 1, rolledBack: 1, failed: 1, unrestored: 1, perDay: 1, failureRate: 1,
				medianDuration: 6 * time.Minute, failures: []string{"11:ecs"}},
		},
		{
			name: "no history", hist: nil, since: at(0, 0, 0), now: at(30, 0, 0),
			want: want{failures: []string{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Metrics(tt.hist, tt.since, tt.now)
			failures := []string{}
			for _, f := range m.Failures {
				failures = append(failures, strconv.Itoa(f.Version)+":"+f.By)
			}
			got := want{deploys: m.Deploys, rolledBack: m.RolledBackByECS, failed: m.FailedChanges, restored: m.Restored, unrestored: m.Unrestored,
				perDay: m.DeploysPerDay, failureRate: m.ChangeFailureRate, medianRestore: m.MedianTimeToRestore, longestRestore: m.LongestTimeToRestore,
				medianDuration: m.MedianDeployDuration, failures: failures}
			if !slices.Equal(got.failures, tt.want.failures) || got.deploys != tt.want.deploys || got.rolledBack != tt.want.rolledBack ||
				got.failed != tt.want.failed || got.restored != tt.want.restored || got.unrestored != tt.want.unrestored ||
				!near(got.perDay, tt.want.perDay) || !near(got.failureRate, tt.want.failureRate) || got.medianRestore != tt.want.medianRestore ||
				got.longestRestore != tt.want.longestRestore || got.medianDuration != tt.want.medianDuration {
				t.Errorf("Metrics:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func near(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }

// Window reads the updates since since, and no page beyond the first
// update older than it.
func TestWindowStopsAtSince(t *testing.T) {
	old := repeat(3*deepPage, Update{Kind: "update", Result: "succeeded", Start: at(-1, 0, 0), ImageTag: a, Message: contract.DeployMessage(a).String()})
	src := &counting{HistorySource: memory(append(metricsHistory(), old...))}
	got, err := Window(context.Background(), src, at(7, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var versions []int
	for _, u := range got {
		versions = append(versions, u.Version)
	}
	if want := []int{14, 13, 12, 11}; !slices.Equal(versions, want) {
		t.Errorf("Window read versions %v, want %v", versions, want)
	}
	if src.reads != 1 {
		t.Errorf("Window read %d pages, want 1", src.reads)
	}
}

// Lead time for changes: from the recorded commit time to the end of the
// deploy's update, for deploys by up or promote that really ran; rollbacks,
// reconciles, deploys ECS rolled back and deploys without a commit time
// do not count.
func TestMetricsLeadTime(t *testing.T) {
	day := func(h, m int) time.Time { return time.Date(2024, 5, 1, h, m, 0, 0, time.UTC) }
	up := func(v int, sha string, start time.Time, commit time.Time, m contract.Message) Update {
		return Update{Version: v, Kind: "update", Result: "succeeded", ImageTag: sha, Start: start, End: start.Add(5 * time.Minute), Message: m.String(), CommitTime: commit}
	}
	a, b, c := strings.Repeat("a", 40), strings.Repeat("b", 40), strings.Repeat("c", 40)
	d := strings.Repeat("d", 40)
	hist := []Update{ // newest first
		up(6, d, day(18, 0), day(16, 0), contract.PromoteMessage(d, "staging")),
		up(5, a, day(15, 0), day(14, 0), contract.RollbackMessage(a, c)),
		up(4, c, day(13, 0), day(12, 0), contract.DeployMessage(c)),
		up(3, b, day(12, 0), day(11, 0), contract.ReconcileMessage(b, c)),
		up(2, c, day(11, 0), day(10, 0), contract.RejectedMessage(c)),
		up(1, c, day(10, 0), day(9, 0), contract.DeployMessage(c)),
		up(0, b, day(8, 0), time.Time{}, contract.DeployMessage(b)),
	}
	m := Metrics(hist, day(0, 0), day(23, 0))
	// Counted: versions 4 (1h5m) and 6 (a promotion, 2h5m): 1 was rolled
	// back by ECS, 0 has no commit time, 3 and 5 are a reconcile and a
	// rollback.
	if want := time.Hour + 35*time.Minute; m.LeadTimes != 2 || m.MedianLeadTime != want {
		t.Errorf("lead times %d, median %s; want 2, %s", m.LeadTimes, m.MedianLeadTime, want)
	}
}

// A failed change is restored by the next deploy that really ran, not by
// a later deploy ECS rolled back too: F's reconcile failed, H came next
// and ECS rolled it back, and the reconcile after H (a deploy of B that
// ran) restored both.
func TestMetricsRestoreSkipsARolledBackDeploy(t *testing.T) {
	b, f, h := metricsSHA('b'), metricsSHA('f'), metricsSHA('9')
	upd := func(v int, sha string, msg contract.Message, result string, start, end time.Time) Update {
		return Update{Version: v, Kind: "update", Result: result, Start: start, End: end, Message: msg.String(), ImageTag: sha}
	}
	hist := []Update{ // newest first
		upd(7, b, contract.ReconcileMessage(b, h), "succeeded", at(1, 10, 7), at(1, 10, 10)),
		upd(6, h, contract.RejectedMessage(h), "succeeded", at(1, 10, 6), at(1, 10, 7)),
		upd(5, h, contract.DeployMessage(h), "succeeded", at(1, 10, 0), at(1, 10, 5)),
		upd(4, b, contract.ReconcileMessage(b, f), "failed", at(1, 8, 8), at(1, 8, 9)),
		upd(3, f, contract.RejectedMessage(f), "succeeded", at(1, 8, 7), at(1, 8, 8)),
		upd(2, f, contract.DeployMessage(f), "succeeded", at(1, 8, 0), at(1, 8, 6)),
		upd(1, b, contract.DeployMessage(b), "succeeded", at(0, 9, 0), at(0, 9, 5)),
	}
	m := Metrics(hist, at(0, 0, 0), at(2, 0, 0))
	var got []string
	for _, fc := range m.Failures {
		got = append(got, fmt.Sprintf("%d:%s restored %s", fc.Version, fc.By, fc.Restored.Sub(fc.Start)))
	}
	if want := []string{"2:ecs restored 2h10m0s", "5:ecs restored 10m0s"}; !slices.Equal(got, want) {
		t.Errorf("failures %q, want %q", got, want)
	}
	if m.Restored != 2 || m.LongestTimeToRestore != 2*time.Hour+10*time.Minute {
		t.Errorf("restored %d, longest %s; want 2, 2h10m0s", m.Restored, m.LongestTimeToRestore)
	}
}
