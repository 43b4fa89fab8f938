package ghcomment

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const mark = "<!-- slipway-preview -->"

// section is a section as UpsertSection writes it, spelled out here.
func section(name, body string) string {
	return "<!-- section:" + name + " -->\n" + body + "\n<!-- /section:" + name + " -->\n"
}

// newFake serves a PR whose comments are filler (more than a page of
// them), then those given, oldest first.
func newFake(t *testing.T, fillers int, comments ...[2]string) (*fakeGitHub, *Client) {
	t.Helper()
	f := &fakeGitHub{comments: map[int64]string{}, authors: map[int64]string{}}
	for range fillers {
		f.next++
		f.comments[f.next] = fmt.Sprintf("review comment %d", f.next)
		f.authors[f.next] = "reviewer"
	}
	for _, c := range comments { // author, body
		f.next++
		f.comments[f.next] = c[1]
		if c[0] != ActionsBot {
			f.authors[f.next] = c[0]
		}
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, &Client{BaseURL: srv.URL, Token: "tok", Repo: "o/r"}
}

// ours is the body of the one comment with the marker the Actions bot wrote.
func (f *fakeGitHub) ours(t *testing.T) (string, bool) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	var found []string
	for id, b := range f.comments {
		if strings.HasPrefix(b, mark) && f.authors[id] == "" {
			found = append(found, b)
		}
	}
	if len(found) > 1 {
		t.Fatalf("%d comments of ours, want at most 1:\n%s", len(found), strings.Join(found, "\n----\n"))
	}
	if len(found) == 0 {
		return "", false
	}
	return found[0], true
}

// TestUpsertSection runs the CI job's steps in order on one PR: staging's
// preview, then prod's, on each push.
func TestUpsertSection(t *testing.T) {
	const quoted = mark + "\n<!-- section:staging -->\nquoted by a person\n<!-- /section:staging -->\n"
	f, c := newFake(t, 120, [2]string{"octocat", quoted})
	ctx := context.Background()

	steps := []struct {
		name    string
		section string
		body    string
		create  bool
		want    Action
		writes  int    // POST and PATCH calls the step makes
		comment string // our comment after the step; "" for none
	}{
		{
			name: "no changes and no comment: nothing created", section: "staging", body: "### staging: no changes\n", create: false,
			want: Skipped, writes: 0, comment: "",
		},
		{
			name: "first section creates the comment", section: "staging", body: "### staging: 2 to change\n| update | a |\n", create: true,
			want: Created, writes: 1,
			comment: mark + "\n" + section("staging", "### staging: 2 to change\n| update | a |\n"),
		},
		{
			name: "second section appended, even with no changes", section: "prod", body: "### prod: no changes\n", create: false,
			want: Updated, writes: 1,
			comment: mark + "\n" + section("staging", "### staging: 2 to change\n| update | a |\n") + section("prod", "### prod: no changes\n"),
		},
		{
			name: "rewriting the first replaces only it", section: "staging", body: "### staging: 1 to change\n| delete | b |", create: true,
			want: Updated, writes: 1,
			comment: mark + "\n" + section("staging", "### staging: 1 to change\n| delete | b |\n") + section("prod", "### prod: no changes\n"),
		},
		{
			name: "rewriting the second replaces only it", section: "prod", body: "### prod: 3 to change\n", create: true,
			want: Updated, writes: 1,
			comment: mark + "\n" + section("staging", "### staging: 1 to change\n| delete | b |\n") + section("prod", "### prod: 3 to change\n"),
		},
		{
			name: "unchanged: no write", section: "staging", body: "### staging: 1 to change\n| delete | b |\n", create: true,
			want: Skipped, writes: 0,
			comment: mark + "\n" + section("staging", "### staging: 1 to change\n| delete | b |\n") + section("prod", "### prod: 3 to change\n"),
		},
		{
			name: "no changes now: written, not left stale", section: "prod", body: "### prod: no changes\n", create: false,
			want: Updated, writes: 1,
			comment: mark + "\n" + section("staging", "### staging: 1 to change\n| delete | b |\n") + section("prod", "### prod: no changes\n"),
		},
	}
	for _, s := range steps {
		before := len(f.writes())
		got, err := c.UpsertSection(ctx, 7, mark, s.section, s.body, s.create)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: %s, want %s", s.name, got, s.want)
		}
		if w := f.writes()[before:]; len(w) != s.writes {
			t.Errorf("%s: API writes %q, want %d", s.name, w, s.writes)
		}
		if body, _ := f.ours(t); body != s.comment {
			t.Errorf("%s: comment\n%q\nwant\n%q", s.name, body, s.comment)
		}
	}
	if f.comments[121] != quoted {
		t.Errorf("a person's comment with the marker was edited: %q", f.comments[121])
	}
	if n := len(f.comments); n != 122 {
		t.Errorf("%d comments, want the 121 others and ours", n)
	}
}

