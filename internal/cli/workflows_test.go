package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/infra"
	"github.com/slipway-dev/slipway/internal/contract"
)

// workflowsCheck runs deploy workflows --check with the program's renderer.
func workflowsCheck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &Command{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Program: infra.Program,
		Workflows: infra.Workflows}
	code := c.Main(context.Background(), append([]string{"workflows"}, args...))
	return code, out.String(), errb.String()
}

// The integrity gate: the checkout's workflow files must be exactly the
// render of the stack's config; an edit, a missing file or a stale one is
// exit 7 with a diff, and the check changes nothing.
func TestWorkflowsCheck(t *testing.T) {
	dir := copyProject(t, "config:\n  aws:region: us-east-1\n  github:owner: acme\n  slipway:githubOwner: acme\n  slipway:githubRepo: api\n"+
		"  slipway:stateBucket: acme-slipway-state\n  slipway:slipwayRef: \"1111111111111111111111111111111111111111\"\n")
	repo := t.TempDir()
	code, out, errs := workflowsCheck(t, "--check", "--dir", dir, "--repo-dir", repo)
	if code != ExitRefused || !strings.Contains(errs, "differ from what stack prod renders") || !strings.Contains(out, "+++ .github/workflows/cd.yml (render of stack prod)") {
		t.Fatalf("empty checkout: exit %d, want %d with a diff of every file\nstdout:\n%s\nstderr:\n%s", code, ExitRefused, tail(out), errs)
	}
	// Write the render, as the program does; then the check passes.
	cfg := map[string]string{}
	for _, l := range []string{"aws:region=us-east-1", "github:owner=acme", "slipway:githubOwner=acme", "slipway:githubRepo=api", "slipway:stateBucket=acme-slipway-state",
		"slipway:slipwayRef=1111111111111111111111111111111111111111", "slipway:imageTag=" + zeroSHA} {
		k, v, _ := strings.Cut(l, "=")
		cfg[k] = v
	}
	writeRender(t, cfg, repo)
	if code, out, errs := workflowsCheck(t, "--check", "--dir", dir, "--repo-dir", repo); code != ExitOK || !strings.Contains(out, "exactly what stack prod renders") {
		t.Fatalf("rendered checkout: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	cd := filepath.Join(repo, ".github/workflows/cd.yml")
	orig, _ := os.ReadFile(cd)
	edited := strings.Replace(string(orig), "permissions: {}", "permissions: write-all", 1)
	if err := os.WriteFile(cd, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = workflowsCheck(t, "--check", "--dir", dir, "--repo-dir", repo)
	if code != ExitRefused || !strings.Contains(out, "-permissions: write-all") || !strings.Contains(out, "+permissions: {}") || !strings.Contains(errs, ".github/workflows/cd.yml") {
		t.Errorf("edited cd.yml: exit %d, want %d with the edit in the diff\nstdout:\n%s\nstderr:\n%s", code, ExitRefused, out, errs)
	}
	if after, _ := os.ReadFile(cd); string(after) != edited {
		t.Error("the check changed the checkout")
	}
	if code, _, errs := workflowsCheck(t, "--dir", dir, "--repo-dir", repo); code != ExitBadInput || !strings.Contains(errs, "takes --check") {
		t.Errorf("without --check: exit %d, stderr %s", code, errs)
	}
}

// The workflow files pin a commit of slipway, and CD runs the gate from a
// checkout of that commit, whose stack file cannot name its own SHA: the
// gate renders with the checkout's commit (--tool-ref, git rev-parse HEAD
// in the rendered step), so the files an administrator applied from the
// next commit (slipwayRef set to this one, nothing else changed) pass.
func TestWorkflowsCheckPinnedCommit(t *testing.T) {
	const earlier = "1111111111111111111111111111111111111111"
	config := "config:\n  aws:region: us-east-1\n  github:owner: acme\n  slipway:githubOwner: acme\n  slipway:githubRepo: api\n" +
		"  slipway:stateBucket: acme-slipway-state\n  slipway:slipwayRepository: acme/slipway\n  slipway:slipwayRef: \"" + earlier + "\"\n"
	dir := copyProject(t, config)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-C", dir}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-qm", "the config")
	pinned := git("rev-parse", "HEAD")

	// The administrator's next commit sets slipwayRef to the commit above
	// and applies the files from there.
	cfg := map[string]string{"aws:region": "us-east-1", "github:owner": "acme", "slipway:githubOwner": "acme", "slipway:githubRepo": "api",
		"slipway:stateBucket": "acme-slipway-state", "slipway:slipwayRepository": "acme/slipway", "slipway:slipwayRef": pinned, "slipway:imageTag": zeroSHA}
	repo := t.TempDir()
	writeRender(t, cfg, repo)
	tests := []struct {
		name     string
		args     []string
		want     int
		wantText string
	}{
		{"the checkout's own commit: the files are its render", []string{"--tool-ref", pinned}, ExitOK, "exactly what stack prod renders"},
		{"the stack file's slipwayRef, which cannot be the checkout's commit", nil, ExitRefused, "+          ref: \"" + earlier + "\""},
		{"another commit than the files pin", []string{"--tool-ref", earlier}, ExitRefused, "-          ref: \"" + pinned + "\""},
		{"not a commit SHA", []string{"--tool-ref", "main"}, ExitBadInput, `--tool-ref (or $SLIPWAY_TOOL_REF) "main": want`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := workflowsCheck(t, append([]string{"--check", "--dir", dir, "--repo-dir", repo}, tt.args...)...)
			if code != tt.want || !strings.Contains(out+errs, tt.wantText) {
				t.Errorf("exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", code, tt.want, tt.wantText, tail(out), errs)
			}
		})
	}
	if status := git("status", "--porcelain"); status != "" {
		t.Errorf("the check changed the project:\n%s", status)
	}
}

// In the in-repo layout the files pin no commit of slipway: --tool-ref
// there is a mistake, named.
func TestWorkflowsCheckToolRefInRepo(t *testing.T) {
	dir := copyProject(t, "config:\n  aws:region: us-east-1\n  github:owner: acme\n  slipway:githubOwner: acme\n  slipway:githubRepo: api\n"+
		"  slipway:stateBucket: acme-slipway-state\n  slipway:slipwayRepository: \"\"\n  slipway:slipwayPath: deploy\n")
	code, _, errs := workflowsCheck(t, "--check", "--dir", dir, "--repo-dir", t.TempDir(), "--tool-ref", strings.Repeat("2", 40))
	if code != ExitBadInput || !strings.Contains(errs, "slipwayRepository empty") {
		t.Errorf("exit %d, want %d naming the layout\nstderr:\n%s", code, ExitBadInput, errs)
	}
}

// writeRender writes into repo the workflow files the program renders for
// the prod stack's config cfg, as up --all does.
func writeRender(t *testing.T, cfg map[string]string, repo string) {
	t.Helper()
	parsed, err := contract.ParseMap("prod", cfg)
	if err != nil {
		t.Fatal(err)
	}
	files, err := infra.Workflows(parsed)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Join(repo, filepath.Dir(f.Path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, f.Path), f.Content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
