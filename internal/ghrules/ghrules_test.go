package ghrules

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// GitHub's answers for a branch's rules and classic protection (REST API:
// "Get rules for a branch", "Get branch protection"; 404 "Branch not
// protected" when there is none).
func TestDirectCommitBlockers(t *testing.T) {
	tests := []struct {
		name, rules, protection string
		protectionStatus        int
		want                    []string
	}{
		{"nothing", `[]`, `{"message":"Branch not protected"}`, 404, nil},
		{"a ruleset requiring pull requests", `[{"type":"pull_request","ruleset_source_type":"Repository","ruleset_source":"acme/api","ruleset_id":42,"parameters":{"required_approving_review_count":1,"dismiss_stale_reviews_on_push":false,"require_code_owner_review":false,"require_last_push_approval":false,"required_review_thread_resolution":false}}]`,
			`{"message":"Branch not protected"}`, 404, []string{"ruleset 42 (acme/api) requires a pull request"}},
		{"a ruleset forbidding deletion only", `[{"type":"deletion","ruleset_source_type":"Repository","ruleset_source":"acme/api","ruleset_id":7}]`, `{"message":"Branch not protected"}`, 404, nil},
		{"classic protection with reviews and checks", `[]`, `{"required_pull_request_reviews":{"required_approving_review_count":1},"required_status_checks":{"strict":true,"contexts":["test"]}}`, 200,
			[]string{"the branch protection of main requires pull request reviews", "the branch protection of main requires status checks"}},
		{"classic protection unreadable without admin", `[]`, `{"message":"Resource not accessible by integration"}`, 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/repos/acme/api/rules/branches/main":
					w.Write([]byte(tt.rules))
				case "/repos/acme/api/branches/main/protection":
					w.WriteHeader(tt.protectionStatus)
					w.Write([]byte(tt.protection))
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			got, err := DirectCommitBlockers(context.Background(), srv.URL, "tok", "acme/api", "main")
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("DirectCommitBlockers = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// GitHub's answer for an environment's deployment branch policies (REST
// API: "List deployment branch policies"; 404 for a missing environment).
func TestForeignBranchPolicies(t *testing.T) {
	tests := []struct {
		name, body string
		status     int
		want       []string
	}{
		{"only main", `{"total_count":1,"branch_policies":[{"id":1,"name":"main","type":"branch"}]}`, 200, nil},
		{"a wildcard added by hand", `{"total_count":2,"branch_policies":[{"id":1,"name":"main","type":"branch"},{"id":2,"name":"*","type":"branch"}]}`, 200,
			[]string{`environment production allows branch "*"`}},
		{"a tag policy named main", `{"total_count":1,"branch_policies":[{"id":3,"name":"main","type":"tag"}]}`, 200, []string{`environment production allows tag "main"`}},
		{"the environment is gone", `{"message":"Not Found"}`, 404, []string{"environment production does not exist (GitHub creates it without rules when a job names it)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/repos/acme/api/environments/production/deployment-branch-policies" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			got, err := ForeignBranchPolicies(context.Background(), srv.URL, "tok", "acme/api", "production", "main")
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("ForeignBranchPolicies = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