// TestUpsertSectionDamaged: a person edited our comment. Each case writes
// one section, then writes it again (which must change nothing).
func TestUpsertSectionDamaged(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		section  string
		body     string
		want     string
	}{
		{
			name:     "opening marker without its closing one: the next section is untouched",
			existing: mark + "\n<!-- section:staging -->\nold staging\n" + section("prod", "old prod\n"),
			section:  "prod", body: "new prod\n",
			want: mark + "\n<!-- section:staging -->\nold staging\n" + section("prod", "new prod\n"),
		},
		{
			name:     "opening marker without its closing one: that section is replaced up to the next marker",
			existing: mark + "\n<!-- section:staging -->\nold staging\n" + section("prod", "old prod\n"),
			section:  "staging", body: "new staging\n",
			want: mark + "\n" + section("staging", "new staging\n") + section("prod", "old prod\n"),
		},
		{
			name:     "the last section's closing marker gone and no final newline: appended after it",
			existing: mark + "\n<!-- section:staging -->\nold staging",
			section:  "prod", body: "new prod\n",
			want: mark + "\n<!-- section:staging -->\nold staging\n" + section("prod", "new prod\n"),
		},
		{
			name:     "closing marker without its opening one: the section starts after the previous marker",
			existing: mark + "\nold staging\n<!-- /section:staging -->\n" + section("prod", "old prod\n"),
			section:  "staging", body: "new staging\n",
			want: mark + "\n" + section("staging", "new staging\n") + section("prod", "old prod\n"),
		},
		{
			name:     "both markers of a section gone: its text is kept, the section appended",
			existing: mark + "\nold staging\n" + section("prod", "old prod\n"),
			section:  "staging", body: "new staging\n",
			want: mark + "\nold staging\n" + section("prod", "old prod\n") + section("staging", "new staging\n"),
		},
		{
			name:     "edited in the web editor (CRLF), a note added: kept byte for byte",
			existing: mark + "\r\n<!-- section:staging -->\r\nold staging\r\n\r\n<!-- /section:staging -->\r\nLGTM, ship prod\r\n",
			section:  "prod", body: "new prod\n",
			want: mark + "\n<!-- section:staging -->\r\nold staging\r\n\r\n<!-- /section:staging -->\r\nLGTM, ship prod\r\n" + section("prod", "new prod\n"),
		},
		{
			name:     "edited in the web editor (CRLF): the section is found and replaced",
			existing: mark + "\r\n<!-- section:staging -->\r\nold staging\r\n\r\n<!-- /section:staging -->\r\n",
			section:  "staging", body: "new staging\n",
			want: mark + "\n" + section("staging", "new staging\n"),
		},
		{
			name:     "a closing marker of another section ends this one (its own is missing)",
			existing: mark + "\n<!-- section:staging -->\nold staging\n<!-- /section:prod -->\n",
			section:  "prod", body: "new prod\n",
			want: mark + "\n<!-- section:staging -->\nold staging\n" + section("prod", "new prod\n"),
		},
		{
			name:     "a section pasted twice: the copy dropped when the section is written",
			existing: mark + "\n" + section("staging", "old\n") + section("prod", "old prod\n") + section("staging", "old\n"),
			section:  "staging", body: "new\n",
			want: mark + "\n" + section("staging", "new\n") + section("prod", "old prod\n"),
		},
		{
			name:     "a marker quoted inside a line is text",
			existing: mark + "\n" + section("staging", "see `<!-- section:prod -->` here\n"),
			section:  "prod", body: "new prod\n",
			want: mark + "\n" + section("staging", "see `<!-- section:prod -->` here\n") + section("prod", "new prod\n"),
		},
		{
			name:     "the old one-comment-per-stack body: kept above the first section",
			existing: mark + "\n### old report\n",
			section:  "prod", body: "new prod\n",
			want: mark + "\n### old report\n" + section("prod", "new prod\n"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFake(t, 0, [2]string{ActionsBot, tc.existing})
			got, err := c.UpsertSection(context.Background(), 7, mark, tc.section, tc.body, false)
			if err != nil || got != Updated {
				t.Fatalf("UpsertSection = %s, %v; want %s", got, err, Updated)
			}
			if body, _ := f.ours(t); body != tc.want {
				t.Errorf("comment\n%q\nwant\n%q", body, tc.want)
			}
			before := len(f.writes())
			got, err = c.UpsertSection(context.Background(), 7, mark, tc.section, tc.body, false)
			if err != nil || got != Skipped || len(f.writes()) != before {
				t.Errorf("written again: %s, %v, writes %q; want %s and no write", got, err, f.writes()[before:], Skipped)
			}
		})
	}
}

