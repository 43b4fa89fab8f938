package workflows

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Only this package defines -update: run `go test ./workflows -update`.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the templates")

const testToolRef = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"

// testRustToolchain is the Rust release the goldens render with.
const testRustToolchain = "1.95.0"

// The environments of the goldens: staging, then prod (in GitHub
// environment production), as Pulumi.prod.yaml lists them; and prod alone.
var (
	testChain = []contract.Environment{{Stack: "staging", GitHubEnvironment: "staging"}, {Stack: "prod", GitHubEnvironment: "production"}}
	testOne   = []contract.Environment{{Stack: "prod", GitHubEnvironment: "production"}}
)

// paramSets are the two layouts: slipway checked out from its own
// repository, deploying staging and then production; and slipway inside
// the application repository, with one stack.
var paramSets = []struct {
	name   string
	golden string
	p      Params
}{
	{"tool-repository", "testdata/golden", Params{
		Owner: "prod", Environments: testChain, DefaultBranch: "main",
		ToolRepository: "slipway-dev/slipway", ToolRef: testToolRef, ToolPath: ".slipway",
		PulumiVersion: "3.274.1", RustToolchain: testRustToolchain,
	}},
	{"in-repo", "testdata/golden-inrepo", Params{
		Owner: "prod", Environments: testOne, DefaultBranch: "main",
		ToolPath: "deploy", PulumiVersion: "3.274.1", RustToolchain: testRustToolchain,
	}},
}

func mustRender(t *testing.T, p Params) []File {
	t.Helper()
	files, err := Render(p)
	if err != nil {
		t.Fatalf("Render(%+v): %v", p, err)
	}
	return files
}

func TestGolden(t *testing.T) {
	for _, set := range paramSets {
		t.Run(set.name, func(t *testing.T) {
			files := mustRender(t, set.p)
			var want []string
			for _, f := range files {
				name := filepath.Base(f.Path)
				want = append(want, name)
				golden := filepath.Join(set.golden, name)
				if *update {
					if err := os.MkdirAll(set.golden, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, f.Content, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				old, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run `go test ./workflows -update` to create it)", err)
				}
				if diff := cmp.Diff(string(old), string(f.Content)); diff != "" {
					t.Errorf("%s differs from %s (-golden +rendered); if intended, run `go test ./workflows -update`:\n%s", f.Path, golden, diff)
				}
			}
			if *update {
				return
			}
			entries, err := os.ReadDir(set.golden)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Name())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("golden files in %s (-rendered +on disk): stale files?\n%s", set.golden, diff)
			}
		})
	}
}

func TestRenderSortedWithHeader(t *testing.T) {
	for _, set := range paramSets {
		files := mustRender(t, set.p)
		var paths []string
		for _, f := range files {
			paths = append(paths, f.Path)
			if !bytes.HasPrefix(f.Content, []byte("# Managed by slipway (infra, Pulumi)")) ||
				!bytes.Contains(f.Content, []byte("Do not edit it in place")) {
				t.Errorf("%s: %s: header missing; starts with %q", set.name, f.Path, firstLine(f.Content))
			}
			if !bytes.HasSuffix(f.Content, []byte("\n")) || bytes.HasSuffix(f.Content, []byte("\n\n")) {
				t.Errorf("%s: %s: want exactly one trailing newline", set.name, f.Path)
			}
			if bytes.Contains(f.Content, []byte(" \n")) || bytes.Contains(f.Content, []byte("\t")) {
				t.Errorf("%s: %s: trailing spaces or tabs", set.name, f.Path)
			}
		}
		want := []string{".github/workflows/cd.yml", ".github/workflows/ci.yml", ".github/workflows/drift.yml", ".github/workflows/rollback.yml"}
		if !slices.Equal(paths, want) {
			t.Errorf("%s: paths = %v, want %v", set.name, paths, want)
		}
	}
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(line)
}

// The files are Pulumi resources: a deploy (a new image SHA) must not
// change them. Params has no SHA, and the only commit SHAs rendered are
// the action pins and ToolRef.
func TestRenderDeterministicAndSHAFree(t *testing.T) {
	hex40 := regexp.MustCompile(`\b[0-9a-f]{40}\b`)
	allowed := map[string]bool{testToolRef: true}
	for _, pin := range pins {
		allowed[pin.SHA] = true
	}
	for _, set := range paramSets {
		first, second := mustRender(t, set.p), mustRender(t, set.p)
		if diff := cmp.Diff(first, second); diff != "" {
			t.Errorf("%s: two renders differ:\n%s", set.name, diff)
		}
		for _, f := range first {
			for _, sha := range hex40.FindAll(f.Content, -1) {
				if !allowed[string(sha)] {
					t.Errorf("%s: %s: renders SHA %s, which is neither a pin nor ToolRef", set.name, f.Path, sha)
				}
			}
		}
	}
}

func TestRenderRejectsInvalidParams(t *testing.T) {
	p := paramSets[0].p
	p.PulumiVersion = "v3"
	if files, err := Render(p); err == nil {
		t.Fatalf("Render with PulumiVersion %q = %d files, want an error", p.PulumiVersion, len(files))
	}
}
