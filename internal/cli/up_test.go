package cli

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
)

// The names a rename would replace are the config's, for the deployer to
// compare with the stack's outputs before the engine runs.
func TestPermanentNames(t *testing.T) {
	got := permanentNames(contract.Config{ServiceName: "api-v2", ClusterName: "shared"})
	want := map[string]string{contract.OutServiceName: "api-v2", contract.OutClusterName: "shared"}
	if !maps.Equal(got, want) {
		t.Errorf("permanentNames = %v, want %v", got, want)
	}
}

// up --all asks GitHub which rules of main would refuse the workflow
// files' commit; without a token, or when GitHub cannot say, it warns and
// lets the update go on.
func TestCommitBlockers(t *testing.T) {
	rules := `[{"type":"pull_request","ruleset_source_type":"Repository","ruleset_source":"acme/api","ruleset_id":42,"parameters":{"required_approving_review_count":1,"dismiss_stale_reviews_on_push":false,"require_code_owner_review":false,"require_last_push_approval":false,"required_review_thread_resolution":false}}]`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/repos/acme/api/rules/branches/main":
			w.Write([]byte(rules))
		case "/repos/acme/api/branches/main/protection":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"Branch not protected"}`))
		default:
			http.Error(w, `{"message":"boom"}`, http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name     string
		env      map[string]string
		repo     string
		want     []string
		wantWarn string
	}{
		{"a ruleset requires pull requests", map[string]string{"GITHUB_TOKEN": "tok", "GITHUB_API_URL": srv.URL}, "api",
			[]string{"ruleset 42 (acme/api) requires a pull request"}, ""},
		{"no token: not checked, said", map[string]string{"GITHUB_API_URL": srv.URL}, "api", nil, "GITHUB_TOKEN is not set"},
		{"GitHub cannot say: warned", map[string]string{"GITHUB_TOKEN": "tok", "GITHUB_API_URL": srv.URL}, "other", nil, "could not read the rules of acme/other's main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			c := &Command{Stdout: &bytes.Buffer{}, Stderr: &stderr, Getenv: func(k string) string { return tt.env[k] }}
			got := c.commitBlockers(context.Background(), contract.Config{GitHubOwner: "acme", GitHubRepo: tt.repo})
			if !slices.Equal(got, tt.want) {
				t.Errorf("commitBlockers = %q, want %q", got, tt.want)
			}
			if tt.wantWarn != "" && !strings.Contains(stderr.String(), tt.wantWarn) {
				t.Errorf("stderr %q, want a warning with %q", stderr.String(), tt.wantWarn)
			}
		})
	}
}
