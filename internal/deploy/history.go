package deploy

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Update is one entry of the stack's history.
type Update struct {
	Version    int
	Kind       string // update, preview, refresh, destroy, ...
	Result     string // succeeded, failed, in-progress
	Start      time.Time
	End        time.Time // zero while in progress
	Message    string
	ImageTag   string    // the image SHA the update ran with
	CommitTime time.Time // when the deployed commit was made, when the deploy recorded it
}

// Duration is how long the update ran (0 while in progress).
func (u Update) Duration() time.Duration {
	if u.End.IsZero() {
		return 0
	}
	return u.End.Sub(u.Start)
}

// Deployed reports whether the update is a successful deploy: a
// succeeded update whose image tag is a full SHA (contract.ValidateSHA).
func (u Update) Deployed() bool {
	return u.Kind == "update" && u.Result == "succeeded" && contract.ValidateSHA(u.ImageTag) == nil
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

// HistorySource is a stack's history read a page at a time, newest
// first, as `pulumi stack history --page-size --page` pages it: page p
// holds updates (p-1)*pageSize to p*pageSize-1 counted from the newest
// (0), and a page shorter than pageSize is the last. The self-managed
// backends (file://, s3://) serve a page of any size whole (measured up
// to 1000); a backend that capped it would end the history early.
type HistorySource interface {
	HistoryPage(ctx context.Context, pageSize, page int) ([]Update, error)
}

// First page sizes (see updates for the pages after the first). On the
// file:// backend every page is one CLI process that lists the whole
// history folder and reads the page's files: the process and the listing
// cost about what the raw `pulumi stack history --json` (a default page of
// 10) costs, and each update read adds a little. Measured on a stack of
// 1000 updates (BenchmarkPageSize; 1 is the raw CLI on the same stack):
// one page of 10, 50 or 100 costs 1.0 to 1.08, 200 about 1.15, 300 about
// 1.2, 500 about 1.34, 1000 about 1.65.
const (
	// nearPage is for the questions answered near the top of history (the
	// running SHA, the default rollback target): ten times the reach of the
	// CLI's default page of 10 for the same cost.
	nearPage = 100
	// deepPage is for reading far (a --to SHA, which may be hundreds of
	// updates back, or the whole history): a --to within 300 updates is
	// one process, within 1.5 times the raw CLI.
	deepPage = 300
)

// HistoryPage is one page of the stack's updates, newest first. It asks
// the CLI for no secrets: the image tag is plain config, and showing
// secrets makes the CLI set up the secrets manager for nothing.
func (s *Session) HistoryPage(ctx context.Context, pageSize, page int) ([]Update, error) {
	hist, err := s.stack.History(ctx, pageSize, page, opthistory.ShowSecrets(false))
	if err != nil {
		return nil, err
	}
	return toUpdates(hist, s.o.ImageTagKey), nil
}

// toUpdates reads the CLI's history entries, with the image tag under
// imageTagKey.
func toUpdates(hist []auto.UpdateSummary, imageTagKey string) []Update {
	out := make([]Update, 0, len(hist))
	for _, h := range hist {
		u := Update{Version: h.Version, Kind: h.Kind, Result: h.Result, Start: parseTime(h.StartTime), Message: unquote(h.Message)}
		if h.EndTime != nil {
			u.End = parseTime(*h.EndTime)
		}
		if v, ok := h.Config[imageTagKey]; ok {
			u.ImageTag = v.Value
		}
		if v, ok := h.Config[contract.Project+":"+contract.KeyCommitTime]; ok {
			u.CommitTime, _ = time.Parse(time.RFC3339, v.Value)
		}
		out = append(out, u)
	}
	return out
}

// unquote undoes the quoting the Automation API gives --message.
func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// updates yields src's updates newest first, reading the next page only
// once the previous one is used up, and nothing more once the caller
// stops. The first page holds the newest first updates; each page after
// it holds as many as all the pages before it together (page 2 of a page
// size that doubles: [first, 2*first), [2*first, 4*first), ...), so every
// update is read once and reading d updates back takes about
// log2(d/first)+1 CLI processes, however long the history. A read error
// is yielded once, last.
func updates(ctx context.Context, src HistorySource, first int) iter.Seq2[Update, error] {
	return func(yield func(Update, error) bool) {
		for size, page := first, 1; ; {
			us, err := src.HistoryPage(ctx, size, page)
			if err != nil {
				yield(Update{}, fmt.Errorf("reading the stack's history (page %d of %d updates): %w", page, size, err))
				return
			}
			for _, u := range us {
				if !yield(u, nil) {
					return
				}
			}
			if len(us) < size {
				return
			}
			if page == 1 {
				page = 2
			} else {
				size *= 2
			}
		}
	}
}

// Recent is the newest limit updates of src (all of them for limit 0),
// newest first, as recorded: the caller prints them through Printable.
func Recent(ctx context.Context, src HistorySource, limit int) ([]Update, error) {
	pageSize := deepPage
	if limit > 0 && limit < pageSize {
		pageSize = limit
	}
	var out []Update
	for u, err := range updates(ctx, src, pageSize) {
		if err != nil {
			return nil, err
		}
		out = append(out, u)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// ErrNoTarget is wrapped by RollbackTarget's errors for a rollback that
// has no target: the --to SHA never ran, is the current one, or nothing
// older qualifies.
var ErrNoTarget = errors.New("no rollback target")

// ErrNeverDeployed is returned when the history holds no successful deploy.
var ErrNeverDeployed = errors.New("the stack has no successful deploy yet")

// Skipped are succeeded updates whose image tag is no full SHA (empty,
// short, uppercase, anything else written by hand): history counts them
// as no deploy, and their messages as nothing.
type Skipped []Update

// maxNamed is how many skipped updates Note names.
const maxNamed = 5

// Note is one printable line naming the skipped updates, "" for none.
func (s Skipped) Note() string {
	if len(s) == 0 {
		return ""
	}
	var names []string
	for _, u := range s[:min(len(s), maxNamed)] {
		version := ""
		if u.Version > 0 { // a file:// or s3:// backend numbers no updates
			version = fmt.Sprintf("version %d, ", u.Version)
		}
		names = append(names, fmt.Sprintf("%s (%simage tag %s)", u.Start.UTC().Format(time.RFC3339), version, quote(u.ImageTag)))
	}
	more := ""
	if len(s) > maxNamed {
		more = fmt.Sprintf(" and %d more", len(s)-maxNamed)
	}
	return fmt.Sprintf("history: %d succeeded update(s) ran with no valid image SHA and count as no deploy: started %s%s", len(s), strings.Join(names, ", "), more)
}

// ledger is the history, read newest first, for deploys that really ran.
type ledger struct {
	good     []Update        // successful deploys ECS did not roll back, newest first
	rejected map[string]bool // SHAs ECS rolled back in the updates read
	pending  map[string]bool // rolled back; the deploy is older than the updates read
	skipped  Skipped
}

func newLedger() *ledger {
	return &ledger{rejected: map[string]bool{}, pending: map[string]bool{}}
}

// claim is what u's message says, when it is the tool's message about
// the SHA u ran with; anything else (a message by hand, or one naming
// another SHA) is the zero Message, and so claims nothing.
func claim(u Update) contract.Message {
	m, err := contract.ParseMessage(u.Message)
	if err != nil || m.SHA != u.ImageTag {
		return contract.Message{}
	}
	return m
}

// add reads the next (older) update and reports whether it is a deploy
// that really ran; if so, it is appended to l.good. A rejection marker or
// a reconcile, whether it succeeded or not, says that ECS rolled back the
// deploy before it: the engine recorded that deploy as succeeded, but it
// never ran. A marker is no deploy itself. An update whose image tag is
// no full SHA is none of these (see Skipped).
func (l *ledger) add(u Update) bool {
	if u.Kind != "update" {
		return false
	}
	if contract.ValidateSHA(u.ImageTag) != nil {
		if u.Result == "succeeded" {
			l.skipped = append(l.skipped, u)
		}
		return false
	}
	switch m := claim(u); m.Kind {
	case contract.Rejected:
		l.pending[m.SHA], l.rejected[m.SHA] = true, true
		return false
	case contract.Reconcile:
		l.pending[m.From], l.rejected[m.From] = true, true
	}
	if !u.Deployed() {
		return false
	}
	if l.pending[u.ImageTag] {
		delete(l.pending, u.ImageTag)
		return false
	}
	l.good = append(l.good, u)
	return true
}

// Running is the image SHA of the newest deploy that really ran: what ECS
// runs now. It reads src only down to that deploy, and returns the
// skipped updates it read on the way.
func Running(ctx context.Context, src HistorySource) (string, Skipped, error) {
	l := newLedger()
	for u, err := range updates(ctx, src, nearPage) {
		if err != nil {
			return "", l.skipped, err
		}
		if l.add(u) {
			return u.ImageTag, l.skipped, nil
		}
	}
	return "", l.skipped, ErrNeverDeployed
}

// Precedent is what history says about deploying a SHA now.
type Precedent struct {
	Current string // the running SHA ("" when nothing ran yet)
	// Older: the SHA ran before and is not the current one, so deploying
	// it goes back in time: that is a rollback (rollback --to).
	Older bool
	// Rejected: ECS rolled back a deploy of the SHA, and it has not run
	// since.
	Rejected bool
	// Ran: a deploy of the SHA really ran (succeeded, and ECS did not roll
	// it back right after): the one Older and Rejected are about.
	Ran     bool
	Skipped Skipped
}

// PrecedentOf reads src newest first until it finds sha's last deploy
// that really ran, and reports whether deploying sha now goes back in time
// or redeploys a SHA ECS rejected. For a SHA that never ran it reads to
// the end, or, with a non-zero notBefore, to the first update that
// started before it: a SHA cannot have been deployed, nor rolled back,
// before its commit was made (Deployer.guarded passes the commit's time
// less commitSkew).
func PrecedentOf(ctx context.Context, src HistorySource, sha string, notBefore time.Time) (Precedent, error) {
	l := newLedger()
	var p Precedent
	for u, err := range updates(ctx, src, deepPage) {
		if err != nil {
			p.Skipped = l.skipped
			return p, err
		}
		if !notBefore.IsZero() && !u.Start.IsZero() && u.Start.Before(notBefore) && p.Current != "" {
			break
		}
		if !l.add(u) {
			continue
		}
		if p.Current == "" {
			p.Current = u.ImageTag
		}
		if u.ImageTag == sha {
			p.Ran = true
			p.Older = sha != p.Current
			p.Rejected, p.Skipped = l.rejected[sha], l.skipped
			return p, nil
		}
	}
	p.Rejected, p.Skipped = l.rejected[sha], l.skipped
	return p, nil
}

// original reports whether u is a first-hand deploy of its SHA (by up or
// pulumi up), not a rollback or reconcile going back to it.
func original(u Update) bool {
	m := claim(u)
	return m.Kind != contract.Rollback && m.Kind != contract.Reconcile
}

// eraStart is the index in good (newest first, good[0] running current)
// of the first entry older than current's era: the stretch of history
// since current's first-hand deploy that the running version goes back
// to. Entries of current on top (re-deploys, rollbacks and reconciles to
// it) are part of it; when the oldest of them went back to current (a
// rollback or reconcile), the era goes on down to current's next
// first-hand deploy, so that a re-deploy after a rollback does not make
// the next rollback go forward to what the rollback left. A result below
// len(good) is final: older deploys do not change it.
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

// Rollback is what RollbackTarget found.
type Rollback struct {
	Current string // the running SHA ("" when never deployed)
	Target  string // the SHA to deploy
	// CurrentUpdate is how long the current SHA's engine update took: an
	// update of the stack's service, as a reconcile would be.
	CurrentUpdate time.Duration
	Skipped       Skipped // the skipped updates read
}

// RollbackTarget picks what a rollback deploys, reading src newest first
// only as far as the answer. Without to: the newest deploy that really
// ran, older than the current SHA's era (see eraStart), whose SHA is not
// the current one and that ECS did not roll back since (a rejection
// marker or reconcile newer than that deploy). So failed updates,
// re-deploys of the same SHA and rejected SHAs are skipped, and rolling
// back twice, even with a re-deploy in between, goes further back in
// time, never forward. With to: a SHA that really ran before and is not
// the current one. Errors wrap ErrNeverDeployed when nothing ran.
func RollbackTarget(ctx context.Context, src HistorySource, to string) (Rollback, error) {
	pageSize := nearPage
	if to != "" {
		pageSize = deepPage
	}
	l := newLedger()
	var r Rollback
	for u, err := range updates(ctx, src, pageSize) {
		if err != nil {
			r.Skipped = l.skipped
			return r, err
		}
		if !l.add(u) {
			continue
		}
		if r.Current == "" {
			r.Current, r.CurrentUpdate = u.ImageTag, u.Duration()
			if to == r.Current {
				r.Skipped = l.skipped
				return r, fmt.Errorf("%w: %s is already the deployed SHA: nothing to roll back to", ErrNoTarget, to)
			}
		}
		if to != "" {
			if u.ImageTag == to {
				r.Target = to
			}
		} else if eraStart(l.good, r.Current) < len(l.good) && u.ImageTag != r.Current && !l.rejected[u.ImageTag] {
			// The era is known and u, the deploy just read, is older than
			// it: the first such deploy that qualifies is the target.
			r.Target = u.ImageTag
		}
		if r.Target != "" {
			r.Skipped = l.skipped
			return r, nil
		}
	}
	r.Skipped = l.skipped
	switch {
	case r.Current == "":
		return r, ErrNeverDeployed
	case to != "":
		return r, fmt.Errorf("%w: %s never ran successfully on this stack (never deployed, its deploy failed, or ECS rolled it back); pick one from `deploy history` (rollback only goes to a known-good SHA; use up --sha for a new one)", ErrNoTarget, to)
	}
	return r, fmt.Errorf("%w: no deploy older than %s's to roll back to (see deploy history; use rollback --to SHA or up --sha)", ErrNoTarget, r.Current)
}

// Printable makes history text (a message, an image tag) safe to print
// to a terminal or a GitHub Actions log, wherever it lands in a line.
// Text with a control or other unprintable character or invalid UTF-8,
// text a runner could take as a workflow command (starting with "::"
// after leading space; the legacy "##[" anywhere), and text starting
// with a double quote come back as a Go string literal: those characters
// escaped and "##[" written "##\x5b". Any other text comes back as it is.
func Printable(s string) string {
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) >= 0 ||
		strings.HasPrefix(strings.TrimLeftFunc(s, unicode.IsSpace), "::") || strings.Contains(s, "##[") || strings.HasPrefix(s, `"`) {
		return quote(s)
	}
	return s
}

// quote is s as a Go string literal, with "##[" written "##\x5b".
func quote(s string) string {
	return strings.ReplaceAll(strconv.Quote(s), "##[", `##\x5b`)
}
