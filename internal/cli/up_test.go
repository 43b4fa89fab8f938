package cli

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
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

// The verbs that run the program render the workflow files with the
// commit of slipway the checkout is ($SLIPWAY_TOOL_REF, or --tool-ref),
// which the files pin and the stack file of that commit cannot name: it
// replaces the stack file's slipwayRef (even the example's placeholder)
// in the run's config, never in the file.
func TestToolRefForTheRun(t *testing.T) {
	const checkout = "2222222222222222222222222222222222222222"
	stackFile := func(ref, repo string) string {
		return "config:\n  aws:region: us-east-1\n  github:owner: acme\n  slipway:githubOwner: acme\n  slipway:githubRepo: api\n" +
			"  slipway:stateBucket: acme-slipway-state\n  slipway:slipwayRepository: \"" + repo + "\"\n  slipway:slipwayRef: \"" + ref + "\"\n"
	}
	tests := []struct {
		name          string
		file, env     string
		flag          string
		wantRef       string // the run's slipwayRef; "" for none set
		wantErr       string
		wantOverrides bool
	}{
		{"CD's checkout, the stack file holding the commit before", stackFile(strings.Repeat("1", 40), "acme/slipway"), checkout, "", checkout, "", true},
		{"CD's checkout, the example placeholder still in the file", stackFile(zeroSHA, "acme/slipway"), checkout, "", checkout, "", true},
		{"--tool-ref over the environment", stackFile(zeroSHA, "acme/slipway"), strings.Repeat("3", 40), checkout, checkout, "", true},
		{"an administrator's run: the stack file's", stackFile(strings.Repeat("1", 40), "acme/slipway"), "", "", strings.Repeat("1", 40), "", false},
		{"not a commit", stackFile(strings.Repeat("1", 40), "acme/slipway"), "main", "", "", `--tool-ref (or $SLIPWAY_TOOL_REF) "main": want`, false},
		{"slipway in the application repository", stackFile("", "") + "  slipway:slipwayPath: deploy\n", checkout, "", "", "slipwayRepository empty", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyProject(t, tt.file)
			before, _ := os.ReadFile(filepath.Join(dir, "Pulumi.prod.yaml"))
			c := &Command{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Program: deploytest.Program,
				Getenv: func(k string) string { return map[string]string{contract.ToolRefEnv: tt.env}[k] }}
			o := CommonOptions{Stack: "prod", Output: "table", Dir: dir, runsProgram: true, ToolRef: tt.flag}
			opts, err := c.stackOptions(&o, nil)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("stackOptions: %v, want an error with %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("stackOptions: %v", err)
			default:
				if o.cfg.ToolRef != tt.wantRef {
					t.Errorf("the run's slipwayRef = %q, want %q", o.cfg.ToolRef, tt.wantRef)
				}
				if got := opts.Config[toolRefKey]; (got != "") != tt.wantOverrides || (tt.wantOverrides && got != tt.wantRef) {
					t.Errorf("the session sets %s = %q, want %q", toolRefKey, got, map[bool]string{true: tt.wantRef}[tt.wantOverrides])
				}
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "Pulumi.prod.yaml")); !bytes.Equal(before, after) {
				t.Error("the stack file changed")
			}
		})
	}
}
