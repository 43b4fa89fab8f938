// Package workflows renders the GitHub Actions workflow files of the
// application repository: CI (tests and an infrastructure preview on pull
// requests), CD (tests, image, rolling deploy on the default branch), a
// manual rollback and a scheduled drift check. The slipway Pulumi program
// manages them as repository files, so they change with the infrastructure
// whose roles, variables and environments they use.
//
// The tests hold the rendered files to the hardening rules and prove that
// what they do matches what the IAM trust policies admit with the
// workflowcheck subpackage, which production code does not import.
package workflows

import (
	"bytes"
	"embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/slipway-dev/slipway/internal/contract"
)

//go:embed templates/*.yml.tmpl
var templateFS embed.FS

// [[ ]] delimiters leave GitHub's ${{ }} expressions untouched.
var templates = template.Must(template.New("workflows").
	Delims("[[", "]]").
	Option("missingkey=error").
	Funcs(template.FuncMap{
		"pin": pinnedUses,
		"credentials": func(roleVar, regionVar string, seconds int) credentials {
			return credentials{RoleVar: roleVar, RegionVar: regionVar, DurationSeconds: seconds}
		},
		"credentialsFor": func(stack, roleVar, regionVar, cond string) credentials {
			return credentials{RoleVar: roleVar, RegionVar: regionVar, Stack: stack, If: cond}
		},
		// Constants workflowcheck.Check holds the files to.
		"deploySessionSeconds":     func() int { return DeploySessionSeconds },
		"deployToolTimeoutMinutes": func() int { return deployToolTimeoutMinutes },
		"toolDeadline":             func() string { return strconv.Itoa(ToolDeadlineMinutes) + "m" },
		"imageEnvironment":         func() string { return ImageEnvironment },
		"buildkitImage":            func() string { return BuildKitImage },
		"toolHashCmd":              func() string { return runScript(ToolHashCmd) },
		"toolRefCmd":               func() string { return runScript(ToolRefCmd) },
		"toolCheckCmd":             func() string { return runScript(ToolCheckCmd) },
		"stackVar":                 StackVariable,
		"slug":                     slug,
		"flow":                     func(items []string) string { return "[" + strings.Join(items, ", ") + "]" },
	}).
	ParseFS(templateFS, "templates/*.yml.tmpl"))

// runScript is a script as the lines of a step's run: |, indented as the
// templates' steps are.
func runScript(s string) string { return strings.ReplaceAll(s, "\n", "\n          ") }

// credentials is the argument of the aws-credentials template.
type credentials struct {
	RoleVar         string // the Actions variable holding the role ARN, e.g. "SLIPWAY_DEPLOY_ROLE_ARN"
	RegionVar       string // the Actions variable holding the region, e.g. "AWS_REGION"
	DurationSeconds int    // role-duration-seconds; 0 leaves the action's default (one hour)
	Stack           string // the stack whose role a multi-stack job assumes ("" in a one-stack job): names the step and its id
	If              string // the step's if: ("" for none)
}

// workflowFiles are the rendered files, sorted; each has the template
// <name>.tmpl (templates/common.yml.tmpl holds the shared snippets).
var workflowFiles = []string{"cd.yml", "ci.yml", "drift.yml", "rollback.yml"}

// WorkflowDir is where the files live in the application repository.
const WorkflowDir = ".github/workflows/"

// File is one rendered workflow file.
type File struct {
	Path    string // in the application repository, e.g. ".github/workflows/ci.yml"
	Content []byte
}

// HeaderPrefix starts every rendered file.
const HeaderPrefix = "# Managed by slipway"

func header(name string) string {
	return HeaderPrefix + " (infra, Pulumi) from workflows/templates/" + name + ".tmpl.\n" +
		"# Do not edit it in place: before CD or a rollback assumes a role, a\n" +
		"# step of it compares every workflow file with what the stack renders\n" +
		"# and refuses to run if one differs (an edit that removes that step is\n" +
		"# for code review to catch: README, security model). Change the\n" +
		"# template in slipway and apply it with deploy up --all.\n\n"
}

