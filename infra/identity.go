package infra

import (
	"cmp"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/workflows"
)

// GitHub Actions OIDC.
const (
	GitHubOIDCURL  = "https://token.actions.githubusercontent.com"
	GitHubOIDCHost = "token.actions.githubusercontent.com"
	OIDCAudience   = "sts.amazonaws.com"
	AudienceKey    = GitHubOIDCHost + ":aud"
	SubjectKey     = GitHubOIDCHost + ":sub"
	ImageEnv       = workflows.ImageEnvironment // the GitHub environment of the image job
	DefaultBranch  = "main"
)

// SubjectClaimKeys is the application repository's OIDC subject template
// (with slipway:oidcSubjectTemplate). GitHub renders each key as key:value,
// joined by ":", except context, which is the part of the default subject
// after the repository (environment:NAME, pull_request or ref:REF): so
// every subject ends with the job's ref. GitHub's example for
// ["repo", "context", "job_workflow_ref"] is
// repo:octo-org/octo-repo:environment:prod:job_workflow_ref:... ("OpenID
// Connect reference", customizing the subject claims).
var SubjectClaimKeys = []string{"repo", "context", "ref"}

// SubjectPrefix is the start of every OIDC subject the application
// repository emits: repo:OWNER/REPO, or the immutable
// repo:OWNER@OWNER_ID/REPO@REPO_ID when the IDs are configured.
func SubjectPrefix(cfg contract.Config) string {
	if cfg.GitHubOwnerID != "" {
		return fmt.Sprintf("repo:%s@%s/%s@%s", cfg.GitHubOwner, cfg.GitHubOwnerID, cfg.GitHubRepo, cfg.GitHubRepoID)
	}
	return fmt.Sprintf("repo:%s/%s", cfg.GitHubOwner, cfg.GitHubRepo)
}

// Subjects are the OIDC subjects one role trusts: Exact ones
// (StringEquals) and Patterns (StringLike, whose * stands for a pull
// request's number).
type Subjects struct {
	Exact    []string
	Patterns []string
}

// mainRef is the ref suffix the subject template adds to a job on the
// default branch ("" without the template).
func mainRef(cfg contract.Config) string {
	if !cfg.OIDCSubjectTemplate {
		return ""
	}
	return ":ref:refs/heads/" + DefaultBranch
}

// environmentSubject is the subject of a job in environment env run from
// the default branch. Without the template it carries no branch: the
// environment's deployment branch policy is what limits it to main.
func environmentSubject(cfg contract.Config, env string) string {
	return SubjectPrefix(cfg) + ":environment:" + env + mainRef(cfg)
}

// DeploySubjects is what the deploy role trusts: a job of the application
// repository in the stack's own GitHub environment, on main. No other
// environment's job (staging's for the production role, or the other way
// round) has that subject.
func DeploySubjects(cfg contract.Config) Subjects {
	return Subjects{Exact: []string{environmentSubject(cfg, cfg.GitHubEnvironment)}}
}

// TrustedEnvironments are the GitHub environments whose jobs the stack's
// roles trust: its deploy environment, and the image job's when it owns
// the registry. Their deployment branch policies keep them on main.
func TrustedEnvironments(cfg contract.Config) []string {
	if cfg.Registry.Own {
		return []string{cfg.GitHubEnvironment, ImageEnv}
	}
	return []string{cfg.GitHubEnvironment}
}

// OIDCProviderArn is the ARN of the account's GitHub OIDC provider, which
// a stack reuses when another stack of its account owns it.
func OIDCProviderArn(a Account) string {
	return a.ARN("iam", "", "oidc-provider/"+GitHubOIDCHost)
}

// createsOIDCProvider reports whether the stack creates the account's
// provider: when no ARN is configured, and it owns the registry or the
// registry's stack is in another account. A stack whose registry is in its
// own account reuses that stack's provider (one per URL per account).
func createsOIDCProvider(cfg contract.Config, a Account) bool {
	return cfg.OIDCProviderArn == "" && (cfg.Registry.Own || !cfg.Registry.InAccount(a.ID))
}

