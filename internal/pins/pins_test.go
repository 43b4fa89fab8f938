package pins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// required reads the module versions a go.mod requires.
func required(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && strings.Contains(f[0], ".") && strings.HasPrefix(f[1], "v") {
			out[f[0]] = f[1]
		}
	}
	return out
}

func TestPinsMatchGoMod(t *testing.T) {
	root := filepath.Join("..", "..")
	mod := required(t, filepath.Join(root, "go.mod"))
	tools := required(t, filepath.Join(root, "tools", "go.mod"))
	checks := []struct{ what, got, want string }{
		{"Pulumi vs go.mod sdk/v3", "v" + Pulumi, mod["github.com/pulumi/pulumi/sdk/v3"]},
		{"Pulumi vs tools/go.mod pkg/v3 (the CLI build)", "v" + Pulumi, tools["github.com/pulumi/pulumi/pkg/v3"]},
	}
	for _, p := range Plugins {
		checks = append(checks, struct{ what, got, want string }{"plugin " + p.Name, p.Version, mod[p.Module]})
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q (keep internal/pins in step with go.mod)", c.what, c.got, c.want)
		}
	}
}
