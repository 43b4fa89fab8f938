package ghcomment

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeGitHub serves the issue-comment endpoints of one repository as
// GitHub's REST API does (comments listed oldest first, 30 a page unless
// per_page asks for up to 100, the next page named in the Link header;
// bodies over 65,536 characters refused with 422), and GET /user as
// GitHub answers it for a workflow's installation token.
type fakeGitHub struct {
	mu       sync.Mutex
	comments map[int64]string
	authors  map[int64]string // login of each comment's author; ActionsBot when unset
	next     int64
	calls    []string
	user     string // GET /user's login; "" answers 403, as for an installation token
	// limited: the primary rate limit is used up, and GitHub answers 403
	// with x-ratelimit-remaining: 0 (docs.github.com, "Rate limits for the
	// REST API").
	limited bool
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	if r.Header.Get("Authorization") != "Bearer tok" {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	type user struct {
		Login string `json:"login"`
	}
	type comment struct {
		ID   int64  `json:"id"`
		Body string `json:"body"`
		User user   `json:"user"`
	}
	view := func(id int64) comment {
		login := f.authors[id]
		if login == "" {
			login = ActionsBot
		}
		return comment{ID: id, Body: f.comments[id], User: user{login}}
	}
	var in struct {
		Body *string `json:"body"`
	}
	readBody := func() bool {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil {
			http.Error(w, `{"message":"Invalid request."}`, http.StatusUnprocessableEntity)
			return false
		}
		if n := utf8.RuneCountInString(*in.Body); n > 65536 {
			http.Error(w, `{"message":"Validation Failed","errors":[{"resource":"IssueComment","code":"custom","field":"body","message":"body is too long (maximum is 65536 characters)"}]}`, http.StatusUnprocessableEntity)
			return false
		}
		return true
	}
	if f.limited {
		w.Header().Set("X-Ratelimit-Limit", "5000")
		w.Header().Set("X-Ratelimit-Remaining", "0")
		w.Header().Set("X-Ratelimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		http.Error(w, `{"message":"API rate limit exceeded for user ID 1."}`, http.StatusForbidden)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/user":
		if f.user == "" {
			http.Error(w, `{"message":"Resource not accessible by integration"}`, http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"login": f.user})
	case r.Method == http.MethodGet && r.URL.Path == "/repos/o/r/issues/7/comments":
		page, perPage := 1, 30
		if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 0 {
			page = p
		}
		if p, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && p > 0 {
			perPage = min(p, 100)
		}
		ids := slices.Sorted(maps.Keys(f.comments))
		out := []comment{}
		for i := (page - 1) * perPage; i < len(ids) && i < page*perPage; i++ {
			out = append(out, view(ids[i]))
		}
		if page*perPage < len(ids) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?page=%d&per_page=%d>; rel="next"`, r.Host, r.URL.Path, page+1, perPage))
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPost && r.URL.Path == "/repos/o/r/issues/7/comments":
		if !readBody() {
			return
		}
		f.next++
		f.comments[f.next] = *in.Body
		if f.user != "" {
			f.authors[f.next] = f.user
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(view(f.next))
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/o/r/issues/comments/"):
		id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/repos/o/r/issues/comments/"), 10, 64)
		if _, ok := f.comments[id]; err != nil || !ok {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		if !readBody() {
			return
		}
		f.comments[id] = *in.Body
		json.NewEncoder(w).Encode(view(id))
	default:
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}
}

// writes are the POST and PATCH calls the fake has served.
func (f *fakeGitHub) writes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var w []string
	for _, c := range f.calls {
		if !strings.HasPrefix(c, http.MethodGet) {
			w = append(w, c)
		}
	}
	return w
}

func TestUpsert(t *testing.T) {
	const marker = "<!-- slipway-preview:prod -->"
	f := &fakeGitHub{
		comments: map[int64]string{100: "someone else's comment", 101: marker + " quoted by a person", 102: marker + " written by another app"},
		authors:  map[int64]string{101: "octocat", 102: "other-app[bot]"},
		next:     102,
	}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, Token: "tok", Repo: "o/r"}
	ctx := context.Background()

	steps := []struct {
		name   string
		body   string
		create bool
		want   Action
	}{
		{"nothing to say, nothing said: no comment", "no changes", false, Skipped},
		{"changes: create", "2 to change", true, Created},
		{"same again: untouched", "2 to change", true, Skipped},
		{"new changes: update in place", "3 to change", true, Updated},
		{"no changes now: still updated, not left stale", "no changes", false, Updated},
	}
	for _, s := range steps {
		got, err := c.Upsert(ctx, 7, marker, s.body, s.create)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got != s.want {
			t.Errorf("%s: %s, want %s", s.name, got, s.want)
		}
	}
	ours := 0
	for id, b := range f.comments {
		if strings.HasPrefix(b, marker) && f.authors[id] == "" {
			ours++
			if !strings.Contains(b, "no changes") {
				t.Errorf("comment body %q, want the latest report", b)
			}
		}
	}
	if ours != 1 || len(f.comments) != 4 {
		t.Errorf("%d slipway comments among %d, want exactly 1 beside the three others", ours, len(f.comments))
	}
	if f.comments[101] != marker+" quoted by a person" || f.comments[102] != marker+" written by another app" {
		t.Errorf("a comment another identity wrote was edited: %q, %q", f.comments[101], f.comments[102])
	}

	// With a personal token, the token's user is the identity: the Actions
	// bot's comment is not that user's to edit, so a new one is made.
	f.user = "release-bot"
	if got, err := c.Upsert(ctx, 7, marker, "4 to change", true); err != nil || got != Created {
		t.Errorf("with a user token: %s, %v; want a comment of its own", got, err)
	}
	if got, err := c.Upsert(ctx, 7, marker, "5 to change", true); err != nil || got != Updated {
		t.Errorf("with a user token again: %s, %v; want its own comment updated", got, err)
	}

	// A rate-limited 403 is no installation token: an error, not a second
	// comment as the Actions bot.
	f.limited = true
	before := len(f.comments)
	if got, err := c.Upsert(ctx, 7, marker, "6 to change", true); err == nil || !strings.Contains(err.Error(), "who is the token") || !strings.Contains(err.Error(), "rate limit") || len(f.comments) != before {
		t.Errorf("rate-limited: %s, %v, %d comments (was %d); want the rate limit named and nothing written", got, err, len(f.comments), before)
	}
	f.limited = false

	bad := &Client{BaseURL: srv.URL, Token: "wrong", Repo: "o/r"}
	if _, err := bad.Upsert(ctx, 7, marker, "x", true); err == nil || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Errorf("bad token: err %v, want the 401 named", err)
	}
	if _, err := (&Client{}).Upsert(ctx, 7, marker, "x", true); err == nil || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("no token: err %v, want a message naming GITHUB_TOKEN", err)
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("| update | aws:iam/role:Role | some-role |\n", 5000)
	got := Truncate(long, MaxBody)
	if len(got) > MaxBody {
		t.Errorf("len %d, want <= %d", len(got), MaxBody)
	}
	if !strings.HasSuffix(got, "the job log has the full preview.") {
		t.Errorf("truncated body does not say so: ...%s", got[len(got)-80:])
	}
	if short, got := "a\nb", Truncate("a\nb", MaxBody); got != short {
		t.Errorf("Truncate(%q) = %q, want it unchanged", short, got)
	}
}
