package deploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Update is one entry of the stack's history.
type Update struct {
	Version  int
	Kind     string // update, preview, refresh, destroy, ...
	Result   string // succeeded, failed, in-progress
	Start    time.Time
	End      time.Time // zero while in progress
	Message  string
	ImageTag string // the image SHA the update ran with
}

// Duration is how long the update ran (0 while in progress).
func (u Update) Duration() time.Duration {
	if u.End.IsZero() {
		return 0
	}
	return u.End.Sub(u.Start)
}

// Deployed reports whether the update is a successful deploy.
func (u Update) Deployed() bool {
	return u.Kind == "update" && u.Result == "succeeded" && u.ImageTag != ""
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z", "2006-01-02 15:04:05 -0700 MST"}

func parseTime(s string) time.Time {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// History returns the stack's updates, newest first.
func (s *Session) History(ctx context.Context) ([]Update, error) {
	hist, err := s.stack.History(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Update, 0, len(hist))
	for _, h := range hist {
		u := Update{Version: h.Version, Kind: h.Kind, Result: h.Result, Start: parseTime(h.StartTime), Message: unquote(h.Message)}
		if h.EndTime != nil {
			u.End = parseTime(*h.EndTime)
		}
		if v, ok := h.Config[s.o.ImageTagKey]; ok {
			u.ImageTag = v.Value
		}
		out = append(out, u)
	}
	return out, nil
}

// unquote undoes the quoting the Automation API gives --message.
func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// ErrNeverDeployed is returned when the history holds no successful deploy.
var ErrNeverDeployed = errors.New("the stack has no successful deploy yet")

// ledger is the history read for deploys that really ran.
type ledger struct {
	good     []Update        // successful deploys ECS did not roll back, newest first
	rejected map[string]bool // SHAs ECS rolled back at least once
}

// read classifies history (newest first). A rejection marker or a
// reconcile, whether it succeeded or not, says that ECS rolled back the
// deploy before it: the engine recorded that deploy as succeeded, but it
// never ran. A marker is no deploy itself.
func read(history []Update) ledger {
	l := ledger{rejected: map[string]bool{}}
	pending := map[string]bool{} // rolled back; its deploy is older
	for _, u := range history {
		if u.Kind != "update" {
			continue
		}
		m, _ := contract.ParseMessage(u.Message)
		switch m.Kind {
		case contract.Rejected:
			pending[m.SHA], l.rejected[m.SHA] = true, true
			continue
		case contract.Reconcile:
			pending[m.From], l.rejected[m.From] = true, true
		}
		if !u.Deployed() {
			continue
		}
		if pending[u.ImageTag] {
			delete(pending, u.ImageTag)
			continue
		}
		l.good = append(l.good, u)
	}
	return l
}

// CurrentSHA is the image SHA of the newest deploy that really ran: what
// ECS runs now.
func CurrentSHA(history []Update) (string, error) {
	if good := read(history).good; len(good) > 0 {
		return good[0].ImageTag, nil
	}
	return "", ErrNeverDeployed
}

// original reports whether u is a first-hand deploy of its SHA (by up or
// pulumi up), not a rollback or reconcile going back to it.
func original(u Update) bool {
	m, _ := contract.ParseMessage(u.Message)
	return m.Kind != contract.Rollback && m.Kind != contract.Reconcile
}

// eraStart is the index in good (newest first, good[0] running current)
// of the first entry older than current's era: the stretch of history
// since current's first-hand deploy that the running version goes back
// to. Entries of current on top (re-deploys, rollbacks and reconciles to
// it) are part of it; when the oldest of them went back to current (a
// rollback or reconcile), the era goes on down to current's next
// first-hand deploy, so that a re-deploy after a rollback does not make
// the next rollback go forward to what the rollback left.
func eraStart(good []Update, current string) int {
	i := 0
	for {
		wentBack := false
		for i < len(good) && good[i].ImageTag == current {
			wentBack = !original(good[i])
			i++
		}
		if !wentBack {
			return i
		}
		for i < len(good) && (good[i].ImageTag != current || !original(good[i])) {
			i++
		}
	}
}

// RollbackTarget picks what a rollback deploys, from history (newest
// first). Without to: the newest deploy that really ran, older than the
// current SHA's era (see eraStart), whose SHA is not the current one and
// was never rolled back by ECS. So failed updates, re-deploys of the same
// SHA and rejected SHAs are skipped, and rolling back twice, even with a
// re-deploy in between, goes further back in time, never forward. With to: a SHA that really ran before and
// is not the current one.
func RollbackTarget(history []Update, to string) (current, target string, err error) {
	l := read(history)
	if len(l.good) == 0 {
		return "", "", ErrNeverDeployed
	}
	current = l.good[0].ImageTag
	if to != "" {
		if to == current {
			return current, "", fmt.Errorf("%s is already the deployed SHA: nothing to roll back to", to)
		}
		for _, u := range l.good {
			if u.ImageTag == to {
				return current, to, nil
			}
		}
		return current, "", fmt.Errorf("%s never ran successfully on this stack (never deployed, its deploy failed, or ECS rolled it back); pick one from `deploy history` (rollback only goes to a known-good SHA; use up --sha for a new one)", to)
	}
	for _, u := range l.good[eraStart(l.good, current):] {
		if u.ImageTag != current && !l.rejected[u.ImageTag] {
			return current, u.ImageTag, nil
		}
	}
	return current, "", fmt.Errorf("no deploy older than %s's to roll back to (see deploy history; use rollback --to SHA or up --sha)", current)
}