// ImageSubjects is what the image role trusts: a job in the image-push
// environment, on main.
func ImageSubjects(cfg contract.Config) Subjects {
	return Subjects{Exact: []string{environmentSubject(cfg, ImageEnv)}}
}

// PreviewSubjects is what the read-only preview role trusts: pull request
// runs (previews) and runs on main without an environment (the scheduled
// drift check). With the template a pull request run's subject names its
// merge ref, refs/pull/<n>/merge, and a run on main names the branch twice
// (context ref:refs/heads/main, then the ref claim); a pull_request_target
// run (ref: the base branch) matches neither.
func PreviewSubjects(cfg contract.Config) Subjects {
	p := SubjectPrefix(cfg)
	if !cfg.OIDCSubjectTemplate {
		return Subjects{Exact: []string{p + ":pull_request", p + ":ref:refs/heads/" + DefaultBranch}}
	}
	return Subjects{
		Exact:    []string{p + ":ref:refs/heads/" + DefaultBranch + mainRef(cfg)},
		Patterns: []string{p + ":pull_request:ref:refs/pull/*/merge"},
	}
}

// Account is where the stack runs: ARNs are built from it.
type Account struct {
	ID        string
	Partition string
	Region    string
}

// ARN builds an ARN in this account and region ("" region for global services).
func (a Account) ARN(service, region, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", a.Partition, service, region, a.ID, resource)
}

// IdentityArgs are the resources the CI roles are scoped to.
type IdentityArgs struct {
	Account       Account
	Stack         string
	RepositoryArn pulumi.StringInput
	CacheArn      pulumi.StringInput // the build-cache repository; nil when another stack owns the registry
	Service       *Service
	Data          *Data

	// Set by NewIdentity for the preview role's reads: the provider and
	// every role of the stack.
	ProviderArn pulumi.StringInput
	RoleArns    []pulumi.StringInput
}

// Identity is what GitHub Actions assumes: the OIDC provider (created, or
// the account's existing one) and the deploy, image and preview roles.
type Identity struct {
	pulumi.ResourceState

	ProviderArn    pulumi.StringOutput
	DeployRoleArn  pulumi.StringOutput
	ImageRoleArn   pulumi.StringInput // nil when another stack owns the registry
	PreviewRoleArn pulumi.StringOutput
	// Roles are the three roles, whose trust policies the OIDC subject
	// template must match.
	Roles []pulumi.Resource
}

// registryArns are the repositories the preview role reads: the image
// repository and, in the owning stack, the build cache.
func registryArns(args IdentityArgs) []pulumi.StringInput {
	if args.CacheArn == nil {
		return []pulumi.StringInput{args.RepositoryArn}
	}
	return []pulumi.StringInput{args.RepositoryArn, args.CacheArn}
}

// trust lets the GitHub OIDC provider's tokens for the STS audience assume
// the role with one of subjects: one statement for the exact subjects
// (StringEquals), one for the patterns (StringLike), so that no pattern
// widens an exact subject.
func trust(provider pulumi.StringInput, subjects Subjects) pulumi.StringOutput {
	statement := func(operator string, values []string) Statement {
		return Statement{
			Actions:   []string{"sts:AssumeRoleWithWebIdentity"},
			Federated: provider,
			Conditions: []Condition{
				{Operator: "StringEquals", Key: AudienceKey, Values: Strings(OIDCAudience)},
				{Operator: operator, Key: SubjectKey, Values: Strings(values...)},
			},
		}
	}
	var statements []Statement
	if len(subjects.Exact) > 0 {
		statements = append(statements, statement("StringEquals", subjects.Exact))
	}
	if len(subjects.Patterns) > 0 {
		statements = append(statements, statement("StringLike", subjects.Patterns))
	}
	return Document(statements...)
}

