package contract

import (
	"errors"
	"strings"
	"testing"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// The texts existing stacks hold keep their meaning, and every message
// survives String then ParseMessage.
func TestMessageRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		msg  Message
		text string
	}{
		{DeployMessage(shaA), "deploy " + shaA},
		{RollbackMessage(shaA, shaB), "rollback to " + shaA + " from " + shaB},
		{ReconcileMessage(shaA, shaB), "reconcile to " + shaA + " after ECS rolled back " + shaB},
		{RejectedMessage(shaB), "ECS rolled back " + shaB},
		{PromoteMessage(shaA, "staging"), "promote " + shaA + " from staging"},
		{PromoteMessage(shaA, "Pre_prod.2-eu"), "promote " + shaA + " from Pre_prod.2-eu"},
		{PromoteMessage(shaA, strings.Repeat("s", 100)), "promote " + shaA + " from " + strings.Repeat("s", 100)},
	} {
		t.Run(string(tc.msg.Kind)+" "+tc.msg.Source, func(t *testing.T) {
			if got := tc.msg.String(); got != tc.text {
				t.Errorf("String() = %q, want %q", got, tc.text)
			}
			got, err := ParseMessage(tc.text)
			if err != nil || got != tc.msg {
				t.Errorf("ParseMessage(%q) = %+v, %v; want %+v", tc.text, got, err, tc.msg)
			}
		})
	}
}

// Text of another shape is reported, not guessed.
func TestParseMessageUnknown(t *testing.T) {
	for _, text := range []string{
		"",
		"deploy " + shaA[:39],
		"deploy " + strings.ToUpper(shaA),
		"deploy " + shaA + " ",
		" deploy " + shaA,
		"deploy " + shaA + "\n::set-output name=x::y",
		"rollback to " + shaA,
		"rollback to " + shaA + " from " + shaB + " and more",
		"reconcile to " + shaA + " after ECS rolled back",
		"ECS rolled back",
		"Merge pull request #12 from acme/feature",
		"promote " + shaA,
		"promote " + shaA + " from ",
		"promote " + shaA + " from staging prod",
		"promote " + shaA + " from acme/staging",
		"promote " + shaA + " from " + strings.Repeat("s", 101),
		"promote " + shaA[:39] + " from staging",
		"promote " + shaA + " from staging\n::set-output name=x::y",
	} {
		if m, err := ParseMessage(text); !errors.Is(err, ErrUnknownMessage) {
			t.Errorf("ParseMessage(%q) = %+v, %v; want ErrUnknownMessage", text, m, err)
		}
	}
}

// A promotion's message names the stack it came from in Source, and a
// rollback's or reconcile's From stays a SHA: the two never mix.
func TestPromoteMessageFields(t *testing.T) {
	got, err := ParseMessage("promote " + shaA + " from staging")
	if want := (Message{Kind: Promote, SHA: shaA, Source: "staging"}); err != nil || got != want {
		t.Errorf("ParseMessage = %+v, %v; want %+v", got, err, want)
	}
	got, err = ParseMessage("rollback to " + shaA + " from " + shaB)
	if want := (Message{Kind: Rollback, SHA: shaA, From: shaB}); err != nil || got != want {
		t.Errorf("ParseMessage = %+v, %v; want %+v", got, err, want)
	}
}