// Render returns every workflow file for p, sorted by Path.
func Render(p Params) ([]File, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	files := make([]File, 0, len(workflowFiles))
	for _, name := range workflowFiles {
		var buf bytes.Buffer
		buf.WriteString(header(name))
		if err := templates.ExecuteTemplate(&buf, name+".tmpl", newView(p)); err != nil {
			return nil, fmt.Errorf("workflows: render %s: %w", name, err)
		}
		files = append(files, File{Path: WorkflowDir + name, Content: buf.Bytes()})
	}
	return files, nil
}

// The role variables, as role-to-assume reads them (${{ vars.NAME }}). The
// deploy role trusts only the DeployEnvironment subject; the image role,
// which can push to the service's repository and its build cache and do
// nothing else, trusts only the ImageEnvironment subject; the read-only
// preview role trusts pull_request runs and runs on the default branch
// without environment.
const (
	DeployRoleVar  = "SLIPWAY_DEPLOY_ROLE_ARN"
	ImageRoleVar   = "SLIPWAY_IMAGE_ROLE_ARN"
	PreviewRoleVar = "SLIPWAY_PREVIEW_ROLE_ARN"
)

// ImageEnvironment is the GitHub environment of the image job: limited to
// the default branch, with no reviewers, so that reviewers approve a merge
// once, on the deploy, while the image builds.
const ImageEnvironment = contract.ImagePushEnvironment

// DeploySessionSeconds is the role-duration-seconds of the jobs that run
// the deploy tool with the deploy role: a deploy can outlast the action's
// default one-hour session. The deploy role's MaxSessionDuration must allow
// it.
const DeploySessionSeconds = 7200

// The time budget of the jobs that run up or rollback with the deploy
// role. The tool gets ToolDeadlineMinutes (its --deadline): it waits for
// ECS itself, holding no lock, and skips a reconcile that cannot finish in
// the time left. ToolSetupMinutes covers checkout, Go, the tool's build
// and the Pulumi CLI. The job's timeout is the sum, so the runner never
// kills the tool before its own deadline.
const (
	ToolDeadlineMinutes      = 60
	ToolSetupMinutes         = 15
	deployToolTimeoutMinutes = ToolDeadlineMinutes + ToolSetupMinutes
)

// The Actions variables the workflows read as ${{ vars.NAME }}, in three
// scopes, each list sorted; the program creates every one. A job sees an
// environment's variables only when it names that environment, so each
// lives where the jobs that read it run.

// DeployVariables are the variables of each deploy environment, set by
// its stack on its GitHub environment: the deploy and rollback jobs read
// them.
func DeployVariables() []string {
	return []string{"AWS_REGION", "ECS_CLUSTER", "ECS_SERVICE", "PULUMI_BACKEND_URL", DeployRoleVar, "SLIPWAY_STACK"}
}

// ImageVariables are the variables of the image-push environment, set by
// the stack that owns the registry: the image job reads them.
func ImageVariables() []string {
	return []string{
		"AWS_REGION",
		"ECR_CACHE_REPOSITORY", // the image build cache's MUTABLE repository URL; only the image role pushes to it
		"ECR_REPOSITORY",       // repository URL: ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME
		ImageRoleVar,
	}
}

// StackVariables are the bases of each stack's repository variables,
// named StackVariable(base, stack): the pull request preview and the drift
// check, which run in no environment, read them.
func StackVariables() []string {
	return []string{"AWS_REGION", "PULUMI_BACKEND_URL", PreviewRoleVar}
}

// Variables are every variable name the files rendered for p read, in
// any scope, sorted.
func Variables(p Params) []string {
	names := append(append(DeployVariables(), ImageVariables()...), RepositoryVariables(p)...)
	slices.Sort(names)
	return slices.Compact(names)
}

// RepositoryVariables are the repository variables of p's stacks: each
// of StackVariables, named for each stack, in the stacks' order.
func RepositoryVariables(p Params) []string {
	var names []string
	for _, e := range p.Environments {
		for _, base := range StackVariables() {
			names = append(names, StackVariable(base, e.Stack))
		}
	}
	return names
}

// StackVariable is the name of stack's repository variable base, such as
// SLIPWAY_PREVIEW_ROLE_ARN_STAGING.
func StackVariable(base, stack string) string { return base + "_" + contract.VariableSuffix(stack) }

// JobID is the ID of the CD job that deploys stack, such as deploy-staging.
func JobID(stack string) string { return "deploy-" + slug(stack) }

