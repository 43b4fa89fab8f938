package deploy

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
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

// CurrentSHA is the image SHA of the newest successful deploy: what runs.
func CurrentSHA(history []Update) (string, error) {
	for _, u := range history {
		if u.Deployed() {
			return u.ImageTag, nil
		}
	}
	return "", ErrNeverDeployed
}

// Update messages. A rollback and a reconcile name the SHA they moved away
// from, so that a later rollback never returns to it.
func DeployMessage(sha string) string            { return "deploy " + sha }
func RollbackMessage(target, from string) string { return "rollback to " + target + " from " + from }
func ReconcileMessage(good, bad string) string {
	return "reconcile to " + good + " after ECS rolled back " + bad
}

var (
	rollbackPattern  = regexp.MustCompile(`^rollback to [0-9a-f]{40} from ([0-9a-f]{40})$`)
	reconcilePattern = regexp.MustCompile(`^reconcile to [0-9a-f]{40} after ECS rolled back ([0-9a-f]{40})$`)
)

// goodDeploys are the successful deploys, newest first, without those ECS
// rolled back: the engine recorded them as succeeded, but the reconcile
// that followed each says ECS never ran it.
func goodDeploys(history []Update) []Update {
	var out []Update
	rejected := map[string]bool{} // reconciled away; the deploy is older
	for _, u := range history {
		if !u.Deployed() {
			continue
		}
		if rejected[u.ImageTag] {
			delete(rejected, u.ImageTag)
			continue
		}
		if m := reconcilePattern.FindStringSubmatch(u.Message); m != nil {
			rejected[m[1]] = true
		}
		out = append(out, u)
	}
	return out
}

// RollbackTarget picks what a rollback deploys, from history (newest
// first). Without to: the newest good deploy before the current one whose
// SHA is neither the current SHA nor one a rollback moved away from
// (failed updates, deploys ECS rolled back and re-deploys of the same SHA
// are skipped, and rolling back twice goes further back, never forward to
// the abandoned version). With to: that SHA, which must have been deployed
// and run successfully before and must not be the current one.
func RollbackTarget(history []Update, to string) (current, target string, err error) {
	current, err = CurrentSHA(history)
	if err != nil {
		return "", "", err
	}
	good := goodDeploys(history)
	if to != "" {
		if to == current {
			return current, "", fmt.Errorf("%s is already the deployed SHA: nothing to roll back to", to)
		}
		for _, u := range good {
			if u.ImageTag == to {
				return current, to, nil
			}
		}
		return current, "", fmt.Errorf("%s was never deployed successfully on this stack (or ECS rolled it back); pick one from `deploy history` (rollback only goes to a known-good SHA; use up --sha for a new one)", to)
	}
	abandoned := map[string]bool{current: true}
	for _, u := range good {
		if m := rollbackPattern.FindStringSubmatch(u.Message); m != nil {
			abandoned[m[1]] = true
		}
		if !abandoned[u.ImageTag] {
			return current, u.ImageTag, nil
		}
	}
	return current, "", fmt.Errorf("no earlier successful deploy to roll back to from %s (see deploy history; use rollback --to SHA or up --sha)", current)
}
