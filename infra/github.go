package infra

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-github/sdk/v6/go/github"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/pins"
	"github.com/slipway-dev/slipway/workflows"
)

// GitHubArgs are the values the application repository's workflows read.
type GitHubArgs struct {
	RepositoryURL  pulumi.StringInput
	CacheURL       pulumi.StringInput // the build-cache repository
	DeployRoleArn  pulumi.StringInput
	ImageRoleArn   pulumi.StringInput
	PreviewRoleArn pulumi.StringInput

	// Roles are those whose trust the OIDC subject template must match:
	// the template changes only after their trust policies did (GitHub:
	// create the matching condition first).
	Roles []pulumi.Resource
}

// GitHub is the application repository's side: its workflow files, the
// Actions variables they read, its OIDC subject template, which actions
// may run, and the production and image-push environments (deployments
// from main only).
type GitHub struct {
	pulumi.ResourceState
}

// Workflows are the workflow files the stack commits, rendered from its
// config: the program's and the deploy tool's integrity check's one render.
func Workflows(cfg contract.Config, stack string) ([]workflows.File, error) {
	return workflows.Render(WorkflowParams(cfg, stack))
}

// WorkflowParams are the values the workflow templates render with. None
// depends on the image SHA: a deploy never rewrites a workflow file.
func WorkflowParams(cfg contract.Config, stack string) workflows.Params {
	return workflows.Params{
		Stack:             stack,
		DeployEnvironment: cfg.GitHubEnvironment,
		DefaultBranch:     DefaultBranch,
		ToolRepository:    cfg.ToolRepository,
		ToolRef:           cfg.ToolRef,
		ToolPath:          cfg.ToolPath,
		PulumiVersion:     pins.Pulumi,
		RustToolchain:     cfg.RustToolchain,
	}
}

// workflowResourceName is the logical name of a workflow file's resource:
// ".github/workflows/cd.yml" → "workflow-cd".
func workflowResourceName(file string) string {
	return "workflow-" + strings.TrimSuffix(path.Base(file), path.Ext(file))
}

