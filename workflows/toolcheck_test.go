package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The scripts of CD's tool job and of the jobs that fetch the tool, run
// with bash as the runner runs a step (bash -e -o pipefail): the hash is
// what the fetching job checks, and only the tool with that hash is
// installed where the tool steps run it.
func TestToolHashAndCheckScripts(t *testing.T) {
	plain := false // a step's shell: bash {0}, without -e
	run := func(t *testing.T, script string, env ...string) (string, error) {
		t.Helper()
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
		if plain {
			cmd = exec.Command("bash", "--noprofile", "--norc", "-c", script)
		}
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	built := []byte("#!/bin/sh\necho the deploy tool\n")
	sum := sha256.Sum256(built)
	good := hex.EncodeToString(sum[:])

	// The tool job hashes what it built.
	temp := t.TempDir()
	if err := os.WriteFile(filepath.Join(temp, "slipway"), built, 0o755); err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(t.TempDir(), "output")
	if out, err := run(t, ToolHashCmd, "RUNNER_TEMP="+temp, "GITHUB_OUTPUT="+output); err != nil {
		t.Fatalf("hash: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(output); string(got) != "sha256="+good+"\n" {
		t.Errorf("the hash step wrote %q, want sha256=%s", got, good)
	}

	tests := []struct {
		name    string
		fetched []byte
		want    string
		ok      bool
		plain   bool
	}{
		{"the tool the tool job built", built, good, true, false},
		{"another file under the artifact's name", []byte("#!/bin/sh\necho evil\n"), good, false, false},
		{"another file, under a shell without -e", []byte("#!/bin/sh\necho evil\n"), good, false, true},
		{"no hash from the tool job", built, "", false, false},
		{"a hash that is not one", built, good + "; true", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain = tt.plain
			temp := t.TempDir()
			if err := os.MkdirAll(filepath.Join(temp, "tool"), 0o755); err != nil {
				t.Fatal(err)
			}
			// The artifact loses the file's mode.
			if err := os.WriteFile(filepath.Join(temp, "tool", "slipway"), tt.fetched, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := run(t, ToolCheckCmd, "RUNNER_TEMP="+temp, "WANT="+tt.want)
			if (err == nil) != tt.ok {
				t.Fatalf("check: %v, want ok %v\n%s", err, tt.ok, out)
			}
			info, statErr := os.Stat(filepath.Join(temp, "slipway"))
			switch {
			case tt.ok && (statErr != nil || info.Mode().Perm()&0o100 == 0):
				t.Errorf("the checked tool is not installed executable: %v %v", statErr, info)
			case !tt.ok && statErr == nil:
				t.Errorf("a tool that failed the check was installed\n%s", out)
			}
			if !tt.ok && tt.want == "" && !strings.Contains(out, "::error title=No deploy tool hash::") {
				t.Errorf("output %q, want the error annotation", out)
			}
		})
	}
}

// The step that names the slipway commit checked out, run by bash as the
// runner does in the checkout: the commit goes to $GITHUB_ENV; outside a
// checkout the step fails and names nothing.
func TestToolRefScript(t *testing.T) {
	repo := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-C", repo}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("commit", "-q", "--allow-empty", "-m", "slipway")
	head := git("rev-parse", "HEAD")
	for _, tt := range []struct {
		name, dir, want string
		ok              bool
	}{
		{"in the checkout", repo, "SLIPWAY_TOOL_REF=" + head + "\n", true},
		{"outside a checkout", t.TempDir(), "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			envFile := filepath.Join(t.TempDir(), "env")
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", ToolRefCmd)
			cmd.Dir = tt.dir
			cmd.Env = append(os.Environ(), "GITHUB_ENV="+envFile, "GIT_CEILING_DIRECTORIES="+filepath.Dir(tt.dir))
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.ok {
				t.Fatalf("exit %v, want ok %v\n%s", err, tt.ok, out)
			}
			if got, _ := os.ReadFile(envFile); string(got) != tt.want {
				t.Errorf("$GITHUB_ENV holds %q, want %q", got, tt.want)
			}
		})
	}
}
