package workflowcheck

import (
	"path/filepath"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/workflows"
)

// testRustToolchain is the Rust release of workflows/golden_test.go.
const testRustToolchain = "1.95.0"

// paramSets are the two layouts workflows/golden_test.go renders its golden
// files with: slipway checked out from its own repository, and slipway
// inside the application repository.
var paramSets = []struct {
	name string
	p    workflows.Params
}{
	{"tool-repository", workflows.Params{
		Owner: "prod", Environments: []contract.Environment{{Stack: "staging", GitHubEnvironment: "staging"}, {Stack: "prod", GitHubEnvironment: "production"}}, DefaultBranch: "main",
		ToolRepository: "slipway-dev/slipway", ToolRef: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c", ToolPath: ".slipway",
		PulumiVersion: "3.274.1", RustToolchain: testRustToolchain,
	}},
	{"in-repo", workflows.Params{
		Owner: "prod", Environments: []contract.Environment{{Stack: "prod", GitHubEnvironment: "production"}}, DefaultBranch: "main",
		ToolPath: "deploy", PulumiVersion: "3.274.1", RustToolchain: testRustToolchain,
	}},
}

func mustRender(t *testing.T, p workflows.Params) []workflows.File {
	t.Helper()
	files, err := workflows.Render(p)
	if err != nil {
		t.Fatalf("Render(%+v): %v", p, err)
	}
	return files
}

// renderedByName are the files rendered for p by base name ("cd.yml").
func renderedByName(t *testing.T, p workflows.Params) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range mustRender(t, p) {
		out[filepath.Base(f.Path)] = f.Content
	}
	return out
}
