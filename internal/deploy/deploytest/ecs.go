package deploytest

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// ECS is the part of *ecs.Client the stand-in's provider calls.
type ECS interface {
	RegisterTaskDefinition(context.Context, *ecs.RegisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(context.Context, *ecs.DeregisterTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	CreateCluster(context.Context, *ecs.CreateClusterInput, ...func(*ecs.Options)) (*ecs.CreateClusterOutput, error)
	CreateService(context.Context, *ecs.CreateServiceInput, ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error)
	UpdateService(context.Context, *ecs.UpdateServiceInput, ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	DeleteService(context.Context, *ecs.DeleteServiceInput, ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error)
}

var _ ECS = (*ecs.Client)(nil)

// ecsEndpoint is the ECS endpoint the environment points the AWS SDK at
// (AWS_ENDPOINT_URL_ECS, else AWS_ENDPOINT_URL), "" when it sets none.
func ecsEndpoint() string {
	if e := os.Getenv("AWS_ENDPOINT_URL_ECS"); e != "" {
		return e
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

// envOrMemory is the ECS a provider call goes to: an SDK client built
// from the environment (in the provider's region) when the environment
// sets an ECS endpoint (a fake ECS server, reached as the deploy tool
// reaches it), else mem. It is decided at each call, so a test may point
// the SDK at its fake after NewProject; without an endpoint nothing ever
// reaches real AWS.
func envOrMemory(mem *MemoryECS) func(context.Context, string) (ECS, error) {
	return func(ctx context.Context, region string) (ECS, error) {
		if ecsEndpoint() == "" {
			return mem, nil
		}
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
		if err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
		return ecs.NewFromConfig(cfg), nil
	}
}

// TaskDefinitionArn is the ARN ECS gives revision of family in Region and
// Account, as MemoryECS registers it.
func TaskDefinitionArn(family string, revision int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", Region, Account, family, revision)
}

// MemoryECS is an in-memory ECS in Region and Account serving the calls of
// ECS: task definition revisions numbered per family from 1 ("each time
// you call RegisterTaskDefinition, a new revision of the family is
// created", aws-sdk-go-v2 service/ecs RegisterTaskDefinition), and services
// whose every create, or update with a new task definition, starts a
// deployment (UpdateService's taskDefinition: "This parameter triggers a
// new service deployment"). It models no rollout: the engine tests that need one use
// awsfake; this one serves previews and the guard's tests.
// It is safe for concurrent use.
type MemoryECS struct {
	mu        sync.Mutex
	revisions map[string]int                   // family → newest revision
	taskDefs  map[string]*types.TaskDefinition // ARN → revision
	clusters  map[string]bool
	services  map[[2]string]*MemoryService // cluster name, service name
}

// MemoryService is a service of MemoryECS.
type MemoryService struct {
	TaskDefinition string
	DesiredCount   int32
	Deployments    []string // the task definition of each deployment, oldest first
}

// NewMemoryECS returns an empty MemoryECS.
func NewMemoryECS() *MemoryECS {
	return &MemoryECS{revisions: map[string]int{}, taskDefs: map[string]*types.TaskDefinition{}, clusters: map[string]bool{}, services: map[[2]string]*MemoryService{}}
}

// Service returns a copy of a service (cluster and service by name), and
// whether it exists.
func (m *MemoryECS) Service(cluster, name string) (MemoryService, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.services[[2]string{cluster, name}]
	if !ok {
		return MemoryService{}, false
	}
	c := *s
	c.Deployments = append([]string(nil), s.Deployments...)
	return c, true
}

// TaskDefinition returns a copy of the revision with ARN arn, and whether
// it was ever registered; its Status tells ACTIVE from INACTIVE.
func (m *MemoryECS) TaskDefinition(arn string) (types.TaskDefinition, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	td, ok := m.taskDefs[arn]
	if !ok {
		return types.TaskDefinition{}, false
	}
	return *td, true
}

// RegisterTaskDefinition registers the next revision of the family.
func (m *MemoryECS) RegisterTaskDefinition(_ context.Context, in *ecs.RegisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error) {
	family := aws.ToString(in.Family)
	if family == "" || len(in.ContainerDefinitions) == 0 {
		return nil, fmt.Errorf("RegisterTaskDefinition: family and containerDefinitions are required")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revisions[family]++
	rev := m.revisions[family]
	td := &types.TaskDefinition{
		TaskDefinitionArn:       aws.String(TaskDefinitionArn(family, rev)),
		Family:                  in.Family,
		Revision:                int32(rev),
		Status:                  types.TaskDefinitionStatusActive,
		ContainerDefinitions:    in.ContainerDefinitions,
		Cpu:                     in.Cpu,
		Memory:                  in.Memory,
		NetworkMode:             in.NetworkMode,
		RequiresCompatibilities: in.RequiresCompatibilities,
	}
	m.taskDefs[*td.TaskDefinitionArn] = td
	c := *td
	return &ecs.RegisterTaskDefinitionOutput{TaskDefinition: &c}, nil
}

// DeregisterTaskDefinition marks a revision INACTIVE.
func (m *MemoryECS) DeregisterTaskDefinition(_ context.Context, in *ecs.DeregisterTaskDefinitionInput, _ ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	td, ok := m.taskDefs[aws.ToString(in.TaskDefinition)]
	if !ok {
		return nil, fmt.Errorf("DeregisterTaskDefinition: no task definition %s", aws.ToString(in.TaskDefinition))
	}
	td.Status = types.TaskDefinitionStatusInactive
	c := *td
	return &ecs.DeregisterTaskDefinitionOutput{TaskDefinition: &c}, nil
}

// CreateCluster creates a cluster (again: ECS answers the existing one).
func (m *MemoryECS) CreateCluster(_ context.Context, in *ecs.CreateClusterInput, _ ...func(*ecs.Options)) (*ecs.CreateClusterOutput, error) {
	name := aws.ToString(in.ClusterName)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clusters[name] = true
	return &ecs.CreateClusterOutput{Cluster: &types.Cluster{
		ClusterName: aws.String(name),
		ClusterArn:  aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", Region, Account, name)),
		Status:      aws.String("ACTIVE"),
	}}, nil
}

// cluster is the name of a cluster given by name or ARN.
func (m *MemoryECS) cluster(nameOrArn string) (string, error) {
	for name := range m.clusters {
		if nameOrArn == name || nameOrArn == fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", Region, Account, name) {
			return name, nil
		}
	}
	return "", fmt.Errorf("ClusterNotFoundException: cluster %s not found", nameOrArn)
}

// activeTaskDefinition checks that arn is an ACTIVE revision.
func (m *MemoryECS) activeTaskDefinition(arn string) error {
	if td, ok := m.taskDefs[arn]; !ok || td.Status != types.TaskDefinitionStatusActive {
		return fmt.Errorf("ClientException: task definition %s is not an ACTIVE revision", arn)
	}
	return nil
}

func (m *MemoryECS) serviceOutput(cluster, name string, s *MemoryService) *types.Service {
	return &types.Service{
		ServiceName:    aws.String(name),
		ServiceArn:     aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", Region, Account, cluster, name)),
		ClusterArn:     aws.String(fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", Region, Account, cluster)),
		TaskDefinition: aws.String(s.TaskDefinition),
		DesiredCount:   s.DesiredCount,
	}
}

// CreateService creates a service, starting its first deployment.
func (m *MemoryECS) CreateService(_ context.Context, in *ecs.CreateServiceInput, _ ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cluster, err := m.cluster(aws.ToString(in.Cluster))
	if err != nil {
		return nil, err
	}
	name, td := aws.ToString(in.ServiceName), aws.ToString(in.TaskDefinition)
	if err := m.activeTaskDefinition(td); err != nil {
		return nil, err
	}
	key := [2]string{cluster, name}
	if _, ok := m.services[key]; ok {
		return nil, fmt.Errorf("InvalidParameterException: service %s already exists in cluster %s", name, cluster)
	}
	s := &MemoryService{TaskDefinition: td, DesiredCount: aws.ToInt32(in.DesiredCount), Deployments: []string{td}}
	m.services[key] = s
	return &ecs.CreateServiceOutput{Service: m.serviceOutput(cluster, name, s)}, nil
}

// UpdateService changes a service; a task definition starts a deployment.
func (m *MemoryECS) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cluster, err := m.cluster(aws.ToString(in.Cluster))
	if err != nil {
		return nil, err
	}
	name := aws.ToString(in.Service)
	s, ok := m.services[[2]string{cluster, name}]
	if !ok {
		return nil, fmt.Errorf("ServiceNotFoundException: service %s not found in cluster %s", name, cluster)
	}
	if in.TaskDefinition != nil {
		if err := m.activeTaskDefinition(*in.TaskDefinition); err != nil {
			return nil, err
		}
		s.TaskDefinition = *in.TaskDefinition
		s.Deployments = append(s.Deployments, s.TaskDefinition)
	}
	if in.DesiredCount != nil {
		s.DesiredCount = *in.DesiredCount
	}
	return &ecs.UpdateServiceOutput{Service: m.serviceOutput(cluster, name, s)}, nil
}

// DeleteService deletes a service.
func (m *MemoryECS) DeleteService(_ context.Context, in *ecs.DeleteServiceInput, _ ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cluster, err := m.cluster(aws.ToString(in.Cluster))
	if err != nil {
		return nil, err
	}
	key := [2]string{cluster, aws.ToString(in.Service)}
	s, ok := m.services[key]
	if !ok {
		return nil, fmt.Errorf("ServiceNotFoundException: service %s not found in cluster %s", key[1], cluster)
	}
	delete(m.services, key)
	return &ecs.DeleteServiceOutput{Service: m.serviceOutput(cluster, key[1], s)}, nil
}
