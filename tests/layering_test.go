package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// The deploy tool's decisions, its contract with the program and its CLI
// build without any cloud provider SDK: cmd/deploy injects infra.Program.
// go list is the Go toolchain's own view of what a package compiles in.
func TestDeployCoreImportsNoProvider(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"internal/deploy with its tests", []string{"-test", "./internal/deploy/..."}},
		{"internal/contract with its tests", []string{"-test", "./internal/contract/..."}},
		{"internal/cli", []string{"./internal/cli"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("go", append([]string{"list", "-deps"}, tc.args...)...)
			cmd.Dir = ".."
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			for _, pkg := range strings.Fields(string(out)) {
				if strings.HasPrefix(pkg, "github.com/pulumi/pulumi-aws/") || strings.HasPrefix(pkg, "github.com/pulumi/pulumi-github/") {
					t.Errorf("%s depends on %s, want no provider SDK", tc.name, pkg)
				}
			}
		})
	}
}
