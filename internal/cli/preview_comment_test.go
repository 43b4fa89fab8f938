package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// prComments is GitHub's REST API for one PR's comments, as a workflow's
// installation token sees it: GET /user is 403, comments list oldest
// first (30 a page, per_page up to 100, next page in the Link header),
// POST creates one by github-actions[bot], PATCH edits one.
type prComments struct {
	mu     sync.Mutex
	bodies []string // by id - 1
	writes []string
}

func (g *prComments) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	type comment struct {
		ID   int               `json:"id"`
		Body string            `json:"body"`
		User map[string]string `json:"user"`
	}
	view := func(id int) comment {
		return comment{ID: id, Body: g.bodies[id-1], User: map[string]string{"login": "github-actions[bot]"}}
	}
	var in struct{ Body *string }
	decode := func() bool {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Body == nil || len([]rune(*in.Body)) > 65536 {
			http.Error(w, `{"message":"Validation Failed"}`, http.StatusUnprocessableEntity)
			return false
		}
		return true
	}
	const list = "/repos/acme/api/issues/7/comments"
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/user":
		http.Error(w, `{"message":"Resource not accessible by integration"}`, http.StatusForbidden)
	case r.Method == http.MethodGet && r.URL.Path == list:
		page, per := 1, 30
		if n, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && n > 0 {
			page = n
		}
		if n, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && n > 0 {
			per = min(n, 100)
		}
		out := []comment{}
		for id := (page-1)*per + 1; id <= len(g.bodies) && id <= page*per; id++ {
			out = append(out, view(id))
		}
		if page*per < len(g.bodies) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?page=%d&per_page=%d>; rel="next"`, r.Host, list, page+1, per))
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == http.MethodPost && r.URL.Path == list:
		if decode() {
			g.bodies = append(g.bodies, *in.Body)
			g.writes = append(g.writes, "POST")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(view(len(g.bodies)))
		}
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/repos/acme/api/issues/comments/"):
		id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/repos/acme/api/issues/comments/"))
		if err != nil || id < 1 || id > len(g.bodies) {
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		if decode() {
			g.bodies[id-1] = *in.Body
			g.writes = append(g.writes, "PATCH "+strconv.Itoa(id))
			json.NewEncoder(w).Encode(view(id))
		}
	default:
		http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
	}
}

// The CI job's preview steps, staging's then prod's, on each push of a PR:
// both write sections of the one comment.
func TestPreviewCommentOneForAllStacks(t *testing.T) {
	gh := &prComments{bodies: []string{"LGTM", "<!-- slipway-preview:prod -->\nan old comment per stack"}}
	srv := httptest.NewServer(gh)
	defer srv.Close()

	staging, useStaging := stackWorld(t, "staging")
	staging.push(shaA)
	staging.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	prod, useProd := stackWorld(t, "prod")
	prod.push(shaA)
	prod.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	for _, w := range []*world{staging, prod} {
		w.env["GITHUB_API_URL"], w.env["GITHUB_TOKEN"], w.env["GITHUB_REPOSITORY"] = srv.URL, "tok", "acme/api"
	}
	platform := func(w *world, version string) {
		cfg := deploytest.BaseConfig()
		if version != "" {
			cfg["test:platform"] = version
		}
		w.p.WriteConfig(t, cfg)
	}

	steps := []struct {
		name      string
		w         *world
		use       func()
		platform  string // test:platform; "" for none (no changes)
		action    string // "PR comment: ..." on stdout
		writes    []string
		sections  []string // stacks whose sections the comment has, in order
		want      []string // in the comment, in order
		unchanged string   // a section that must be byte-identical to before
	}{
		{name: "staging, no changes, no comment yet: none made", w: staging, use: useStaging,
			action: "skipped", writes: nil},
		{name: "prod with changes creates the comment", w: prod, use: useProd, platform: "v2",
			action: "created", writes: []string{"POST"}, sections: []string{"prod"},
			want: []string{"### slipway preview of `prod`: 1 to change", "task-sg-v2"}},
		{name: "staging with changes appends its section", w: staging, use: useStaging, platform: "v2",
			action: "updated", writes: []string{"PATCH 3"}, sections: []string{"prod", "staging"},
			want: []string{"### slipway preview of `prod`: 1 to change", "### slipway preview of `staging`: 1 to change"}, unchanged: "prod"},
		{name: "prod, no changes now: only its section rewritten", w: prod, use: useProd,
			action: "updated", writes: []string{"PATCH 3"}, sections: []string{"prod", "staging"},
			want: []string{"### slipway preview of `prod`: no changes", "### slipway preview of `staging`: 1 to change"}, unchanged: "staging"},
		{name: "prod again, the same: no write", w: prod, use: useProd,
			action: "skipped", writes: nil, sections: []string{"prod", "staging"},
			want: []string{"### slipway preview of `prod`: no changes", "### slipway preview of `staging`: 1 to change"}},
	}
	for _, s := range steps {
		s.use()
		platform(s.w, s.platform)
		var before string
		if len(gh.bodies) > 2 {
			before = gh.bodies[2]
		}
		wrote := len(gh.writes)
		out, _ := s.w.mustRun(t, ExitOK, "preview", "--comment", "--pr", "7")
		if !strings.Contains(out, "PR comment: "+s.action+"\n") {
			t.Errorf("%s: stdout does not say PR comment: %s:\n%s", s.name, s.action, out)
		}
		if got := gh.writes[wrote:]; !slices.Equal(got, s.writes) {
			t.Errorf("%s: API writes %q, want %q", s.name, got, s.writes)
		}
		if gh.bodies[0] != "LGTM" || gh.bodies[1] != "<!-- slipway-preview:prod -->\nan old comment per stack" {
			t.Errorf("%s: another comment was edited: %q", s.name, gh.bodies[:2])
		}
		if s.sections == nil {
			if len(gh.bodies) != 2 {
				t.Errorf("%s: %d comments, want no new one", s.name, len(gh.bodies))
			}
			continue
		}
		if len(gh.bodies) != 3 {
			t.Fatalf("%s: %d comments, want the two others and one of ours", s.name, len(gh.bodies))
		}
		body := gh.bodies[2]
		if !strings.HasPrefix(body, "<!-- slipway-preview -->\n") {
			t.Errorf("%s: comment does not start with the marker:\n%s", s.name, body)
		}
		var names []string
		for _, l := range strings.Split(body, "\n") {
			if name, ok := strings.CutPrefix(l, "<!-- section:"); ok {
				names = append(names, strings.TrimSuffix(name, " -->"))
			}
		}
		if !slices.Equal(names, s.sections) {
			t.Errorf("%s: sections %q, want %q:\n%s", s.name, names, s.sections, body)
		}
		rest := body
		for _, want := range s.want {
			i := strings.Index(rest, want)
			if i < 0 {
				t.Errorf("%s: comment lacks %q (or has it out of order):\n%s", s.name, want, body)
				break
			}
			rest = rest[i+len(want):]
		}
		if s.unchanged != "" {
			if got, want := sectionOf(body, s.unchanged), sectionOf(before, s.unchanged); got != want || got == "" {
				t.Errorf("%s: section %s changed:\n%q\nwas\n%q", s.name, s.unchanged, got, want)
			}
		}
	}
}

// sectionOf is stack's section of a comment, markers included.
func sectionOf(body, stack string) string {
	open, closing := "<!-- section:"+stack+" -->\n", "<!-- /section:"+stack+" -->\n"
	i, j := strings.Index(body, open), strings.Index(body, closing)
	if i < 0 || j < i {
		return ""
	}
	return body[i : j+len(closing)]
}