// stateBucketStatements grant the stack's own state objects in the S3
// backend (the DIY backend's layout: .pulumi/{stacks,history,backups,locks}
// per project and stack), read-only or read/write, and the backend's
// meta.yaml read-only. Other stacks and projects in the bucket stay out of
// reach.
func stateBucketStatements(cfg contract.Config, args IdentityArgs, write bool) []Statement {
	if cfg.StateBucket == "" {
		return nil
	}
	bucket := fmt.Sprintf("arn:%s:s3:::%s", args.Account.Partition, cfg.StateBucket)
	root := bucket + "/"
	if cfg.StatePrefix != "" {
		root += cfg.StatePrefix + "/"
	}
	root += ".pulumi/"
	stack := []string{
		root + "stacks/" + contract.Project + "/" + args.Stack + ".json*",
		root + "history/" + contract.Project + "/" + args.Stack + "/*",
		root + "backups/" + contract.Project + "/" + args.Stack + "/*",
		root + "locks/*/" + contract.Project + "/" + args.Stack + "/*",
	}
	objects := []string{"s3:GetObject"}
	if write {
		objects = append(objects, "s3:PutObject", "s3:DeleteObject")
	}
	statements := []Statement{
		{Sid: "StateList", Actions: []string{"s3:ListBucket"}, Resources: Strings(bucket)},
		{Sid: "StateMeta", Actions: []string{"s3:GetObject"}, Resources: Strings(root + "meta.yaml")},
		{Sid: "StateObjects", Actions: objects, Resources: Strings(stack...)},
	}
	if write && cfg.PromoteFrom != "" {
		// deploy promote reads the source stack's checkpoint and history:
		// read-only, and never its locks or backups.
		from := cfg.PromoteFrom
		statements = append(statements, Statement{Sid: "PromoteFromState", Actions: []string{"s3:GetObject"}, Resources: Strings(
			root+"stacks/"+contract.Project+"/"+from+".json*",
			root+"history/"+contract.Project+"/"+from+"/*",
		)})
	}
	return statements
}

// Service deployments and revisions of this service. The Service
// Authorization Reference for Amazon ECS ("Actions, resources, and
// condition keys for Amazon Elastic Container Service") gives
// ListServiceDeployments the service resource type, DescribeServiceDeployments
// and StopServiceDeployment the service-deployment type
// (service-deployment/<cluster>/<service>/<id>) and DescribeServiceRevisions
// the service-revision type (service-revision/<cluster>/<service>/<id>); the
// ECS Developer Guide's "Permissions required for viewing Amazon ECS service
// deployments" scopes the three reads to one service the same way.
func rolloutResources(cfg contract.Config, a Account) (deployments, revisions string) {
	return a.ARN("ecs", a.Region, fmt.Sprintf("service-deployment/%s/%s/*", cfg.ClusterName, cfg.ServiceName)),
		a.ARN("ecs", a.Region, fmt.Sprintf("service-revision/%s/%s/*", cfg.ClusterName, cfg.ServiceName))
}

// rolloutReads are the statements the deploy tool's rollout tracking reads
// with: this service's deployments and the revisions they move between.
func rolloutReads(cfg contract.Config, a Account, service string) []Statement {
	deployments, revisions := rolloutResources(cfg, a)
	return []Statement{
		{Sid: "ListDeployments", Actions: []string{"ecs:ListServiceDeployments"}, Resources: Strings(service)},
		{Sid: "DescribeDeployments", Actions: []string{"ecs:DescribeServiceDeployments"}, Resources: Strings(deployments)},
		{Sid: "DescribeRevisions", Actions: []string{"ecs:DescribeServiceRevisions"}, Resources: Strings(revisions)},
	}
}

