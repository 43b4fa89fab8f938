package contract

import (
	"errors"
	"fmt"
	"regexp"
)

// MessageKind is what an update the deploy tool ran did; the tool writes
// it to the stack's history as the update's message.
type MessageKind string

// The kinds of update message, with their text. A rollback names the SHA
// it left and a reconcile the SHA ECS rolled back, so that history alone
// tells which deploys really ran. These texts are in existing stacks'
// histories: changing one changes what those histories mean.
const (
	// Deploy: "deploy <sha>", a deploy of a new SHA by up.
	Deploy MessageKind = "deploy"
	// Rollback: "rollback to <sha> from <from>".
	Rollback MessageKind = "rollback"
	// Reconcile: "reconcile to <sha> after ECS rolled back <from>": the
	// stack put back in step with what ECS went back to.
	Reconcile MessageKind = "reconcile"
	// Rejected: "ECS rolled back <sha>", an update that changes nothing,
	// recorded before a reconcile, so that history knows even when the
	// reconcile cannot run.
	Rejected MessageKind = "rejected"
	// Promote: "promote <sha> from <stack>", a deploy of a SHA the stack
	// <stack> (Source) verifiably ran, by promote: a first-hand deploy of
	// the SHA, like Deploy.
	Promote MessageKind = "promote"
)

// Message is one update message of the grammar above. SHA is the image
// the update ran with (the target of a rollback or reconcile); From is
// the SHA a rollback left or the SHA ECS rolled back before a reconcile;
// Source is the stack a promotion took the SHA from.
type Message struct {
	Kind   MessageKind
	SHA    string
	From   string
	Source string
}

// ErrUnknownMessage is wrapped by ParseMessage for text that is none of
// the tool's messages (an update run by hand with its own message).
var ErrUnknownMessage = errors.New("not a message of the deploy tool")

const (
	sha = `([0-9a-f]{40})`
	// stackName is a Pulumi stack name, as the config's stack names are
	// checked (stackPattern).
	stackName = `([A-Za-z0-9_.-]{1,100})`
)

// messagePatterns are the messages' grammar. The second group, when
// there is one, is From, or Source for a promotion.
var messagePatterns = []struct {
	kind MessageKind
	re   *regexp.Regexp
}{
	{Deploy, regexp.MustCompile(`^deploy ` + sha + `$`)},
	{Rollback, regexp.MustCompile(`^rollback to ` + sha + ` from ` + sha + `$`)},
	{Reconcile, regexp.MustCompile(`^reconcile to ` + sha + ` after ECS rolled back ` + sha + `$`)},
	{Rejected, regexp.MustCompile(`^ECS rolled back ` + sha + `$`)},
	{Promote, regexp.MustCompile(`^promote ` + sha + ` from ` + stackName + `$`)},
}

// String is the message's text.
func (m Message) String() string {
	switch m.Kind {
	case Deploy:
		return "deploy " + m.SHA
	case Rollback:
		return "rollback to " + m.SHA + " from " + m.From
	case Reconcile:
		return "reconcile to " + m.SHA + " after ECS rolled back " + m.From
	case Rejected:
		return "ECS rolled back " + m.SHA
	case Promote:
		return "promote " + m.SHA + " from " + m.Source
	}
	return fmt.Sprintf("unknown message kind %q", string(m.Kind))
}

// ParseMessage reads a message the tool wrote. Text of any other shape is
// an error wrapping ErrUnknownMessage, never a guess.
func ParseMessage(text string) (Message, error) {
	for _, p := range messagePatterns {
		m := p.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		msg := Message{Kind: p.kind, SHA: m[1]}
		switch {
		case len(m) > 2 && p.kind == Promote:
			msg.Source = m[2]
		case len(m) > 2:
			msg.From = m[2]
		}
		return msg, nil
	}
	return Message{}, fmt.Errorf("%w: %q", ErrUnknownMessage, text)
}

// DeployMessage is the message of a deploy of sha.
func DeployMessage(sha string) Message { return Message{Kind: Deploy, SHA: sha} }

// RollbackMessage is the message of a rollback to target from from.
func RollbackMessage(target, from string) Message {
	return Message{Kind: Rollback, SHA: target, From: from}
}

// ReconcileMessage is the message of a reconcile to good after ECS rolled
// back bad.
func ReconcileMessage(good, bad string) Message {
	return Message{Kind: Reconcile, SHA: good, From: bad}
}

// RejectedMessage is the marker that ECS rolled back the deploy of sha.
func RejectedMessage(sha string) Message { return Message{Kind: Rejected, SHA: sha} }

// PromoteMessage is the message of a promotion of sha, which the stack
// from verifiably ran.
func PromoteMessage(sha, from string) Message { return Message{Kind: Promote, SHA: sha, Source: from} }