// slug is stack as a part of a job or step ID: lower case, every
// character other than a letter or digit a hyphen.
func slug(stack string) string {
	return strings.ReplaceAll(strings.ToLower(contract.VariableSuffix(stack)), "_", "-")
}

// DeployGroup is the concurrency group of everything that changes the
// stack of GitHub environment env: its CD job and the rollback job run for
// env, never cancelled (a cancelled update leaves the stack locked).
func DeployGroup(env string) string { return "deploy-" + env }

// stage is one environment of the CD chain, as the templates render it.
type stage struct {
	contract.Environment
	JobID string
	Needs []string // the jobs it waits for
	From  string   // the stack whose verified SHA it promotes; "" for the first
	Group string   // its concurrency group
}

// view is what the templates render: the params and the stages.
type view struct {
	Params
	Stages []stage
}

func newView(p Params) view {
	v := view{Params: p}
	for i, e := range p.Environments {
		s := stage{Environment: e, JobID: JobID(e.Stack), Needs: []string{"test", "tool", "image"}, Group: DeployGroup(e.GitHubEnvironment)}
		if i > 0 {
			prev := p.Environments[i-1]
			s.Needs, s.From = append(s.Needs, JobID(prev.Stack)), prev.Stack
		}
		v.Stages = append(v.Stages, s)
	}
	return v
}

// GitHubReadTokenSecret is the Actions secret the drift job passes to the
// tool as GITHUB_TOKEN, so that its refresh can read the stack's GitHub
// resources (RepositoryFile, ActionsVariable, RepositoryEnvironment): a
// fine-grained token on the application repository only, with read-only
// Contents, Variables, Environments and Actions permissions (Actions: the
// deployment branch policies drift checks). The job's own token cannot read
// Actions variables.
const GitHubReadTokenSecret = "SLIPWAY_GITHUB_READ_TOKEN"

// Secrets are the names of the Actions secrets the workflows read as
// ${{ secrets.NAME }}, sorted. PULUMI_CONFIG_PASSPHRASE is required.
// SLIPWAY_GITHUB_READ_TOKEN (GitHubReadTokenSecret) is required for drift:
// without it the drift job cannot refresh the stack's GitHub resources.
// SLIPWAY_REPO_TOKEN is optional, read only when ToolRepository is set and
// needed only when that repository is private.
func Secrets() []string {
	return []string{"PULUMI_CONFIG_PASSPHRASE", GitHubReadTokenSecret, "SLIPWAY_REPO_TOKEN", "SLIPWAY_WEBHOOK_URL"}
}

// ToolRefCmd names, for the job's later steps, the commit of slipway
// checked out (SLIPWAY_TOOL_REF, contract.ToolRefEnv): the workflow files
// pin it, and the tool renders them with it. A failed git fails the step
// (set -e, whatever shell: the step is given), before any tool step.
const ToolRefCmd = `set -euo pipefail
ref=$(git rev-parse --verify HEAD)
echo "SLIPWAY_TOOL_REF=$ref" >>"$GITHUB_ENV"`

// The scripts of CD's tool job and of the jobs that fetch the tool it
// built, which workflowcheck.Check holds the files to. ToolHashCmd outputs
// the built tool's SHA-256 as the step output sha256. ToolCheckCmd runs
// the fetched tool only if its SHA-256 is WANT (the tool job's output),
// installed where the tool steps run it. Each sets its own shell options:
// a shell: without -e cannot make a failed step pass.
const (
	ToolHashCmd = `set -euo pipefail
sum=$(sha256sum "$RUNNER_TEMP/slipway" | cut -d ' ' -f 1)
echo "sha256=$sum" >>"$GITHUB_OUTPUT"`
	ToolCheckCmd = `set -euo pipefail
if ! [[ $WANT =~ ^[0-9a-f]{64}$ ]]; then
  echo "::error title=No deploy tool hash::the tool job output no SHA-256 of the tool it built"
  exit 1
fi
echo "$WANT  $RUNNER_TEMP/tool/slipway" | sha256sum --check --strict -
install -m 0755 "$RUNNER_TEMP/tool/slipway" "$RUNNER_TEMP/slipway"`
)

// BuildKitImage is the BuildKit the image job builds with: a release tag
// of moby/buildkit (ACTIONS.md says where it came from), not the moving
// buildx-stable-1 the action would run.
const BuildKitImage = "moby/buildkit:v0.32.2"
