package infra

import (
	"encoding/json"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Deployment settings of the Fargate service.
const (
	MinHealthyPercent         = 100
	MaxPercent                = 200
	HealthCheckGracePeriod    = 60
	ServiceTimeout            = "30m" // create/update: waits for a steady state
	ecsTasksPrincipal         = "ecs-tasks.amazonaws.com"
	taskExecutionLogStreamArn = "%s:log-stream:*"
)

// ServiceArgs are what the service needs from the other components.
type ServiceArgs struct {
	RepositoryURL pulumi.StringInput
	RepositoryArn pulumi.StringInput
	Network       *Network
	Data          *Data
}

// Service is the ECS cluster and the Fargate service with its logs, roles
// and task definition.
type Service struct {
	pulumi.ResourceState

	ClusterName       pulumi.StringOutput
	ClusterArn        pulumi.StringOutput
	ServiceName       pulumi.StringOutput
	TaskDefinitionArn pulumi.StringOutput
	TaskFamily        string
	ExecutionRoleArn  pulumi.StringOutput
	TaskRoleArn       pulumi.StringOutput
	Image             pulumi.StringOutput
}

type containerDefinition struct {
	Name             string            `json:"name"`
	Image            string            `json:"image"`
	Essential        bool              `json:"essential"`
	PortMappings     []portMapping     `json:"portMappings"`
	Environment      []keyValue        `json:"environment"`
	LogConfiguration logConfiguration  `json:"logConfiguration"`
	DockerLabels     map[string]string `json:"dockerLabels,omitempty"`
}

type portMapping struct {
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
}

type keyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type logConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

func assumedBy(service string) pulumi.StringOutput {
	return Document(Statement{Actions: []string{"sts:AssumeRole"}, Service: service})
}

// NewService creates the cluster and the service. The task definition's
// image is exactly <repositoryUrl>:<imageTag>, so a new SHA replaces the task
// definition (old revisions are kept for ECS's own rollback) and updates the
// service: the rolling deploy.
func NewService(ctx *pulumi.Context, name string, cfg contract.Config, args ServiceArgs, opts ...pulumi.ResourceOption) (*Service, error) {
	s := &Service{TaskFamily: cfg.ServiceName}
	if err := ctx.RegisterComponentResource("slipway:infra:Service", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)

	cluster, err := ecs.NewCluster(ctx, "cluster", &ecs.ClusterArgs{
		Name: pulumi.String(cfg.ClusterName),
		Settings: ecs.ClusterSettingArray{&ecs.ClusterSettingArgs{
			Name:  pulumi.String("containerInsights"),
			Value: pulumi.String("enabled"),
		}},
		Tags: tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	logs, err := cloudwatch.NewLogGroup(ctx, "logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/ecs/" + cfg.ServiceName),
		RetentionInDays: pulumi.Int(cfg.LogRetentionDays),
		Tags:            tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}

	execRole, err := iam.NewRole(ctx, "execution-role", &iam.RoleArgs{
		Description:      pulumi.String("ECS pulls " + cfg.ServiceName + " images and writes its logs"),
		AssumeRolePolicy: assumedBy(ecsTasksPrincipal),
		Tags:             tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, "execution-role-policy", &iam.RolePolicyArgs{
		Role: execRole.ID(),
		Policy: Document(
			Statement{Sid: "EcrAuth", Actions: []string{"ecr:GetAuthorizationToken"}, Resources: Strings("*")},
			Statement{Sid: "PullImages", Actions: []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
				Resources: []pulumi.StringInput{args.RepositoryArn}},
			Statement{Sid: "WriteLogs", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				Resources: []pulumi.StringInput{pulumi.Sprintf(taskExecutionLogStreamArn, logs.Arn)}},
		),
	}, parent); err != nil {
		return nil, err
	}

	taskRole, err := iam.NewRole(ctx, "task-role", &iam.RoleArgs{
		Description:      pulumi.String(cfg.ServiceName + " itself: its table and queue, nothing else"),
		AssumeRolePolicy: assumedBy(ecsTasksPrincipal),
		Tags:             tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, "task-role-policy", &iam.RolePolicyArgs{
		Role: taskRole.ID(),
		Policy: Document(
			Statement{Sid: "Table", Actions: TableActions,
				Resources: []pulumi.StringInput{args.Data.TableArn, pulumi.Sprintf("%s/index/*", args.Data.TableArn)}},
			Statement{Sid: "Queue", Actions: QueueActions,
				Resources: []pulumi.StringInput{args.Data.QueueArn}},
		),
	}, parent); err != nil {
		return nil, err
	}

	image := pulumi.Sprintf("%s:%s", args.RepositoryURL, cfg.ImageTag)
	containers := pulumi.All(image, logs.Name, args.Data.TableName, args.Data.QueueName, args.Data.QueueURL).ApplyT(
		func(v []interface{}) (string, error) {
			defs := []containerDefinition{{
				Name:         contract.ContainerName,
				Image:        v[0].(string),
				Essential:    true,
				PortMappings: []portMapping{{ContainerPort: cfg.ContainerPort, Protocol: "tcp"}},
				Environment: []keyValue{
					{"APP_VERSION", cfg.ImageTag},
					{"AWS_REGION", cfg.Region},
					{"PORT", strconv.Itoa(cfg.ContainerPort)},
					{"QUEUE_NAME", v[3].(string)},
					{"QUEUE_URL", v[4].(string)},
					{"TABLE_NAME", v[2].(string)},
				},
				LogConfiguration: logConfiguration{LogDriver: "awslogs", Options: map[string]string{
					"awslogs-group":         v[1].(string),
					"awslogs-region":        cfg.Region,
					"awslogs-stream-prefix": cfg.ServiceName,
				}},
			}}
			b, err := json.Marshal(defs)
			return string(b), err
		}).(pulumi.StringOutput)

	task, err := ecs.NewTaskDefinition(ctx, "task", &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(cfg.ServiceName),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.String(strconv.Itoa(cfg.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(cfg.Memory)),
		ExecutionRoleArn:        execRole.Arn,
		TaskRoleArn:             taskRole.Arn,
		ContainerDefinitions:    containers,
		RuntimePlatform: &ecs.TaskDefinitionRuntimePlatformArgs{
			OperatingSystemFamily: pulumi.String("LINUX"),
			CpuArchitecture:       pulumi.String("X86_64"),
		},
		// Keep old revisions registered: ECS's circuit breaker rolls back to
		// them, and so does a rollback of the stack.
		SkipDestroy: pulumi.Bool(true),
		Tags:        tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}

	svc, err := ecs.NewService(ctx, "service", &ecs.ServiceArgs{
		Name:                            pulumi.String(cfg.ServiceName),
		Cluster:                         cluster.Arn,
		TaskDefinition:                  task.Arn,
		DesiredCount:                    pulumi.Int(cfg.DesiredCount),
		LaunchType:                      pulumi.String("FARGATE"),
		DeploymentMinimumHealthyPercent: pulumi.Int(MinHealthyPercent),
		DeploymentMaximumPercent:        pulumi.Int(MaxPercent),
		DeploymentController:            &ecs.ServiceDeploymentControllerArgs{Type: pulumi.String("ECS")},
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreakerArgs{
			Enable:   pulumi.Bool(true),
			Rollback: pulumi.Bool(true),
		},
		HealthCheckGracePeriodSeconds: pulumi.Int(HealthCheckGracePeriod),
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: args.Network.TargetGroupArn,
			ContainerName:  pulumi.String(contract.ContainerName),
			ContainerPort:  pulumi.Int(cfg.ContainerPort),
		}},
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.Network.SubnetIDs,
			SecurityGroups: pulumi.StringArray{args.Network.TaskSecurityGroup},
			AssignPublicIp: pulumi.Bool(cfg.AssignPublicIP),
		},
		// Block until the rollout settles. A settled rollout can still be an
		// ECS rollback: the deploy tool verifies the PRIMARY deployment.
		WaitForSteadyState:   pulumi.Bool(true),
		PropagateTags:        pulumi.String("SERVICE"),
		EnableEcsManagedTags: pulumi.Bool(true),
		Tags:                 tags(cfg),
	}, parent, pulumi.DependsOn(args.Network.Listeners),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: ServiceTimeout, Update: ServiceTimeout}))
	if err != nil {
		return nil, err
	}

	s.ClusterName, s.ClusterArn, s.ServiceName = cluster.Name, cluster.Arn, svc.Name
	s.TaskDefinitionArn, s.Image = task.Arn, image
	s.ExecutionRoleArn, s.TaskRoleArn = execRole.Arn, taskRole.Arn
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"clusterName":       cluster.Name,
		"serviceName":       svc.Name,
		"taskDefinitionArn": task.Arn,
		"image":             image,
	})
}