// usesLine is a step's or job's uses: value.
var usesLine = regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)`)

// AllowedActions are the only actions the repository may run: every
// owner/repo@SHA the rendered files use, each the pin of its action in the
// workflows' pin table, sorted. A uses: that is not a pin fails.
func AllowedActions(files []workflows.File) ([]string, error) {
	var out []string
	for _, f := range files {
		for _, m := range usesLine.FindAllSubmatch(f.Content, -1) {
			uses := string(m[1])
			action, sha, _ := strings.Cut(uses, "@")
			if pin, ok := workflows.LookupPin(action); !ok || pin.SHA != sha {
				return nil, fmt.Errorf("%s uses %s, which is not the pin of %s in the workflows' pin table", f.Path, uses, action)
			}
			out = append(out, uses)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// mainOnlyEnvironment creates the environment env (logical name
// "<env>-environment") whose deployments GitHub limits to custom branch
// policies, and its one policy, the default branch ("<env>-from-main").
// Without the subject template its jobs' subjects carry no branch: this
// policy is what keeps them on main.
func mainOnlyEnvironment(ctx *pulumi.Context, repo pulumi.StringInput, env string, parent pulumi.ResourceOption, opts ...pulumi.ResourceOption) error {
	e, err := github.NewRepositoryEnvironment(ctx, env+"-environment", &github.RepositoryEnvironmentArgs{
		Repository:  repo,
		Environment: pulumi.String(env),
		DeploymentBranchPolicy: &github.RepositoryEnvironmentDeploymentBranchPolicyArgs{
			ProtectedBranches:    pulumi.Bool(false),
			CustomBranchPolicies: pulumi.Bool(true),
		},
	}, append([]pulumi.ResourceOption{parent}, opts...)...)
	if err != nil {
		return err
	}
	_, err = github.NewRepositoryEnvironmentDeploymentPolicy(ctx, env+"-from-main", &github.RepositoryEnvironmentDeploymentPolicyArgs{
		Repository:    repo,
		Environment:   e.Environment,
		BranchPattern: pulumi.String(DefaultBranch),
	}, parent)
	return err
}

// NewGitHub manages the workflow files, the variables, the subject
// template, the Actions permissions and the environment.
func NewGitHub(ctx *pulumi.Context, name string, cfg contract.Config, args GitHubArgs, opts ...pulumi.ResourceOption) (*GitHub, error) {
	g := &GitHub{}
	if err := ctx.RegisterComponentResource("slipway:infra:GitHub", name, g, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(g)
	repo := pulumi.String(cfg.GitHubRepo)

	files, err := Workflows(cfg, ctx.Stack())
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if _, err := github.NewRepositoryFile(ctx, workflowResourceName(f.Path), &github.RepositoryFileArgs{
			Repository: repo,
			Branch:     pulumi.String(DefaultBranch),
			File:       pulumi.String(f.Path),
			Content:    pulumi.String(string(f.Content)),
			// [skip ci]: an administrator's up --all must not start CD.
			CommitMessage:     pulumi.String("slipway: update " + f.Path + " [skip ci]"),
			OverwriteOnCreate: pulumi.Bool(true),
		}, parent); err != nil {
			return nil, err
		}
	}

	if cfg.OIDCSubjectTemplate {
		if _, err := github.NewActionsRepositoryOidcSubjectClaimCustomizationTemplate(ctx, "oidc-subject-template", &github.ActionsRepositoryOidcSubjectClaimCustomizationTemplateArgs{
			Repository:       repo,
			UseDefault:       pulumi.Bool(false),
			IncludeClaimKeys: pulumi.ToStringArray(SubjectClaimKeys),
		}, parent, pulumi.DependsOn(args.Roles)); err != nil {
			return nil, err
		}
	}

	// Only the pinned actions, by SHA: a moved tag or a new action cannot
	// run in the repository, whoever edits a workflow.
	allowed, err := AllowedActions(files)
	if err != nil {
		return nil, err
	}
	if _, err := github.NewActionsRepositoryPermissions(ctx, "actions-permissions", &github.ActionsRepositoryPermissionsArgs{
		Repository:         repo,
		Enabled:            pulumi.Bool(true),
		AllowedActions:     pulumi.String("selected"),
		ShaPinningRequired: pulumi.Bool(true),
		AllowedActionsConfig: &github.ActionsRepositoryPermissionsAllowedActionsConfigArgs{
			GithubOwnedAllowed: pulumi.Bool(false),
			VerifiedAllowed:    pulumi.Bool(false),
			PatternsAlloweds:   pulumi.ToStringArray(allowed),
		},
	}, parent); err != nil {
		return nil, err
	}

	values := map[string]pulumi.StringInput{
		"AWS_REGION":             pulumi.String(cfg.Region),
		"ECR_REPOSITORY":         args.RepositoryURL,
		"ECR_CACHE_REPOSITORY":   args.CacheURL,
		"ECS_CLUSTER":            pulumi.String(cfg.ClusterName),
		"ECS_SERVICE":            pulumi.String(cfg.ServiceName),
		"PULUMI_BACKEND_URL":     pulumi.String(cfg.BackendURL),
		workflows.DeployRoleVar:  args.DeployRoleArn,
		workflows.PreviewRoleVar: args.PreviewRoleArn,
		"SLIPWAY_IMAGE_ROLE_ARN": args.ImageRoleArn,
		"SLIPWAY_STACK":          pulumi.String(ctx.Stack()),
	}
	for _, v := range workflows.Variables() {
		value, ok := values[v]
		if !ok {
			return nil, errors.New("the workflows read vars." + v + ", which the program does not set")
		}
		if _, err := github.NewActionsVariable(ctx, "var-"+strings.ToLower(strings.ReplaceAll(v, "_", "-")), &github.ActionsVariableArgs{
			Repository:   repo,
			VariableName: pulumi.String(v),
			Value:        value,
		}, parent); err != nil {
			return nil, err
		}
	}

	// Reviewers and wait timers of production are the repository owners'
	// to set; the stack only insists on the branch policy.
	if err := mainOnlyEnvironment(ctx, repo, cfg.GitHubEnvironment, parent, pulumi.IgnoreChanges([]string{"reviewers", "waitTimer", "preventSelfReview", "canAdminsBypass"})); err != nil {
		return nil, err
	}
	// The image job's environment: no reviewers (a push waits for nobody;
	// the deploy that follows is production's), all of it the stack's.
	if err := mainOnlyEnvironment(ctx, repo, ImageEnv, parent); err != nil {
		return nil, err
	}
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{})
}
