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
	CacheURL       pulumi.StringInput // the build-cache repository; nil unless the stack owns the registry
	DeployRoleArn  pulumi.StringInput
	ImageRoleArn   pulumi.StringInput // nil unless the stack owns the registry
	PreviewRoleArn pulumi.StringInput

	// Roles are those whose trust the OIDC subject template must match:
	// the template changes only after their trust policies did (GitHub:
	// create the matching condition first).
	Roles []pulumi.Resource
}

// GitHub is the application repository's side of one stack: its GitHub
// environment (deployments from main only) with the Actions variables its
// deploy jobs read, and its repository variables for the preview and the
// drift check. The stack that owns the registry also manages what the
// repository has once: the workflow files, the OIDC subject template,
// which actions may run, and the image-push environment with its
// variables.
type GitHub struct {
	pulumi.ResourceState
}

// ErrNotOwner is returned by Workflows for a stack that does not own the
// registry: another stack renders the files.
var ErrNotOwner = errors.New("the workflow files are rendered by the stack that owns the registry (slipway:registry own), which lists every environment")

// Workflows are the workflow files the stack that owns the registry
// commits, rendered from its config: the program's and the deploy tool's
// integrity check's one render.
func Workflows(cfg contract.Config) ([]workflows.File, error) {
	if !cfg.Registry.Own {
		return nil, fmt.Errorf("stack %s: %w", cfg.Stack, ErrNotOwner)
	}
	return workflows.Render(WorkflowParams(cfg))
}

