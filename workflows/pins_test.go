package workflows

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// renderedByName are the files rendered for p by base name ("cd.yml").
func renderedByName(t *testing.T, p Params) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range mustRender(t, p) {
		out[filepath.Base(f.Path)] = f.Content
	}
	return out
}

// Every pin is used, and ACTIONS.md records each pin's version and SHA.
func TestPinsUsedAndDocumented(t *testing.T) {
	used := map[string]bool{}
	usesRE := regexp.MustCompile(`uses: ([^@\s]+)@`)
	for _, set := range paramSets {
		for _, content := range renderedByName(t, set.p) {
			for _, m := range usesRE.FindAllSubmatch(content, -1) {
				used[string(m[1])] = true
			}
		}
	}
	doc, err := os.ReadFile("ACTIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(pins)) {
		pin := pins[name]
		if !used[name] {
			t.Errorf("pin %s is used by no workflow: remove it from pins.go and ACTIONS.md", name)
		}
		row := fmt.Sprintf("| %s | %s | `%s` |", name, pin.Version, pin.SHA)
		if !bytes.Contains(doc, []byte(row)) {
			t.Errorf("ACTIONS.md has no row starting %q", row)
		}
	}
}
