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
	} {
		t.Run(string(tc.msg.Kind), func(t *testing.T) {
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
	} {
		if m, err := ParseMessage(text); !errors.Is(err, ErrUnknownMessage) {
			t.Errorf("ParseMessage(%q) = %+v, %v; want ErrUnknownMessage", text, m, err)
		}
	}
}