// DeployStatements is the deploy role's policy: tag an image of this
// repository as deployed (the tool re-tags with PutImage of the manifest
// it reads), register task definitions, update and watch this service,
// follow its rollouts and stop (roll back) one in flight. No layer upload
// (the image role pushes), no IAM write: CD can change the image, never its
// own trust, and nothing of the platform (network, alarms, autoscaling,
// cluster).
func DeployStatements(cfg contract.Config, args IdentityArgs) []Statement {
	a := args.Account
	service := a.ARN("ecs", a.Region, fmt.Sprintf("service/%s/%s", cfg.ClusterName, cfg.ServiceName))
	deployments, _ := rolloutResources(cfg, a)
	family := a.ARN("ecs", a.Region, fmt.Sprintf("task-definition/%s:*", args.Service.TaskFamily))
	tasks := a.ARN("ecs", a.Region, fmt.Sprintf("task/%s/*", cfg.ClusterName))
	statements := append([]Statement{
		{Sid: "EcrTag", Actions: []string{"ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"},
			Resources: []pulumi.StringInput{args.RepositoryArn}},
		// DescribeTaskDefinition takes no resource; RegisterTaskDefinition
		// has the task-definition resource type in AWS's IAM
		// service-authorization data, so it registers in the service's
		// family only.
		{Sid: "DescribeTaskDefinitions", Actions: []string{"ecs:DescribeTaskDefinition"}, Resources: Strings("*")},
		{Sid: "RegisterTaskDefinition", Actions: []string{"ecs:RegisterTaskDefinition"}, Resources: Strings(family)},
		{Sid: "TaskDefinitionTags", Actions: []string{"ecs:ListTagsForResource", "ecs:TagResource"}, Resources: Strings(family, service)},
		{Sid: "Service", Actions: []string{"ecs:DescribeServices", "ecs:UpdateService"}, Resources: Strings(service)},
		{Sid: "ListTasks", Actions: []string{"ecs:ListTasks"}, Resources: Strings("*"), Conditions: []Condition{
			{Operator: "ArnEquals", Key: "ecs:cluster", Values: []pulumi.StringInput{args.Service.ClusterArn}},
		}},
		{Sid: "DescribeTasks", Actions: []string{"ecs:DescribeTasks"}, Resources: Strings(tasks)},
	}, rolloutReads(cfg, a, service)...)
	statements = append(statements, secretChecks(cfg)...)
	statements = append(statements, []Statement{
		{Sid: "StopDeployment", Actions: []string{"ecs:StopServiceDeployment"}, Resources: Strings(deployments)},
		{Sid: "PassTaskRoles", Actions: []string{"iam:PassRole"},
			Resources:  []pulumi.StringInput{args.Service.ExecutionRoleArn, args.Service.TaskRoleArn},
			Conditions: []Condition{{Operator: "StringEquals", Key: "iam:PassedToService", Values: Strings(ecsTasksPrincipal)}}},
	}...)
	return append(statements, stateBucketStatements(cfg, args, true)...)
}

// secretChecks let the tool check, before a deploy, that each secret of
// slipway:secrets exists: DescribeSecret on exactly those secrets, and
// DescribeParameters, which takes no resource-level permission (it lists
// metadata: the tool filters by name). Neither reads a value.
func secretChecks(cfg contract.Config) []Statement {
	var secrets []string
	parameters := false
	for _, ref := range cfg.Secrets {
		switch ref.Kind {
		case contract.SecretsManager:
			secrets = append(secrets, ref.ARN)
		case contract.SecretSSM:
			parameters = true
		}
	}
	var out []Statement
	if len(secrets) > 0 {
		out = append(out, Statement{Sid: "DescribeSecrets", Actions: []string{"secretsmanager:DescribeSecret"}, Resources: Strings(secrets...)})
	}
	if parameters {
		out = append(out, Statement{Sid: "DescribeParameters", Actions: []string{"ssm:DescribeParameters"}, Resources: Strings("*")})
	}
	return out
}

// ImageActions are what the image job does on its two repositories: look
// up a tag, pull and push layers and manifests (the image, and the build
// cache it reads and writes).
var ImageActions = []string{
	"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
	"ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload",
	"ecr:PutImage", "ecr:UploadLayerPart",
}

// ImageStatements is the image role's policy: log in to ECR and push to
// this image repository and the build cache, nothing else.
func ImageStatements(args IdentityArgs) []Statement {
	return []Statement{
		{Sid: "EcrAuth", Actions: []string{"ecr:GetAuthorizationToken"}, Resources: Strings("*")},
		{Sid: "EcrPush", Actions: ImageActions, Resources: []pulumi.StringInput{args.RepositoryArn, args.CacheArn}},
	}
}

