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
	Stack             string // pulumi stack, e.g. "prod"
	DeployEnvironment string // GitHub environment of deploy jobs: "production"
	DefaultBranch     string // "main"
	ToolRepository    string // "owner/name" of the slipway repo to check out; "" = slipway lives inside the application repository at ToolPath
	ToolRef           string // full 40-hex lowercase commit SHA of ToolRepository (not a tag: one can be moved, and the tool runs with the deploy role); ignored when ToolRepository == ""
	ToolPath          string // where slipway is: its checkout folder (".slipway") or, when ToolRepository == "", its folder in the app repo ("deploy")
	PulumiVersion     string // Pulumi CLI version, e.g. "3.274.1" (no leading v)
	RustToolchain     string // the application's Rust toolchain, a release x.y.z such as "1.95.0" (not "stable": a new release would change the build)
}

var (
	stackRE      = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,2}$`)
	envRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
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

	if !stackRE.MatchString(p.Stack) {
		bad("Stack", p.Stack, "want a Pulumi stack name such as \"prod\" (letters, digits, _ . -; optionally org/project/stack)")
	}
	switch {
	case !envRE.MatchString(p.DeployEnvironment) || len(p.DeployEnvironment) > 255:
		bad("DeployEnvironment", p.DeployEnvironment, "want a GitHub environment name such as \"production\" (letters, digits, _ . -; at most 255)")
	case strings.EqualFold(p.DeployEnvironment, ImageEnvironment):
		bad("DeployEnvironment", p.DeployEnvironment, "want another environment than the image job's "+ImageEnvironment+" (GitHub environment names ignore case): the deploy role would trust the image job")
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
