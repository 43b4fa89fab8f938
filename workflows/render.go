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
	"strconv"
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
		"pin":         pinnedUses,
		"credentials": func(roleVar string, seconds int) credentials { return credentials{roleVar, seconds} },
		// Constants workflowcheck.Check holds the files to.
		"deploySessionSeconds":     func() int { return DeploySessionSeconds },
		"deployToolTimeoutMinutes": func() int { return deployToolTimeoutMinutes },
		"toolDeadline":             func() string { return strconv.Itoa(ToolDeadlineMinutes) + "m" },
		"imageEnvironment":         func() string { return ImageEnvironment },
	}).
	ParseFS(templateFS, "templates/*.yml.tmpl"))

// credentials is the argument of the aws-credentials template.
type credentials struct {
	RoleVar         string // the Actions variable holding the role ARN, e.g. "SLIPWAY_DEPLOY_ROLE_ARN"
	DurationSeconds int    // role-duration-seconds; 0 leaves the action's default (one hour)
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
		"# Do not edit it in place: before CD or a rollback assumes a role, it\n" +
		"# compares every workflow file with what the stack renders and refuses\n" +
		"# to run if one differs. Change the template in slipway and apply it\n" +
		"# with deploy up --all.\n\n"
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
		if err := templates.ExecuteTemplate(&buf, name+".tmpl", p); err != nil {
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

// Variables are the names of the repository Actions variables the
// workflows read as ${{ vars.NAME }}, sorted. The program creates them.
func Variables() []string {
	return []string{
		"AWS_REGION",
		"ECR_CACHE_REPOSITORY", // the image build cache's MUTABLE repository URL; only the image role pushes to it
		"ECR_REPOSITORY",       // repository URL: ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME
		"ECS_CLUSTER",
		"ECS_SERVICE",
		"PULUMI_BACKEND_URL",
		DeployRoleVar,
		ImageRoleVar,
		PreviewRoleVar,
		"SLIPWAY_STACK",
	}
}

// GitHubReadTokenSecret is the Actions secret the drift job passes to the
// tool as GITHUB_TOKEN, so that its refresh can read the stack's GitHub
// resources (RepositoryFile, ActionsVariable, RepositoryEnvironment): a
// fine-grained token on the application repository only, with read-only
// Contents, Variables and Environments permissions. The job's own token
// cannot read Actions variables.
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