// PreviewStatements is the preview role's policy: read-only, enough for a
// preview with refresh (the drift check) and for status.
func PreviewStatements(cfg contract.Config, args IdentityArgs) []Statement {
	a := args.Account
	service := a.ARN("ecs", a.Region, fmt.Sprintf("service/%s/%s", cfg.ClusterName, cfg.ServiceName))
	tasks := a.ARN("ecs", a.Region, fmt.Sprintf("task/%s/*", cfg.ClusterName))
	statements := append([]Statement{
		{Sid: "Registry", Actions: []string{"ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:ListTagsForResource"},
			Resources: registryArns(args)},
		{Sid: "EcsRead", Actions: []string{"ecs:DescribeClusters", "ecs:DescribeServices", "ecs:DescribeTasks", "ecs:ListTagsForResource"},
			Resources: []pulumi.StringInput{args.Service.ClusterArn, pulumi.String(service), pulumi.String(tasks)}},
		{Sid: "EcsTaskDefinitions", Actions: []string{"ecs:DescribeTaskDefinition"}, Resources: Strings("*")},
		{Sid: "ListTasks", Actions: []string{"ecs:ListTasks"}, Resources: Strings("*"), Conditions: []Condition{
			{Operator: "ArnEquals", Key: "ecs:cluster", Values: []pulumi.StringInput{args.Service.ClusterArn}},
		}},
		{Sid: "NetworkRead", Actions: []string{
			"application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
			"cloudwatch:DescribeAlarms",
			"ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute",
			"ec2:DescribeInternetGateways", "ec2:DescribeNatGateways", "ec2:DescribeNetworkAcls", "ec2:DescribeNetworkInterfaces",
			"ec2:DescribePrefixLists", "ec2:DescribeRouteTables",
			"ec2:DescribeSecurityGroupRules", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
			"ec2:DescribeVpcAttribute", "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs",
			"elasticloadbalancing:DescribeCapacityReservation",
			"elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeListeners",
			"elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeLoadBalancers",
			"elasticloadbalancing:DescribeRules",
			"elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroupAttributes",
			"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth",
			"logs:DescribeLogGroups",
		}, Resources: Strings("*")},
		{Sid: "LogsRead", Actions: []string{"logs:ListTagsForResource"},
			Resources: Strings(a.ARN("logs", a.Region, "log-group:"+cfg.Names.LogGroup))},
		{Sid: "IamRead", Actions: []string{"iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"},
			Resources: args.RoleArns},
		{Sid: "OidcRead", Actions: []string{"iam:GetOpenIDConnectProvider"}, Resources: []pulumi.StringInput{args.ProviderArn}},
		{Sid: "DataRead", Actions: []string{"dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource"},
			Resources: []pulumi.StringInput{args.Data.TableArn}},
		{Sid: "QueueRead", Actions: []string{"sqs:GetQueueAttributes", "sqs:ListQueueTags"},
			Resources: []pulumi.StringInput{args.Data.QueueArn, args.Data.DLQArn}},
	}, rolloutReads(cfg, a, service)...)
	var alarms []string
	for _, n := range args.Service.AlarmNames {
		alarms = append(alarms, a.ARN("cloudwatch", a.Region, "alarm:"+n))
	}
	if len(alarms) > 0 {
		statements = append(statements, Statement{Sid: "AlarmTags", Actions: []string{"cloudwatch:ListTagsForResource"}, Resources: Strings(alarms...)})
	}
	if cfg.Autoscaling.Enabled {
		statements = append(statements, Statement{Sid: "ScalingTags", Actions: []string{"application-autoscaling:ListTagsForResource"},
			Resources: []pulumi.StringInput{args.Service.ScalableTargetArn}})
	}
	return append(statements, stateBucketStatements(cfg, args, false)...)
}

