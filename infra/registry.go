package infra

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecr"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// UntaggedExpiryDays is how long ECR keeps untagged images (failed or
// superseded pushes) before the lifecycle policy expires them.
const UntaggedExpiryDays = 7

// CacheExpiryDays is how long the build-cache repository keeps an image,
// tagged or not: a cache unused for that long is rebuilt.
const CacheExpiryDays = 7

// Registry is the ECR repository that holds the service's images, tagged
// with the git SHA they were built from, and the build cache's repository:
// created by the stack that owns them (slipway:registry own), only named by
// the others, which never create one. Every environment runs images of the
// one repository, so a promotion never rebuilds.
type Registry struct {
	pulumi.ResourceState

	Repository *ecr.Repository // nil when another stack owns it
	URL        pulumi.StringOutput
	Arn        pulumi.StringOutput
	// The build cache's repository, of the owning stack only (the image
	// job pushes with that stack's image role); nil inputs otherwise.
	CacheURL pulumi.StringInput
	CacheArn pulumi.StringInput
}

// PullActions are what the other environments' accounts may do in the
// repository: pull an image (ECS, with the execution role), read its
// digest, and tag it (PutImage of a manifest already there: the deploy
// tool's deployed-<sha> and verified-<stack>-<sha> tags). Tags are
// IMMUTABLE, so no tag can be moved; no layer can be uploaded.
var PullActions = []string{
	"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages",
	"ecr:GetDownloadUrlForLayer", "ecr:PutImage",
}

// RepositoryPolicy grants accounts (12-digit IDs) PullActions.
func RepositoryPolicy(partition string, accounts []string) pulumi.StringOutput {
	roots := make([]string, len(accounts))
	for i, a := range accounts {
		roots[i] = fmt.Sprintf("arn:%s:iam::%s:root", partition, a)
	}
	return Document(Statement{Sid: "OtherEnvironments", Actions: PullActions, Accounts: roots})
}

