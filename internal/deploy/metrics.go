package deploy

import (
	"context"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
)

// DeliveryMetrics are the delivery metrics of a stack over a window of
// its history, from Since to Until. Every count is of updates that
// started in the window; an update is read as history's ledger reads it
// (see RollbackTarget): only messages contract.ParseMessage reads, about
// the SHA the update ran with, say anything.
//
//   - Deploys: the successful engine updates that deployed a SHA (a
//     deploy, a rollback, a reconcile, or an update by hand whose image tag
//     is a full SHA); a rejection marker ("ECS rolled back <sha>") is no
//     deploy. RolledBackByECS of them ECS rolled back: a later marker or
//     reconcile says so, so they never ran; the others really ran.
//   - DeploysPerDay (deployment frequency): Deploys divided by the
//     window's length in days.
//   - FailedChanges: the deploys ECS rolled back, plus the deploys that
//     really ran and that a rollback replaced (the next deploy that really
//     ran is a rollback). ChangeFailureRate is FailedChanges / Deploys (0
//     without deploys).
//   - Time to restore, for each failed change: from its start to the end
//     of the next deploy that really ran after it (the reconcile, or the
//     rollback). Restored failed changes give MedianTimeToRestore and
//     LongestTimeToRestore; Unrestored counts those with no such deploy
//     yet.
//   - MedianDeployDuration: the median of the deploys' engine update
//     durations as history records them (start to end of the update; the
//     tool's own wait for ECS after it is not in history).
//   - Lead time for changes: for each deploy of a SHA by up or promote
//     (message "deploy <sha>" or "promote <sha> from <stack>") that really
//     ran and recorded its commit's time (slipway:commitTime, which CD
//     passes with --commit-time), from
//     that time to the end of the deploy's update; MedianLeadTime of them,
//     LeadTimes counts them (rollbacks and reconciles are no changes).
//
// A median of an even count is the mean of the middle two.
type DeliveryMetrics struct {
	Since, Until         time.Time
	Deploys              int
	RolledBackByECS      int
	DeploysPerDay        float64
	FailedChanges        int
	ChangeFailureRate    float64
	Restored             int
	Unrestored           int
	MedianTimeToRestore  time.Duration
	LongestTimeToRestore time.Duration
	MedianDeployDuration time.Duration
	LeadTimes            int
	MedianLeadTime       time.Duration
	Failures             []FailedChange
}

// FailedChange is one failed change of DeliveryMetrics.
type FailedChange struct {
	Version  int
	SHA      string
	Start    time.Time
	By       string    // "ecs": ECS rolled it back; "rollback": a rollback replaced it
	Restored time.Time // end of the next deploy that really ran; zero when none did yet
}

// TimeToRestore is the time from the failed change's start to its
// restore, 0 while unrestored.
func (f FailedChange) TimeToRestore() time.Duration {
	if f.Restored.IsZero() {
		return 0
	}
	return f.Restored.Sub(f.Start)
}

// Metrics computes the delivery metrics of the updates that started from
// since to now. updates are a stack's history newest first, as read
// (Window reads them): at least every update since since, so that the
// ledger sees each marker and reconcile before the deploy it is about.
func Metrics(updates []Update, since, now time.Time) DeliveryMetrics {
	m := DeliveryMetrics{Since: since, Until: now, Failures: []FailedChange{}}
	type deployed struct {
		u   Update
		ran bool
	}
	l := newLedger()
	var deploys []deployed // oldest first once reversed
	for _, u := range updates {
		ran := l.add(u)
		if u.Deployed() && claim(u).Kind != contract.Rejected {
			deploys = append(deploys, deployed{u, ran})
		}
	}
	slices.Reverse(deploys)
	var durations, restores, leads []time.Duration
	for i, d := range deploys {
		if d.u.Start.Before(since) || d.u.Start.After(now) {
			continue
		}
		m.Deploys++
		durations = append(durations, d.u.Duration())
		if d.ran && !d.u.CommitTime.IsZero() && !d.u.End.IsZero() && (claim(d.u).Kind == contract.Deploy || claim(d.u).Kind == contract.Promote) {
			leads = append(leads, d.u.End.Sub(d.u.CommitTime))
		}
		next := slices.IndexFunc(deploys[i+1:], func(n deployed) bool { return n.ran })
		f := FailedChange{Version: d.u.Version, SHA: d.u.ImageTag, Start: d.u.Start}
		switch {
		case !d.ran:
			m.RolledBackByECS++
			f.By = "ecs"
		case next >= 0 && claim(deploys[i+1+next].u).Kind == contract.Rollback:
			f.By = "rollback"
		default:
			continue
		}
		if next >= 0 {
			f.Restored = deploys[i+1+next].u.End
			restores = append(restores, f.TimeToRestore())
		}
		m.Failures = append(m.Failures, f)
	}
	m.FailedChanges = len(m.Failures)
	m.Restored, m.Unrestored = len(restores), m.FailedChanges-len(restores)
	if days := now.Sub(since).Hours() / 24; days > 0 {
		m.DeploysPerDay = float64(m.Deploys) / days
	}
	if m.Deploys > 0 {
		m.ChangeFailureRate = float64(m.FailedChanges) / float64(m.Deploys)
	}
	m.MedianTimeToRestore, m.MedianDeployDuration = median(restores), median(durations)
	m.LeadTimes, m.MedianLeadTime = len(leads), median(leads)
	if len(restores) > 0 {
		m.LongestTimeToRestore = slices.Max(restores)
	}
	return m
}

// median is the middle of ds (the mean of the middle two of an even
// count), 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// Window is src's updates newest first, down to the first that started
// before since: it reads no page further.
func Window(ctx context.Context, src HistorySource, since time.Time) ([]Update, error) {
	var out []Update
	for u, err := range updates(ctx, src, deepPage) {
		if err != nil {
			return nil, err
		}
		if u.Start.Before(since) {
			break
		}
		out = append(out, u)
	}
	return out, nil
}