func TestUpsertSectionTooLong(t *testing.T) {
	row := "| update | `aws:iam/role:Role` | `some-role` | tags |\n"
	staging := section("staging", strings.Repeat(row, 500)) // ~27,000 characters
	huge := strings.Repeat(row, 3000)                       // ~160,000
	tests := []struct {
		name     string
		existing []string
		section  string
		keep     string // must survive byte for byte
	}{
		{name: "alone in a new comment", section: "staging"},
		{name: "beside a long section: only the new one cut", existing: []string{mark + "\n" + staging}, section: "prod", keep: staging},
		{name: "replacing itself beside a long section", existing: []string{mark + "\n" + section("prod", "old\n") + staging}, section: "prod", keep: staging},
		{name: "multi-byte characters", existing: []string{mark + "\n" + strings.ReplaceAll(staging, "update", "ü…")}, section: "prod", keep: strings.ReplaceAll(staging, "update", "ü…")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pre [][2]string
			for _, b := range tc.existing {
				pre = append(pre, [2]string{ActionsBot, b})
			}
			f, c := newFake(t, 0, pre...)
			if _, err := c.UpsertSection(context.Background(), 7, mark, tc.section, huge, true); err != nil {
				t.Fatal(err)
			}
			body, _ := f.ours(t)
			if n := utf8.RuneCountInString(body); n > 65536 || len(body) > MaxBody {
				t.Errorf("comment of %d characters (%d bytes), want <= 65,536 (MaxBody %d bytes)", n, len(body), MaxBody)
			}
			if !strings.Contains(body, "the job log has the full preview.\n\n<!-- /section:"+tc.section+" -->\n") {
				t.Errorf("the section is not cut with the note:\n...%s", body[max(0, len(body)-300):])
			}
			if !strings.Contains(body, tc.keep) {
				t.Errorf("the other section was changed")
			}
		})
	}

	// A comment a little short of MaxBody: too little room left for prod's
	// markers and the note, or just enough for them.
	for _, gap := range []struct {
		chars int
		fits  bool
	}{{40, false}, {100, false}, {200, true}} {
		full := mark + "\n" + section("staging", strings.Repeat("x", MaxBody-gap.chars-len(mark+"\n"+section("staging", "\n")))+"\n")
		if len(full) != MaxBody-gap.chars {
			t.Fatalf("a full comment of %d characters, want %d", len(full), MaxBody-gap.chars)
		}
		f, c := newFake(t, 0, [2]string{ActionsBot, full})
		_, err := c.UpsertSection(context.Background(), 7, mark, "prod", huge, true)
		if !gap.fits {
			if err == nil || !strings.Contains(err.Error(), "no room for section \"prod\"") {
				t.Errorf("%d characters short: err %v, want no room said", gap.chars, err)
			}
			if f.comments[1] != full || len(f.writes()) != 0 {
				t.Errorf("%d characters short: a comment with no room was written: %q", gap.chars, f.writes())
			}
			continue
		}
		got := f.comments[1]
		if err != nil || !strings.HasPrefix(got, full) || !strings.HasSuffix(got, "the job log has the full preview.\n\n<!-- /section:prod -->\n") || len(got) > MaxBody {
			t.Errorf("%d characters short: err %v, %d characters ending\n%q\nwant staging's section, then prod's cut with the note, within %d", gap.chars, err, len(got), got[min(len(full), len(got)):], MaxBody)
		}
	}
}

func TestUpsertSectionBadInput(t *testing.T) {
	tests := []struct {
		section, body, want string
	}{
		{"prod -->", "x", `comment section "prod -->": want a name of letters`},
		{"", "x", `comment section "": want a name`},
		{"org/prod", "x", `comment section "org/prod": want a name`},
		{"prod", "x\n<!-- /section:prod -->\ny", `the body has a section marker line "<!-- /section:prod -->"`},
		{"prod", "x\n <!-- section:staging -->\r\ny", `the body has a section marker line "<!-- section:staging -->"`},
	}
	for _, tc := range tests {
		f, c := newFake(t, 0)
		_, err := c.UpsertSection(context.Background(), 7, mark, tc.section, tc.body, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("UpsertSection(%q, %q): err %v, want %q", tc.section, tc.body, err, tc.want)
		}
		if len(f.calls) != 0 {
			t.Errorf("UpsertSection(%q, %q): API calls %q, want none", tc.section, tc.body, f.calls)
		}
	}
	for _, ok := range []string{"prod", "staging", "eu-west-1.prod_2"} {
		f, c := newFake(t, 0)
		if _, err := c.UpsertSection(context.Background(), 7, mark, ok, "x\n", true); err != nil || !slices.Contains(f.writes(), "POST /repos/o/r/issues/7/comments") {
			t.Errorf("UpsertSection(%q): %v, writes %q; want the comment created", ok, err, f.writes())
		}
	}
}
