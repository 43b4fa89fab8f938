package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/project"
)

// chainProject makes a project folder with the repository's Pulumi.yaml
// and the given stack files (stack name → content; "" writes none).
func chainProject(t *testing.T, stacks map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(projectRoot(t), "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	for stack, content := range stacks {
		if content == "" {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "Pulumi."+stack+".yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The stack files of a two-stack chain that agree: prod owns the registry
// and lists staging, then prod.
const (
	chainBase = "config:\n  aws:region: us-east-1\n  github:owner: acme\n  slipway:githubOwner: acme\n  slipway:githubRepo: api\n" +
		"  slipway:slipwayRef: \"1111111111111111111111111111111111111111\"\n"
	chainProd = chainBase + "  slipway:stateBucket: acme-state\n  slipway:githubEnvironment: production\n" +
		"  slipway:environments:\n    - stack: staging\n    - stack: prod\n      githubEnvironment: production\n  slipway:promoteFrom: staging\n"
	chainStaging = chainBase + "  slipway:stateBucket: acme-state\n  slipway:registry: api-service\n"
)

// The owner's synth checks the other listed stacks' files against its
// chain and reports every mismatch at once, as bad input naming both
// files, the key, the value found and the one expected.
func TestChainSynth(t *testing.T) {
	exampleProd, err := os.ReadFile(filepath.Join(projectRoot(t), "Pulumi.prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	exampleStaging, err := os.ReadFile(filepath.Join(projectRoot(t), "Pulumi.staging.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	threeProd := chainBase + "  slipway:stateBucket: acme-state\n" +
		"  slipway:environments:\n    - stack: dev\n    - stack: staging\n    - stack: prod\n  slipway:promoteFrom: staging\n"
	dev := chainBase + "  slipway:stateBucket: acme-state\n  slipway:registry: api-service\n"
	tests := []struct {
		name   string
		stacks map[string]string
		want   []string // nil: exit 0
	}{
		{"the repository's example project", map[string]string{"prod": string(exampleProd), "staging": string(exampleStaging)}, nil},
		{"three stacks that agree", map[string]string{"prod": threeProd, "staging": chainStaging + "  slipway:promoteFrom: dev\n", "dev": dev}, nil},
		{"three stacks that agree, the owner first", map[string]string{
			"prod": strings.Replace(chainProd, "    - stack: staging\n    - stack: prod\n      githubEnvironment: production\n  slipway:promoteFrom: staging\n",
				"    - stack: prod\n      githubEnvironment: production\n    - stack: staging\n    - stack: qa\n", 1),
			"staging": chainStaging + "  slipway:promoteFrom: prod\n", "qa": chainStaging + "  slipway:promoteFrom: staging\n",
		}, nil},
		{"listed stack without a file", map[string]string{"prod": chainProd}, []string{
			"Pulumi.prod.yaml slipway:environments[0] lists stack staging, but Pulumi.staging.yaml does not exist",
			"create it (pulumi stack init staging", `README, "First-time bootstrap"`,
		}},
		{"githubEnvironment differs from the owner's entry", map[string]string{"prod": chainProd, "staging": chainStaging + "  slipway:githubEnvironment: stage\n"}, []string{
			`Pulumi.staging.yaml slipway:githubEnvironment: got "stage", want "staging", the githubEnvironment of its entry Pulumi.prod.yaml slipway:environments[0]`,
		}},
		{"the owner's entry names another githubEnvironment", map[string]string{
			"prod":    strings.Replace(chainProd, "    - stack: staging\n", "    - stack: staging\n      githubEnvironment: qa\n", 1),
			"staging": chainStaging,
		}, []string{`Pulumi.staging.yaml slipway:githubEnvironment: got "staging", want "qa"`, "Pulumi.prod.yaml slipway:environments[0]"}},
		{"a second owner of the registry", map[string]string{"prod": chainProd, "staging": strings.Replace(chainStaging, "  slipway:registry: api-service\n", "", 1)}, []string{
			`Pulumi.staging.yaml slipway:registry: got "own", want the repository of Pulumi.prod.yaml, which owns the registry (api-service`,
			"exactly one stack of the chain owns it",
		}},
		{"oidcSubjectTemplate differs", map[string]string{"prod": chainProd, "staging": chainStaging + "  slipway:oidcSubjectTemplate: false\n"}, []string{
			"Pulumi.staging.yaml slipway:oidcSubjectTemplate: got false, want true, as Pulumi.prod.yaml sets it",
		}},
		{"backend differs", map[string]string{"prod": chainProd, "staging": strings.Replace(chainStaging, "acme-state", "acme-other", 1)}, []string{
			`Pulumi.staging.yaml slipway:stateBucket/slipway:backendUrl: got backend "s3://acme-other", want "s3://acme-state", as Pulumi.prod.yaml has it`,
			"deploy promote reads the previous stack's state",
		}},
		{"backend prefix differs", map[string]string{"prod": chainProd, "staging": strings.Replace(chainStaging, "  slipway:stateBucket: acme-state\n", "  slipway:backendUrl: s3://acme-state/staging\n", 1)}, []string{
			`got backend "s3://acme-state/staging", want "s3://acme-state"`,
		}},
		{"the stack after the owner does not promote from it", map[string]string{
			"prod": strings.Replace(chainProd, "    - stack: staging\n    - stack: prod\n      githubEnvironment: production\n  slipway:promoteFrom: staging\n",
				"    - stack: prod\n      githubEnvironment: production\n    - stack: staging\n", 1),
			"staging": chainStaging,
		}, []string{
			`Pulumi.staging.yaml slipway:promoteFrom: got "", want "prod", the stack before staging in Pulumi.prod.yaml slipway:environments`,
			"CD runs promote --from prod --to staging; set slipway:promoteFrom: prod in Pulumi.staging.yaml",
		}},
		{"a middle stack promotes from the wrong stack", map[string]string{"prod": threeProd, "staging": chainStaging + "  slipway:promoteFrom: prod\n", "dev": dev}, []string{
			`Pulumi.staging.yaml slipway:promoteFrom: got "prod", want "dev", the stack before staging in Pulumi.prod.yaml slipway:environments`,
			"set slipway:promoteFrom: dev in Pulumi.staging.yaml",
		}},
		{"the first stack promotes", map[string]string{"prod": chainProd, "staging": chainStaging + "  slipway:promoteFrom: dev\n"}, []string{
			`Pulumi.staging.yaml slipway:promoteFrom: got "dev", want it unset: staging is first in Pulumi.prod.yaml slipway:environments`,
		}},
		{"a listed stack's config is bad", map[string]string{"prod": chainProd, "staging": chainStaging + "  slipway:desiredCount: 0\n"}, []string{
			"Pulumi.staging.yaml, listed in Pulumi.prod.yaml slipway:environments[0]:", `config slipway:desiredCount: got "0"`,
		}},
		{"every mismatch at once", map[string]string{
			"prod":    chainProd,
			"staging": strings.Replace(chainStaging, "acme-state", "acme-other", 1) + "  slipway:githubEnvironment: stage\n  slipway:oidcSubjectTemplate: false\n  slipway:promoteFrom: prod\n",
		}, []string{
			"stack prod: the CD chain staging → prod (Pulumi.prod.yaml slipway:environments) does not match its stacks' files",
			`slipway:githubEnvironment: got "stage"`, "slipway:oidcSubjectTemplate: got false", `got backend "s3://acme-other"`, `Pulumi.staging.yaml slipway:promoteFrom: got "prod", want it unset`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := chainProject(t, tt.stacks)
			out := filepath.Join(t.TempDir(), "out")
			code, _, stderr := run(t, "synth", "--stack", "prod", "--sha", testSHA, "--out", out, "--dir", dir)
			if tt.want == nil {
				if code != ExitOK {
					t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitOK, stderr)
				}
				return
			}
			if code != ExitBadInput {
				t.Errorf("exit %d, want %d (bad input); stderr:\n%s", code, ExitBadInput, stderr)
			}
			for _, w := range append([]string{"slipway deploy synth: stack prod: the CD chain"}, tt.want...) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("bad input wrote %s (%v)", out, err)
			}
		})
	}
}

// Only the registry's owner checks the chain: a stack that names the
// registry synthesizes with its own config alone.
func TestChainNotOwner(t *testing.T) {
	dir := chainProject(t, map[string]string{"prod": chainProd, "staging": chainStaging + "  slipway:oidcSubjectTemplate: false\n"})
	if code, _, stderr := run(t, "synth", "--stack", "prod", "--sha", testSHA, "--out", t.TempDir(), "--dir", dir); code != ExitBadInput || !strings.Contains(stderr, "CD chain") {
		t.Fatalf("synth --stack prod: exit %d, want %d (the chain is broken); stderr:\n%s", code, ExitBadInput, stderr)
	}
	code, _, stderr := run(t, "synth", "--stack", "staging", "--sha", testSHA, "--out", t.TempDir(), "--dir", dir)
	if code != ExitOK || strings.Contains(stderr, "CD chain") {
		t.Errorf("synth --stack staging: exit %d, want %d without the chain check; stderr:\n%s", code, ExitOK, stderr)
	}
}

// checkChain itself leaves a stack that does not own the registry alone,
// whatever its config says.
func TestChainOnlyOwner(t *testing.T) {
	dir := chainProject(t, map[string]string{})
	proj, err := project.Find(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := contract.Config{Stack: "staging", Registry: contract.Registry{Name: "api-service"},
		Environments: []contract.Environment{{Stack: "staging", GitHubEnvironment: "staging"}, {Stack: "prod", GitHubEnvironment: "prod"}}}
	if err := checkChain(proj, cfg); err != nil {
		t.Errorf("checkChain of a stack that names the registry: %v, want nil", err)
	}
	cfg.Registry.Own = true
	if err := checkChain(proj, cfg); err == nil || !strings.Contains(err.Error(), "Pulumi.prod.yaml does not exist") {
		t.Errorf("checkChain of the owner: %v, want Pulumi.prod.yaml reported missing", err)
	}
}

// workflows --check (the CI gate) and up --all (an administrator applying
// the owner) refuse a broken chain as bad input before anything else.
func TestChainWorkflowsAndUp(t *testing.T) {
	broken := chainProject(t, map[string]string{"prod": chainProd, "staging": chainStaging + "  slipway:oidcSubjectTemplate: false\n"})
	want := "Pulumi.staging.yaml slipway:oidcSubjectTemplate: got false, want true"
	code, _, stderr := workflowsCheck(t, "--check", "--dir", broken, "--repo-dir", t.TempDir())
	if code != ExitBadInput || !strings.Contains(stderr, want) {
		t.Errorf("workflows --check, broken chain: exit %d, want %d naming %q; stderr:\n%s", code, ExitBadInput, want, stderr)
	}
	good := chainProject(t, map[string]string{"prod": chainProd, "staging": chainStaging})
	if code, _, stderr := workflowsCheck(t, "--check", "--dir", good, "--repo-dir", t.TempDir()); code != ExitRefused || strings.Contains(stderr, "CD chain") {
		t.Errorf("workflows --check, good chain, empty checkout: exit %d, want %d (the files differ); stderr:\n%s", code, ExitRefused, stderr)
	}
	code, _, stderr = run(t, "up", "--all", "--stack", "prod", "--sha", testSHA, "--dir", broken)
	if code != ExitBadInput || !strings.Contains(stderr, "slipway deploy up: stack prod: the CD chain") || !strings.Contains(stderr, want) {
		t.Errorf("up --all, broken chain: exit %d, want %d naming %q; stderr:\n%s", code, ExitBadInput, want, stderr)
	}
}
