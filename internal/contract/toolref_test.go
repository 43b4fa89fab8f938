package contract

import (
	"strings"
	"testing"
)

const toolRef = "0123456789abcdef0123456789abcdef01234567"

func TestPinnedRef(t *testing.T) {
	cases := []struct {
		ref  string
		want bool
	}{
		{toolRef, true},
		{strings.Repeat("a", 40), true},
		{"", false},
		{"v1.2.3", false}, // a tag can be moved to other code
		{"1.2.3", false},
		{"refs/tags/v1.2.3", false},
		{"main", false},
		{"refs/heads/main", false},
		{toolRef[:7], false},                   // short SHA
		{toolRef + "0", false},                 // 41 hex
		{strings.ToUpper(toolRef), false},      // uppercase
		{strings.Repeat("g", 40), false},       // not hex
		{" " + toolRef, false},                 // padded
		{"refs/tags/" + toolRef, false},        // a tag named like a SHA
		{toolRef[:39] + "\n", false},           // newline
		{"v" + strings.Repeat("0", 39), false}, // 40 characters, not hex
	}
	for _, tc := range cases {
		if got := PinnedRef(tc.ref); got != tc.want {
			t.Errorf("PinnedRef(%q) = %v, want %v", tc.ref, got, tc.want)
		}
	}
}
