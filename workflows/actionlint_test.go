package workflows

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"gopkg.in/yaml.v3"
)

// newLinter is actionlint with shellcheck, checking vars.* names against
// Variables(p): the names the program creates for p's stacks.
func newLinter(t *testing.T, p Params) *actionlint.Linter {
	t.Helper()
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Fatalf("shellcheck not found (%v): the workflow scripts must be checked; run `make tools` or `apt-get install -y shellcheck`", err)
	}
	cfg, err := yaml.Marshal(map[string][]string{"config-variables": Variables(p)})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(t.TempDir(), "actionlint.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{
		Shellcheck: shellcheck,
		ConfigFile: cfgPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func lint(t *testing.T, l *actionlint.Linter, path string, content []byte) []*actionlint.Error {
	t.Helper()
	errs, err := l.Lint(path, content, nil)
	if err != nil {
		t.Fatalf("lint %s: %v", path, err)
	}
	return errs
}

func TestActionlint(t *testing.T) {
	for _, set := range paramSets {
		l := newLinter(t, set.p)
		for _, f := range mustRender(t, set.p) {
			for _, e := range lint(t, l, f.Path, f.Content) {
				t.Errorf("%s: %s:%d:%d: %s [%s]", set.name, f.Path, e.Line, e.Column, e.Message, e.Kind)
			}
		}
	}
}

// The linter setup can fail: an unknown variable and a shellcheck finding
// are both reported, so a clean TestActionlint means something.
func TestActionlintReports(t *testing.T) {
	l := newLinter(t, paramSets[0].p)
	const workflow = `on: push
permissions: {}
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - run: echo $GREETING
        env:
          GREETING: ${{ vars.NOT_A_SLIPWAY_VARIABLE }}
`
	errs := lint(t, l, ".github/workflows/bad.yml", []byte(workflow))
	var kinds []string
	for _, e := range errs {
		kinds = append(kinds, e.Kind+": "+e.Message)
	}
	all := strings.Join(kinds, "\n")
	// actionlint lowercases variable names in its message.
	for _, want := range []string{"undefined configuration variable \"not_a_slipway_variable\"", "SC2086"} {
		if !strings.Contains(all, want) {
			t.Errorf("findings do not mention %s; got:\n%s", want, all)
		}
	}
}
