package project

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStackConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Pulumi.yaml", "name: demo\nruntime: go\nconfig:\n  port:\n    type: integer\n    default: 8080\n  zones:\n    type: array\n    items:\n      type: string\n    default: []\n  owner:\n    type: string\n")
	write("Pulumi.dev.yaml", "config:\n  demo:port: 9090\n  demo:owner: octo\n  demo:flag: true\n  region: eu-west-1\n  demo:subnets:\n    - subnet-1\n    - subnet-2\n  github:token:\n    secure: AAABAJ...\n")
	p, err := Find(filepath.Join(dir))
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.StackConfig("dev")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"demo:port": "9090", "demo:zones": "[]", "demo:owner": "octo", "demo:flag": "true",
		"demo:subnets": `["subnet-1","subnet-2"]`,
		"demo:region":  "eu-west-1", // a bare key is the project's, as the engine reads it
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["github:token"]; ok {
		t.Error("a secure value was passed on; secrets are left out")
	}
	if p.Declared["owner"].HasDefault || !p.Declared["port"].HasDefault || p.Declared["port"].Default != 8080 {
		t.Errorf("declarations %+v, want owner without a default and port with default 8080", p.Declared)
	}

	for _, tt := range []struct{ stack, want string }{
		{"prod", `stack "prod" has no config file`},
		{"../etc", `stack "../etc": want a name of letters`},
		{"..", `stack "..": want a name of letters`},
		{".", `stack ".": want a name of letters`},
		{strings.Repeat("x", 200), `stack "` + strings.Repeat("x", 77) + `...": want`},
	} {
		if _, err := p.StackConfig(tt.stack); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("StackConfig(%q) err = %v, want %q", tt.stack, err, tt.want)
		}
	}
	if _, err := Find(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no Pulumi.yaml") {
		t.Errorf("Find without a project: %v", err)
	}
}

// Two keys that mean the same key, as the engine reads them, are refused
// naming both lines: the engine would pick one at random.
func TestStackConfigDuplicateKeys(t *testing.T) {
	for _, tt := range []struct {
		name, config string
		want         string // "" for no error
	}{
		{"legacy form beside the key", "config:\n  demo:owner: acme\n  demo:config:owner: example-org\n",
			`lines 2 and 3: "demo:owner" and "demo:config:owner" both set demo:owner`},
		{"bare key beside the key", "config:\n  owner: acme\n  region: x\n  demo:owner: other\n",
			`lines 2 and 4: "owner" and "demo:owner" both set demo:owner`},
		{"other namespaces are their own", "config:\n  demo:owner: acme\n  github:owner: acme\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{"Pulumi.yaml": "name: demo\nruntime: go\n", "Pulumi.dev.yaml": tt.config} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p, err := Find(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.StackConfig("dev")
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("StackConfig = %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("StackConfig = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