// ecrDNSSuffix is the domain of ECR registries in a partition.
func ecrDNSSuffix(partition string) string {
	if partition == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// lifecycleRule is one rule of an ECR lifecycle policy.
type lifecycleRule struct {
	RulePriority int    `json:"rulePriority"`
	Description  string `json:"description"`
	Selection    struct {
		TagStatus      string   `json:"tagStatus"`
		TagPrefixList  []string `json:"tagPrefixList,omitempty"`
		TagPatternList []string `json:"tagPatternList,omitempty"`
		CountType      string   `json:"countType"`
		CountUnit      string   `json:"countUnit,omitempty"`
		CountNumber    int      `json:"countNumber"`
	} `json:"selection"`
	Action struct {
		Type string `json:"type"`
	} `json:"action"`
}

// LifecyclePolicy expires untagged images after UntaggedExpiryDays and
// keeps, for each environment's stack (last in the chain first: the
// production end), the newest window images ECS verifiably ran there
// (contract.VerifiedTagStackPrefix: that environment's rollback window),
// so that staging's deploys of every merge cannot crowd production's out;
// then the newest window deployed images of any stack
// (contract.DeployedTagPrefix, also images deployed before verified tags
// existed); and besides them the newest window pushed images, deployed or
// not. A later rule counts the earlier rules' images too, but ECR never
// lets a rule expire an image a higher-priority rule's tags select
// ("Lifecycle policy evaluation rules", ECR User Guide), so no rule can
// expire what an earlier one keeps.
func LifecyclePolicy(window int, stacks []string) string {
	untagged := lifecycleRule{RulePriority: 1, Description: "expire untagged images"}
	untagged.Selection.TagStatus = "untagged"
	untagged.Selection.CountType = "sinceImagePushed"
	untagged.Selection.CountUnit = "days"
	untagged.Selection.CountNumber = UntaggedExpiryDays
	untagged.Action.Type = "expire"
	rules := []lifecycleRule{untagged}

	for i := len(stacks) - 1; i >= 0; i-- {
		verified := lifecycleRule{RulePriority: len(rules) + 1, Description: "keep the rollback window of " + stacks[i]}
		verified.Selection.TagStatus = "tagged"
		verified.Selection.TagPrefixList = []string{contract.VerifiedTagStackPrefix(stacks[i])}
		verified.Selection.CountType = "imageCountMoreThan"
		verified.Selection.CountNumber = window
		verified.Action.Type = "expire"
		rules = append(rules, verified)
	}

	deployed := lifecycleRule{RulePriority: len(rules) + 1, Description: "keep the rollback window of deployed images"}
	deployed.Selection.TagStatus = "tagged"
	deployed.Selection.TagPrefixList = []string{contract.DeployedTagPrefix}
	deployed.Selection.CountType = "imageCountMoreThan"
	deployed.Selection.CountNumber = window
	deployed.Action.Type = "expire"

	rules = append(rules, deployed)

	pushed := lifecycleRule{RulePriority: len(rules) + 1, Description: "keep the newest pushed images"}
	pushed.Selection.TagStatus = "tagged"
	pushed.Selection.TagPatternList = []string{"*"}
	pushed.Selection.CountType = "imageCountMoreThan"
	pushed.Selection.CountNumber = window
	pushed.Action.Type = "expire"

	b, err := json.Marshal(map[string][]lifecycleRule{"rules": append(rules, pushed)})
	if err != nil {
		panic(err) // static types: cannot fail
	}
	return string(b)
}

// CacheLifecyclePolicy expires every image of the build-cache repository
// CacheExpiryDays after its push: each build pushes the cache tag anew, and
// the manifests it replaced go after the same time.
func CacheLifecyclePolicy() string {
	all := lifecycleRule{RulePriority: 1, Description: "expire cache images"}
	all.Selection.TagStatus = "any"
	all.Selection.CountType = "sinceImagePushed"
	all.Selection.CountUnit = "days"
	all.Selection.CountNumber = CacheExpiryDays
	all.Action.Type = "expire"
	b, err := json.Marshal(map[string][]lifecycleRule{"rules": {all}})
	if err != nil {
		panic(err) // static types: cannot fail
	}
	return string(b)
}

// NewRegistry creates the image repository: immutable tags (a SHA names one image
// forever), scan on push, protected and retained so that no stack operation
// can delete the images production runs on.
func NewRegistry(ctx *pulumi.Context, name string, cfg contract.Config, account Account, opts ...pulumi.ResourceOption) (*Registry, error) {
	r := &Registry{}
	if err := ctx.RegisterComponentResource("slipway:infra:Registry", name, r, opts...); err != nil {
		return nil, err
	}
	if !cfg.Registry.Own {
		r.URL = pulumi.String(cfg.Registry.RepositoryURL(account.ID, account.Region, ecrDNSSuffix(account.Partition))).ToStringOutput()
		r.Arn = pulumi.String(cfg.Registry.RepositoryArn(account.Partition, account.ID, account.Region)).ToStringOutput()
		return r, ctx.RegisterResourceOutputs(r, pulumi.Map{"repositoryUrl": r.URL, "repositoryArn": r.Arn})
	}
	repo, err := ecr.NewRepository(ctx, "repo", &ecr.RepositoryArgs{
		Name:               pulumi.String(cfg.ServiceName),
		ImageTagMutability: pulumi.String("IMMUTABLE"),
		ImageScanningConfiguration: &ecr.RepositoryImageScanningConfigurationArgs{
			ScanOnPush: pulumi.Bool(true),
		},
		ForceDelete: pulumi.Bool(false),
		Tags:        tags(cfg),
	}, pulumi.Parent(r), pulumi.Protect(true), pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, "repo-lifecycle", &ecr.LifecyclePolicyArgs{
		Repository: repo.Name,
		Policy:     pulumi.String(LifecyclePolicy(cfg.RollbackWindow, chainStacks(cfg))),
	}, pulumi.Parent(r)); err != nil {
		return nil, err
	}
	if len(cfg.RegistryPullAccounts) > 0 {
		if _, err := ecr.NewRepositoryPolicy(ctx, "repo-policy", &ecr.RepositoryPolicyArgs{
			Repository: repo.Name,
			Policy:     RepositoryPolicy(account.Partition, cfg.RegistryPullAccounts),
		}, pulumi.Parent(r)); err != nil {
			return nil, err
		}
	}

	// The build cache: a moving tag, so MUTABLE (ECR's immutability
	// exclusions are not in this provider version), in a repository of its
	// own so that the image repository stays IMMUTABLE. Disposable: neither
	// protected nor retained, and deleted with its images.
	cache, err := ecr.NewRepository(ctx, "cache-repo", &ecr.RepositoryArgs{
		Name:               pulumi.String(cfg.ServiceName + "-cache"),
		ImageTagMutability: pulumi.String("MUTABLE"),
		ForceDelete:        pulumi.Bool(true),
		Tags:               tags(cfg),
	}, pulumi.Parent(r))
	if err != nil {
		return nil, err
	}
	if _, err := ecr.NewLifecyclePolicy(ctx, "cache-repo-lifecycle", &ecr.LifecyclePolicyArgs{
		Repository: cache.Name,
		Policy:     pulumi.String(CacheLifecyclePolicy()),
	}, pulumi.Parent(r)); err != nil {
		return nil, err
	}

	r.Repository, r.URL, r.Arn = repo, repo.RepositoryUrl, repo.Arn
	r.CacheURL, r.CacheArn = cache.RepositoryUrl, cache.Arn
	return r, ctx.RegisterResourceOutputs(r, pulumi.Map{
		"repositoryUrl":      repo.RepositoryUrl,
		"repositoryArn":      repo.Arn,
		"cacheRepositoryUrl": cache.RepositoryUrl,
		"cacheRepositoryArn": cache.Arn,
	})
}

// chainStacks are the stacks of the owner's environments, in CD's order.
func chainStacks(cfg contract.Config) []string {
	stacks := make([]string, len(cfg.Environments))
	for i, e := range cfg.Environments {
		stacks[i] = e.Stack
	}
	return stacks
}
