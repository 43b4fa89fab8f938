package workflows

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Params are the stack values the templates render with. None may depend on
// the image SHA: the workflow files are Pulumi resources, and a deploy must
// not rewrite them.
type Params struct {
	// Owner is the stack that owns the registry and renders these files
	// (the workflow-integrity gate renders them from its config).
	Owner string
	// Environments are the stacks CD deploys, in order, each with the
	// GitHub environment of its deploy jobs: the first gets the pushed
	// SHA, each next one the SHA the one before verified (deploy promote).
	Environments   []contract.Environment
	DefaultBranch  string // "main"
	ToolRepository string // "owner/name" of the slipway repo to check out; "" = slipway lives inside the application repository at ToolPath
	ToolRef        string // full 40-hex lowercase commit SHA of ToolRepository (not a tag: one can be moved, and the tool runs with the deploy role); ignored when ToolRepository == ""
	ToolPath       string // where slipway is: its checkout folder (".slipway") or, when ToolRepository == "", its folder in the app repo ("deploy")
	PulumiVersion  string // Pulumi CLI version, e.g. "3.274.1" (no leading v)
	RustToolchain  string // the application's Rust toolchain, a release x.y.z such as "1.95.0" (not "stable": a new release would change the build)
}

var (
	branchRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
	repositoryRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9._-]+$`)
	semverRE     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
)

// Validate reports every field that would render a broken or unsafe
// workflow, each naming the field, its value and what is expected. The
// character sets are strict because values land unescaped in YAML, in
// concurrency groups and in OIDC subjects the IAM trust policies compare.
func (p Params) Validate() error {
	var errs []error
	bad := func(field, value, want string) {
		errs = append(errs, fmt.Errorf("workflows: %s %q: %s", field, value, want))
	}

	if contract.ValidateStack(p.Owner) != nil {
		bad("Owner", p.Owner, "want a Pulumi stack name such as \"prod\" (letters, digits, _ . -)")
	}
	if len(p.Environments) == 0 {
		bad("Environments", "", "want at least one {stack, GitHub environment}")
	}
	owned := false
	stacks, envs, suffixes := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, e := range p.Environments {
		field := fmt.Sprintf("Environments[%d]", i)
		owned = owned || e.Stack == p.Owner
		switch {
		case contract.ValidateStack(e.Stack) != nil:
			bad(field+".Stack", e.Stack, "want a Pulumi stack name such as \"prod\" (letters, digits, _ . -)")
		case stacks[e.Stack] || suffixes[contract.VariableSuffix(e.Stack)]:
			bad(field+".Stack", e.Stack, "want each stack once, and stack names that differ in more than case and punctuation (they name job IDs and Actions variables)")
		}
		switch env := e.GitHubEnvironment; {
		case !contract.ValidGitHubEnvironment(env):
			bad(field+".GitHubEnvironment", env, "want a GitHub environment name such as \"production\" (letters, digits, _ . -; at most 255)")
		case strings.EqualFold(env, ImageEnvironment):
			bad(field+".GitHubEnvironment", env, "want another environment than the image job's "+ImageEnvironment+" (GitHub environment names ignore case): the deploy role would trust the image job")
		case envs[strings.ToLower(env)]:
			bad(field+".GitHubEnvironment", env, "want each GitHub environment once (names ignore case)")
		}
		stacks[e.Stack], envs[strings.ToLower(e.GitHubEnvironment)], suffixes[contract.VariableSuffix(e.Stack)] = true, true, true
	}
	if len(p.Environments) > 0 && !owned {
		bad("Owner", p.Owner, "want one of the Environments' stacks")
	}
	if msg := branchProblem(p.DefaultBranch); msg != "" {
		bad("DefaultBranch", p.DefaultBranch, msg)
	}
	if p.ToolRepository != "" {
		if !repositoryRE.MatchString(p.ToolRepository) || strings.HasSuffix(p.ToolRepository, "/.") || strings.HasSuffix(p.ToolRepository, "/..") {
			bad("ToolRepository", p.ToolRepository, "want \"owner/name\" of a GitHub repository, or \"\" when slipway lives in the application repository")
		}
		if !contract.PinnedRef(p.ToolRef) {
			bad("ToolRef", p.ToolRef, "want "+contract.PinnedRefWant)
		}
	}
	if msg := contract.ToolPathProblem(p.ToolPath, p.ToolRepository != ""); msg != "" {
		bad("ToolPath", p.ToolPath, msg)
	}
	if !semverRE.MatchString(p.PulumiVersion) {
		want := "want a Pulumi CLI version x.y.z such as \"3.274.1\""
		if strings.HasPrefix(p.PulumiVersion, "v") {
			want += " (without the leading v)"
		}
		bad("PulumiVersion", p.PulumiVersion, want)
	}
	if !semverRE.MatchString(p.RustToolchain) {
		bad("RustToolchain", p.RustToolchain, "want a Rust release x.y.z such as \"1.95.0\" (not a channel: stable moves with every release)")
	}
	return errors.Join(errs...)
}

// branchProblem checks a branch name against git's ref rules, minus glob
// characters: it is used as a literal branches: filter.
func branchProblem(b string) string {
	const want = "want a branch name such as \"main\" (letters, digits, . _ - /; no glob characters)"
	switch {
	case !branchRE.MatchString(b):
		return want
	case strings.Contains(b, ".."), strings.Contains(b, "//"), strings.HasSuffix(b, "/"),
		strings.HasSuffix(b, "."), strings.HasSuffix(b, ".lock"), strings.Contains(b, "/."):
		return want + ": git forbids \"..\", \"//\", \"/.\" and a trailing \"/\", \".\" or \".lock\""
	}
	return ""
}
