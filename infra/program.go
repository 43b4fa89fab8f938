// Package infra is the slipway Pulumi program: the ECR repository, the ECS
// Fargate service with its network and data, the identity GitHub Actions
// assumes to deploy it, and the application repository's workflow files.
// One ComponentResource per concern.
package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Program is the Pulumi program: main.go and the deploy tool's inline
// program both run it.
func Program(ctx *pulumi.Context) error {
	cfg, err := contract.Load(ctx)
	if err != nil {
		return err
	}
	s, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	for k, v := range s.Outputs {
		ctx.Export(k, v)
	}
	return nil
}

// Slipway is the whole stack, with its outputs.
type Slipway struct {
	Registry *Registry
	Network  *Network
	Data     *Data
	Service  *Service
	Identity *Identity
	GitHub   *GitHub
	Outputs  pulumi.Map
}

// New builds every component from a validated config.
func New(ctx *pulumi.Context, cfg contract.Config) (*Slipway, error) {
	caller, err := aws.GetCallerIdentity(ctx, &aws.GetCallerIdentityArgs{})
	if err != nil {
		return nil, err
	}
	partition, err := aws.GetPartition(ctx, &aws.GetPartitionArgs{})
	if err != nil {
		return nil, err
	}
	account := Account{ID: caller.AccountId, Partition: partition.Partition, Region: cfg.Region}

	registry, err := NewRegistry(ctx, "registry", cfg, account)
	if err != nil {
		return nil, err
	}
	network, err := NewNetwork(ctx, "network", cfg)
	if err != nil {
		return nil, err
	}
	data, err := NewData(ctx, "data", cfg)
	if err != nil {
		return nil, err
	}
	service, err := NewService(ctx, "service", cfg, ServiceArgs{
		Account:       account,
		RepositoryURL: registry.URL,
		RepositoryArn: registry.Arn,
		Network:       network,
		Data:          data,
	})
	if err != nil {
		return nil, err
	}
	identity, err := NewIdentity(ctx, "ci-identity", cfg, IdentityArgs{
		Account:       account,
		Stack:         cfg.Stack,
		RepositoryArn: registry.Arn,
		CacheArn:      registry.CacheArn,
		Service:       service,
		Data:          data,
	})
	if err != nil {
		return nil, err
	}
	gh, err := NewGitHub(ctx, "github", cfg, GitHubArgs{
		RepositoryURL:  registry.URL,
		CacheURL:       registry.CacheURL,
		DeployRoleArn:  identity.DeployRoleArn,
		ImageRoleArn:   identity.ImageRoleArn,
		PreviewRoleArn: identity.PreviewRoleArn,
		Roles:          identity.Roles,
	})
	if err != nil {
		return nil, err
	}
	return &Slipway{
		Registry: registry, Network: network, Data: data, Service: service, Identity: identity, GitHub: gh,
		Outputs: pulumi.Map{
			contract.OutRepositoryURL:     registry.URL,
			contract.OutClusterName:       service.ClusterName,
			contract.OutServiceName:       service.ServiceName,
			contract.OutServiceURL:        network.ServiceURL,
			contract.OutTaskDefinitionArn: service.TaskDefinitionArn,
			contract.OutDeployRoleArn:     identity.DeployRoleArn,
			contract.OutPreviewRoleArn:    identity.PreviewRoleArn,
			contract.OutRegion:            pulumi.String(cfg.Region),
			contract.OutImageTag:          pulumi.String(cfg.ImageTag),
		},
	}, nil
}

// tags are set on every taggable resource.
func tags(cfg contract.Config) pulumi.StringMap {
	return pulumi.StringMap{
		"app":        pulumi.String(cfg.ServiceName),
		"managed-by": pulumi.String("slipway"),
	}
}