// NewIdentity creates (or reuses) the GitHub OIDC provider and the three roles.
func NewIdentity(ctx *pulumi.Context, name string, cfg contract.Config, args IdentityArgs, opts ...pulumi.ResourceOption) (*Identity, error) {
	id := &Identity{}
	if err := ctx.RegisterComponentResource("slipway:infra:Identity", name, id, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(id)

	provider := pulumi.String(cmp.Or(cfg.OIDCProviderArn, OIDCProviderArn(args.Account))).ToStringOutput()
	if createsOIDCProvider(cfg, args.Account) {
		p, err := iam.NewOpenIdConnectProvider(ctx, "github-oidc", &iam.OpenIdConnectProviderArgs{
			Url:           pulumi.String(GitHubOIDCURL),
			ClientIdLists: pulumi.StringArray{pulumi.String(OIDCAudience)},
			Tags:          tags(cfg),
		}, parent, pulumi.RetainOnDelete(true))
		if err != nil {
			return nil, err
		}
		provider = p.Arn
	}

	deploy, err := iam.NewRole(ctx, "deploy-role", &iam.RoleArgs{
		Name:             pulumi.String(cfg.Names.RolePrefix + contract.RoleDeploy),
		Description:      pulumi.String("GitHub Actions deploys " + cfg.ServiceName + " from " + DeploySubjects(cfg).Exact[0]),
		AssumeRolePolicy: trust(provider, DeploySubjects(cfg)),
		// A deploy (the update, the tool's rollout tracking with the
		// alarms' bake, perhaps a reconcile deploy) must not outlive its
		// credentials mid-update: the deploy jobs ask for sessions this long.
		MaxSessionDuration: pulumi.Int(workflows.DeploySessionSeconds),
		Tags:               tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, "deploy-role-policy", &iam.RolePolicyArgs{
		Role:   deploy.ID(),
		Policy: Document(DeployStatements(cfg, args)...),
	}, parent); err != nil {
		return nil, err
	}

	// The image role is the owning stack's: images are pushed once, to
	// the one repository.
	var image *iam.Role
	if cfg.Registry.Own {
		var err error
		image, err = iam.NewRole(ctx, "image-role", &iam.RoleArgs{
			Name:               pulumi.String(cfg.Names.RolePrefix + contract.RoleImage),
			Description:        pulumi.String("GitHub Actions pushes images of " + cfg.ServiceName + " from " + ImageSubjects(cfg).Exact[0]),
			AssumeRolePolicy:   trust(provider, ImageSubjects(cfg)),
			MaxSessionDuration: pulumi.Int(3600),
			Tags:               tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
		if _, err := iam.NewRolePolicy(ctx, "image-role-policy", &iam.RolePolicyArgs{
			Role:   image.ID(),
			Policy: Document(ImageStatements(args)...),
		}, parent); err != nil {
			return nil, err
		}
	}

	preview, err := iam.NewRole(ctx, "preview-role", &iam.RoleArgs{
		Name:               pulumi.String(cfg.Names.RolePrefix + contract.RolePreview),
		Description:        pulumi.String("GitHub Actions previews and drift checks of " + cfg.ServiceName + " (read-only)"),
		AssumeRolePolicy:   trust(provider, PreviewSubjects(cfg)),
		MaxSessionDuration: pulumi.Int(3600),
		Tags:               tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	args.ProviderArn = provider
	args.RoleArns = []pulumi.StringInput{deploy.Arn, preview.Arn, args.Service.ExecutionRoleArn, args.Service.TaskRoleArn}
	id.Roles = []pulumi.Resource{deploy, preview}
	outputs := pulumi.Map{"oidcProviderArn": provider, "deployRoleArn": deploy.Arn, "previewRoleArn": preview.Arn}
	if image != nil {
		args.RoleArns = append(args.RoleArns, image.Arn)
		id.Roles = append(id.Roles, image)
		id.ImageRoleArn, outputs["imageRoleArn"] = image.Arn, image.Arn
	}
	if _, err := iam.NewRolePolicy(ctx, "preview-role-policy", &iam.RolePolicyArgs{
		Role:   preview.ID(),
		Policy: Document(PreviewStatements(cfg, args)...),
	}, parent); err != nil {
		return nil, err
	}

	id.ProviderArn, id.DeployRoleArn, id.PreviewRoleArn = provider, deploy.Arn, preview.Arn
	return id, ctx.RegisterResourceOutputs(id, outputs)
}
