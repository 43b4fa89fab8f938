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
	run := func(t *testing.T, script string, env ...string) (string, error) {
		t.Helper()
		cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
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
	}{
		{"the tool the tool job built", built, good, true},
		{"another file under the artifact's name", []byte("#!/bin/sh\necho evil\n"), good, false},
		{"no hash from the tool job", built, "", false},
		{"a hash that is not one", built, good + "; true", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