// WorkflowParams are the values the workflow templates render with. None
// depends on the image SHA: a deploy never rewrites a workflow file.
func WorkflowParams(cfg contract.Config) workflows.Params {
	return workflows.Params{
		Owner:          cfg.Stack,
		Environments:   cfg.Environments,
		DefaultBranch:  DefaultBranch,
		ToolRepository: cfg.ToolRepository,
		ToolRef:        cfg.ToolRef,
		ToolPath:       cfg.ToolPath,
		PulumiVersion:  pins.Pulumi,
		RustToolchain:  cfg.RustToolchain,
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
func mainOnlyEnvironment(ctx *pulumi.Context, repo pulumi.StringInput, env string, parent pulumi.ResourceOption, opts ...pulumi.ResourceOption) (*github.RepositoryEnvironment, error) {
	e, err := github.NewRepositoryEnvironment(ctx, env+"-environment", &github.RepositoryEnvironmentArgs{
		Repository:  repo,
		Environment: pulumi.String(env),
		DeploymentBranchPolicy: &github.RepositoryEnvironmentDeploymentBranchPolicyArgs{
			ProtectedBranches:    pulumi.Bool(false),
			CustomBranchPolicies: pulumi.Bool(true),
		},
	}, append([]pulumi.ResourceOption{parent}, opts...)...)
	if err != nil {
		return nil, err
	}
	_, err = github.NewRepositoryEnvironmentDeploymentPolicy(ctx, env+"-from-main", &github.RepositoryEnvironmentDeploymentPolicyArgs{
		Repository:    repo,
		Environment:   e.Environment,
		BranchPattern: pulumi.String(DefaultBranch),
	}, parent)
	return e, err
}

// NewGitHub manages the stack's environment and variables and, in the
// stack that owns the registry, the repository-wide resources.
func NewGitHub(ctx *pulumi.Context, name string, cfg contract.Config, args GitHubArgs, opts ...pulumi.ResourceOption) (*GitHub, error) {
	g := &GitHub{}
	if err := ctx.RegisterComponentResource("slipway:infra:GitHub", name, g, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(g)
	repo := pulumi.String(cfg.GitHubRepo)

	if cfg.Registry.Own {
		if err := repositoryWide(ctx, cfg, args, repo, parent); err != nil {
			return nil, err
		}
	}

	// Reviewers and wait timers of the deploy environment are the
	// repository owners' to set; the stack only insists on the branch
	// policy.
	env, err := mainOnlyEnvironment(ctx, repo, cfg.GitHubEnvironment, parent, pulumi.IgnoreChanges([]string{"reviewers", "waitTimer", "preventSelfReview", "canAdminsBypass"}))
	if err != nil {
		return nil, err
	}
	if err := environmentVariables(ctx, repo, env, "var-", workflows.DeployVariables(), map[string]pulumi.StringInput{
		"AWS_REGION":            pulumi.String(cfg.Region),
		"ECS_CLUSTER":           pulumi.String(cfg.ClusterName),
		"ECS_SERVICE":           pulumi.String(cfg.ServiceName),
		"PULUMI_BACKEND_URL":    pulumi.String(cfg.BackendURL),
		workflows.DeployRoleVar: args.DeployRoleArn,
		"SLIPWAY_STACK":         pulumi.String(cfg.Stack),
	}, parent); err != nil {
		return nil, err
	}
	stackVar := func(base string) string { return workflows.StackVariable(base, cfg.Stack) }
	var names []string
	for _, base := range workflows.StackVariables() {
		names = append(names, stackVar(base))
	}
	if err := setVariables(names, map[string]pulumi.StringInput{
		stackVar("AWS_REGION"):             pulumi.String(cfg.Region),
		stackVar("PULUMI_BACKEND_URL"):     pulumi.String(cfg.BackendURL),
		stackVar(workflows.PreviewRoleVar): args.PreviewRoleArn,
	}, func(v string, value pulumi.StringInput) error {
		_, err := github.NewActionsVariable(ctx, variableResourceName("var-", v), &github.ActionsVariableArgs{
			Repository:   repo,
			VariableName: pulumi.String(v),
			Value:        value,
		}, parent)
		return err
	}); err != nil {
		return nil, err
	}
	return g, ctx.RegisterResourceOutputs(g, pulumi.Map{})
}

// setVariables calls set with each of names and its value from values;
// a name without one is an error: the workflows would read it empty.
func setVariables(names []string, values map[string]pulumi.StringInput, set func(name string, value pulumi.StringInput) error) error {
	for _, v := range names {
		value, ok := values[v]
		if !ok {
			return errors.New("the workflows read vars." + v + ", which the program does not set")
		}
		if err := set(v, value); err != nil {
			return err
		}
	}
	return nil
}

// variableResourceName is the logical name of an Actions variable's
// resource: prefix + "AWS_REGION" → prefix + "aws-region".
func variableResourceName(prefix, v string) string {
	return prefix + strings.ToLower(strings.ReplaceAll(v, "_", "-"))
}

// environmentVariables creates the variables names on environment env,
// each with its value from values (see setVariables).
func environmentVariables(ctx *pulumi.Context, repo pulumi.StringInput, env *github.RepositoryEnvironment, prefix string, names []string, values map[string]pulumi.StringInput, parent pulumi.ResourceOption) error {
	return setVariables(names, values, func(v string, value pulumi.StringInput) error {
		_, err := github.NewActionsEnvironmentVariable(ctx, variableResourceName(prefix, v), &github.ActionsEnvironmentVariableArgs{
			Repository:   repo,
			Environment:  env.Environment,
			VariableName: pulumi.String(v),
			Value:        value,
		}, parent)
		return err
	})
}

// repositoryWide manages what the application repository has once: the
// workflow files, the subject template, the Actions permissions, and the
// image-push environment with its variables.
func repositoryWide(ctx *pulumi.Context, cfg contract.Config, args GitHubArgs, repo pulumi.StringInput, parent pulumi.ResourceOption) error {
	files, err := Workflows(cfg)
	if err != nil {
		return err
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
			return err
		}
	}

	if cfg.OIDCSubjectTemplate {
		if _, err := github.NewActionsRepositoryOidcSubjectClaimCustomizationTemplate(ctx, "oidc-subject-template", &github.ActionsRepositoryOidcSubjectClaimCustomizationTemplateArgs{
			Repository:       repo,
			UseDefault:       pulumi.Bool(false),
			IncludeClaimKeys: pulumi.ToStringArray(SubjectClaimKeys),
		}, parent, pulumi.DependsOn(args.Roles)); err != nil {
			return err
		}
	}

	// Only the pinned actions, by SHA: a moved tag or a new action cannot
	// run in the repository, whoever edits a workflow.
	allowed, err := AllowedActions(files)
	if err != nil {
		return err
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
		return err
	}

	// The image job's environment: no reviewers (a push waits for nobody;
	// the deploys that follow are the environments'), all of it the
	// stack's.
	env, err := mainOnlyEnvironment(ctx, repo, ImageEnv, parent)
	if err != nil {
		return err
	}
	return environmentVariables(ctx, repo, env, "image-var-", workflows.ImageVariables(), map[string]pulumi.StringInput{
		"AWS_REGION":           pulumi.String(cfg.Region),
		"ECR_REPOSITORY":       args.RepositoryURL,
		"ECR_CACHE_REPOSITORY": args.CacheURL,
		workflows.ImageRoleVar: args.ImageRoleArn,
	}, parent)
}
