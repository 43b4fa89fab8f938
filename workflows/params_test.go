package workflows

import (
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
)

func TestValidate(t *testing.T) {
	valid := paramSets[0].p
	for _, set := range paramSets {
		if err := set.p.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v, want nil", set.name, err)
		}
	}
	cases := []struct {
		name   string
		mutate func(*Params)
		want   string // "" = valid
	}{
		{"ToolRef ignored in repo", func(p *Params) { p.ToolRepository, p.ToolRef, p.ToolPath = "", "main", "deploy" }, ""},
		{"in-repo root", func(p *Params) { p.ToolRepository, p.ToolPath = "", "." }, ""},
		{"nested ToolPath", func(p *Params) { p.ToolPath = "tools/slipway" }, ""},
		{"one stack", func(p *Params) { p.Environments = testOne }, ""},
		{"release branch", func(p *Params) { p.DefaultBranch = "release/v2" }, ""},

		{"empty Owner", func(p *Params) { p.Owner = "" }, `Owner "": want a Pulumi stack name`},
		{"Owner not in the chain", func(p *Params) { p.Owner = "dev" }, `Owner "dev": want one of the Environments' stacks`},
		{"no Environments", func(p *Params) { p.Environments = nil }, `Environments "": want at least one`},
		{"org stack", func(p *Params) { p.Environments = env(p, 0, "acme/slipway/staging", "staging") }, `Environments[0].Stack "acme/slipway/staging": want a Pulumi stack name`},
		{"Stack with space", func(p *Params) { p.Environments = env(p, 0, "stag ing", "staging") }, `Environments[0].Stack "stag ing": want a Pulumi stack name`},
		{"same stack twice", func(p *Params) { p.Environments = env(p, 0, "prod", "staging") }, `Environments[1].Stack "prod": want each stack once`},
		{"stacks alike", func(p *Params) { p.Environments = env(p, 0, "PROD", "staging") }, `Environments[1].Stack "prod": want each stack once, and stack names that differ in more than case and punctuation`},
		{"empty GitHubEnvironment", func(p *Params) { p.Environments = env(p, 1, "prod", "") }, `Environments[1].GitHubEnvironment "": want a GitHub environment name`},
		{"GitHubEnvironment with colon", func(p *Params) { p.Environments = env(p, 1, "prod", "prod:x") }, `Environments[1].GitHubEnvironment "prod:x": want a GitHub environment name`},
		{"long GitHubEnvironment", func(p *Params) { p.Environments = env(p, 1, "prod", strings.Repeat("e", 256)) }, `want a GitHub environment name such as "production" (letters, digits, _ . -; at most 255)`},
		{"GitHubEnvironment of the image job", func(p *Params) { p.Environments = env(p, 1, "prod", "Image-Push") }, `Environments[1].GitHubEnvironment "Image-Push": want another environment than the image job's image-push`},
		{"same GitHubEnvironment twice", func(p *Params) { p.Environments = env(p, 1, "prod", "Staging") }, `Environments[1].GitHubEnvironment "Staging": want each GitHub environment once (names ignore case)`},
		{"empty DefaultBranch", func(p *Params) { p.DefaultBranch = "" }, `DefaultBranch "": want a branch name`},
		{"glob DefaultBranch", func(p *Params) { p.DefaultBranch = "release/*" }, `DefaultBranch "release/*": want a branch name such as "main" (letters, digits, . _ - /; no glob characters)`},
		{"DefaultBranch with ..", func(p *Params) { p.DefaultBranch = "a..b" }, `DefaultBranch "a..b": want a branch name such as "main" (letters, digits, . _ - /; no glob characters): git forbids`},
		{"DefaultBranch .lock", func(p *Params) { p.DefaultBranch = "main.lock" }, `git forbids`},
		{"ToolRepository without owner", func(p *Params) { p.ToolRepository = "slipway" }, `ToolRepository "slipway": want "owner/name"`},
		{"ToolRepository URL", func(p *Params) { p.ToolRepository = "https://github.com/a/b" }, `ToolRepository "https://github.com/a/b": want "owner/name"`},
		{"ToolRepository ..", func(p *Params) { p.ToolRepository = "a/.." }, `ToolRepository "a/..": want "owner/name"`},
		{"empty ToolRef", func(p *Params) { p.ToolRef = "" }, `ToolRef "": want a full 40-hex lowercase commit SHA of the slipway repository (git rev-parse HEAD); tags and branches can move under the pin`},
		{"tag ToolRef", func(p *Params) { p.ToolRef = "v1.4.0" }, `ToolRef "v1.4.0": want a full 40-hex lowercase commit SHA`},
		{"refs/tags ToolRef", func(p *Params) { p.ToolRef = "refs/tags/v1.4.0-rc.1" }, `ToolRef "refs/tags/v1.4.0-rc.1": want a full 40-hex lowercase commit SHA`},
		{"branch ToolRef", func(p *Params) { p.ToolRef = "main" }, `ToolRef "main": want a full 40-hex lowercase commit SHA`},
		{"short SHA ToolRef", func(p *Params) { p.ToolRef = "0f1e2d3" }, `ToolRef "0f1e2d3": want a full 40-hex lowercase commit SHA`},
		{"uppercase SHA ToolRef", func(p *Params) { p.ToolRef = strings.ToUpper(testToolRef) }, `ToolRef "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C": want a full 40-hex lowercase commit SHA`},
		{"empty ToolPath", func(p *Params) { p.ToolPath = "" }, `ToolPath "": want the folder of slipway relative to the workspace`},
		{"absolute ToolPath", func(p *Params) { p.ToolPath = "/opt/slipway" }, `ToolPath "/opt/slipway": want a relative path: no leading "/"`},
		{"ToolPath escapes", func(p *Params) { p.ToolPath = "../slipway" }, `ToolPath "../slipway": want a path inside the workspace: no ".."`},
		{"ToolPath inner ..", func(p *Params) { p.ToolPath = "a/../b" }, `ToolPath "a/../b": want a path inside the workspace: no ".."`},
		{"ToolPath trailing slash", func(p *Params) { p.ToolPath = "deploy/" }, `ToolPath "deploy/": want a clean path`},
		{"ToolPath with space", func(p *Params) { p.ToolPath = "my tool" }, `ToolPath "my tool": want a relative path of letters, digits`},
		{"checkout over the app", func(p *Params) { p.ToolPath = "." }, `ToolPath ".": want a subfolder such as ".slipway"`},
		{"empty PulumiVersion", func(p *Params) { p.PulumiVersion = "" }, `PulumiVersion "": want a Pulumi CLI version x.y.z`},
		{"PulumiVersion with v", func(p *Params) { p.PulumiVersion = "v3.274.1" }, `PulumiVersion "v3.274.1": want a Pulumi CLI version x.y.z such as "3.274.1" (without the leading v)`},
		{"PulumiVersion range", func(p *Params) { p.PulumiVersion = "^3" }, `PulumiVersion "^3": want a Pulumi CLI version x.y.z`},
		{"empty RustToolchain", func(p *Params) { p.RustToolchain = "" }, `RustToolchain "": want a Rust release x.y.z such as "1.95.0"`},
		{"RustToolchain channel", func(p *Params) { p.RustToolchain = "stable" }, `RustToolchain "stable": want a Rust release x.y.z such as "1.95.0" (not a channel: stable moves with every release)`},
		{"RustToolchain minor only", func(p *Params) { p.RustToolchain = "1.95" }, `RustToolchain "1.95": want a Rust release x.y.z`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := valid
			tc.mutate(&p)
			err := p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Errorf("Validate() = nil, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("Validate() = %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}

// Every invalid field is reported at once, not only the first.
func TestValidateReportsAll(t *testing.T) {
	err := Params{}.Validate()
	if err == nil {
		t.Fatal("Validate() of zero Params = nil, want errors")
	}
	for _, field := range []string{"Owner", "Environments", "DefaultBranch", "ToolPath", "PulumiVersion", "RustToolchain"} {
		if !strings.Contains(err.Error(), "workflows: "+field+" ") {
			t.Errorf("Validate() = %v\nwant an error naming %s", err, field)
		}
	}
}

// env is p's environments with entry i replaced by {stack, github}.
func env(p *Params, i int, stack, github string) []contract.Environment {
	out := slices.Clone(p.Environments)
	out[i] = contract.Environment{Stack: stack, GitHubEnvironment: github}
	return out
}
