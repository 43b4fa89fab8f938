package infra

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Deployment settings of the Fargate service.
const (
	MinHealthyPercent      = 100
	MaxPercent             = 200
	HealthCheckGracePeriod = 60
	// ServiceTimeout bounds the service's create and update, which are API
	// calls only: the service does not wait for a steady state inside
	// pulumi up (the deploy tool follows the rollout, with the alarms'
	// bake, itself). Ten minutes covers a create that waits for the
	// listener's target group and the provider's retries of ECS's
	// eventual consistency, and no rollout.
	ServiceTimeout            = "10m"
	ScratchVolume             = "scratch" // the writable volume of a read-only container
	ScratchPath               = "/tmp"
	ecsTasksPrincipal         = "ecs-tasks.amazonaws.com"
	taskExecutionLogStreamArn = "%s:log-stream:*"
)

// ServiceArgs are what the service needs from the other components.
type ServiceArgs struct {
	Account       Account
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
	// ScalableTargetArn is the autoscaling target's ARN, when autoscaling is on.
	ScalableTargetArn pulumi.StringOutput
	// AlarmNames are the deployment alarms' names (none when alarms are off).
	AlarmNames []string
}

type containerDefinition struct {
	Name                   string            `json:"name"`
	Image                  string            `json:"image"`
	Essential              bool              `json:"essential"`
	PortMappings           []portMapping     `json:"portMappings"`
	Environment            []keyValue        `json:"environment"`
	Secrets                []secret          `json:"secrets,omitempty"`
	LogConfiguration       logConfiguration  `json:"logConfiguration"`
	DockerLabels           map[string]string `json:"dockerLabels,omitempty"`
	ReadonlyRootFilesystem bool              `json:"readonlyRootFilesystem"`
	User                   string            `json:"user"`
	LinuxParameters        linuxParameters   `json:"linuxParameters"`
	StopTimeout            int               `json:"stopTimeout"`
	MountPoints            []mountPoint      `json:"mountPoints"`
	HealthCheck            *healthCheck      `json:"healthCheck,omitempty"`
}

type secret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

type linuxParameters struct {
	InitProcessEnabled bool `json:"initProcessEnabled"`
}

type mountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly"`
}

// healthCheck is the container's own health check (ECS replaces a task
// that fails it); the load balancer's health check is separate.
type healthCheck struct {
	Command     []string `json:"command"`
	Interval    int      `json:"interval"`
	Timeout     int      `json:"timeout"`
	Retries     int      `json:"retries"`
	StartPeriod int      `json:"startPeriod"`
}

// Container health check timing (seconds).
const (
	ContainerHealthInterval    = 10
	ContainerHealthTimeout     = 5
	ContainerHealthRetries     = 3
	ContainerHealthStartPeriod = 30
)

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
	s := &Service{TaskFamily: cfg.Names.TaskFamily}
	if err := ctx.RegisterComponentResource("slipway:infra:Service", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)

	// A shared cluster is only named: the stack never modifies it.
	clusterName := pulumi.String(cfg.ClusterName).ToStringOutput()
	clusterArn := pulumi.String(args.Account.ARN("ecs", args.Account.Region, "cluster/"+cfg.ClusterName)).ToStringOutput()
	if !cfg.SharedCluster() {
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
		clusterName, clusterArn = cluster.Name, cluster.Arn
	}
	logs, err := cloudwatch.NewLogGroup(ctx, "logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(cfg.Names.LogGroup),
		RetentionInDays: pulumi.Int(cfg.LogRetentionDays),
		Tags:            tags(cfg),
	}, parent, stateful)
	if err != nil {
		return nil, err
	}

	execRole, err := iam.NewRole(ctx, "execution-role", &iam.RoleArgs{
		Name:             pulumi.String(cfg.Names.RolePrefix + contract.RoleExecution),
		Description:      pulumi.String("ECS pulls " + cfg.ServiceName + " images and writes its logs"),
		AssumeRolePolicy: assumedBy(ecsTasksPrincipal),
		Tags:             tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	if _, err := iam.NewRolePolicy(ctx, "execution-role-policy", &iam.RolePolicyArgs{
		Role: execRole.ID(),
		Policy: Document(append([]Statement{
			{Sid: "EcrAuth", Actions: []string{"ecr:GetAuthorizationToken"}, Resources: Strings("*")},
			{Sid: "PullImages", Actions: []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"},
				Resources: []pulumi.StringInput{args.RepositoryArn}},
			{Sid: "WriteLogs", Actions: []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				Resources: []pulumi.StringInput{pulumi.Sprintf(taskExecutionLogStreamArn, logs.Arn)}},
		}, SecretStatements(cfg)...)...),
	}, parent); err != nil {
		return nil, err
	}

	taskRole, err := iam.NewRole(ctx, "task-role", &iam.RoleArgs{
		Name:             pulumi.String(cfg.Names.RolePrefix + contract.RoleTask),
		Description:      pulumi.String(cfg.ServiceName + " itself: its table and queue, nothing else"),
		AssumeRolePolicy: assumedBy(ecsTasksPrincipal),
		Tags:             tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	taskStatements := []Statement{
		{Sid: "Table", Actions: TableActions,
			Resources: []pulumi.StringInput{args.Data.TableArn, pulumi.Sprintf("%s/index/*", args.Data.TableArn)}},
		{Sid: "Queue", Actions: QueueActions,
			Resources: []pulumi.StringInput{args.Data.QueueArn}},
	}
	if cfg.EnableExec {
		taskStatements = append(taskStatements, ExecStatements(logs.Arn)...)
	}
	if _, err := iam.NewRolePolicy(ctx, "task-role-policy", &iam.RolePolicyArgs{
		Role:   taskRole.ID(),
		Policy: Document(taskStatements...),
	}, parent); err != nil {
		return nil, err
	}

	image := pulumi.Sprintf("%s:%s", args.RepositoryURL, cfg.ImageTag)
	containers := pulumi.All(image, logs.Name, args.Data.TableName, args.Data.QueueName, args.Data.QueueURL).ApplyT(
		func(v []interface{}) (string, error) {
			env := []keyValue{
				{"APP_VERSION", cfg.ImageTag},
				{"AWS_REGION", cfg.Region},
				{"PORT", strconv.Itoa(cfg.ContainerPort)},
				{"QUEUE_NAME", v[3].(string)},
				{"QUEUE_URL", v[4].(string)},
				{"TABLE_NAME", v[2].(string)},
			}
			for _, e := range cfg.Environment {
				env = append(env, keyValue{e.Name, e.Value})
			}
			var secrets []secret
			for _, s := range cfg.Secrets {
				secrets = append(secrets, secret{Name: s.Name, ValueFrom: s.ValueFrom})
			}
			var check *healthCheck
			if len(cfg.HealthCheckCommand) > 0 {
				check = &healthCheck{Command: cfg.HealthCheckCommand, Interval: ContainerHealthInterval,
					Timeout: ContainerHealthTimeout, Retries: ContainerHealthRetries, StartPeriod: ContainerHealthStartPeriod}
			}
			defs := []containerDefinition{{
				Name:         contract.ContainerName,
				Image:        v[0].(string),
				Essential:    true,
				PortMappings: []portMapping{{ContainerPort: cfg.ContainerPort, Protocol: "tcp"}},
				Environment:  env,
				Secrets:      secrets,
				LogConfiguration: logConfiguration{LogDriver: "awslogs", Options: map[string]string{
					"awslogs-group":         v[1].(string),
					"awslogs-region":        cfg.Region,
					"awslogs-stream-prefix": cfg.ServiceName,
				}},
				ReadonlyRootFilesystem: cfg.ReadonlyRootFilesystem,
				User:                   cfg.ContainerUser,
				// An init process reaps zombies and forwards SIGTERM to the app.
				LinuxParameters: linuxParameters{InitProcessEnabled: true},
				StopTimeout:     cfg.StopTimeout,
				MountPoints:     []mountPoint{{SourceVolume: ScratchVolume, ContainerPath: ScratchPath}},
				HealthCheck:     check,
			}}
			b, err := json.Marshal(defs)
			return string(b), err
		}).(pulumi.StringOutput)

	task, err := ecs.NewTaskDefinition(ctx, "task", &ecs.TaskDefinitionArgs{
		Family:                  pulumi.String(cfg.Names.TaskFamily),
		RequiresCompatibilities: pulumi.StringArray{pulumi.String("FARGATE")},
		NetworkMode:             pulumi.String("awsvpc"),
		Cpu:                     pulumi.String(strconv.Itoa(cfg.CPU)),
		Memory:                  pulumi.String(strconv.Itoa(cfg.Memory)),
		ExecutionRoleArn:        execRole.Arn,
		TaskRoleArn:             taskRole.Arn,
		ContainerDefinitions:    containers,
		// Task storage the read-only container may write (at ScratchPath).
		Volumes: ecs.TaskDefinitionVolumeArray{&ecs.TaskDefinitionVolumeArgs{Name: pulumi.String(ScratchVolume)}},
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

	var deploymentAlarms ecs.ServiceAlarmsPtrInput
	if cfg.Alarms.Enabled {
		names, err := newAlarms(ctx, cfg, args.Network, parent)
		if err != nil {
			return nil, err
		}
		deploymentAlarms = &ecs.ServiceAlarmsArgs{
			Enable:     pulumi.Bool(true),
			Rollback:   pulumi.Bool(true),
			AlarmNames: pulumi.ToStringArray(names),
		}
		s.AlarmNames = names
	}

	serviceOpts := []pulumi.ResourceOption{parent, pulumi.DependsOn(args.Network.Listeners),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: ServiceTimeout, Update: ServiceTimeout})}
	if cfg.Autoscaling.Enabled {
		// Autoscaling owns the task count after creation: a deploy must
		// never reset it to desiredCount.
		serviceOpts = append(serviceOpts, pulumi.IgnoreChanges([]string{"desiredCount"}))
	}
	svc, err := ecs.NewService(ctx, "service", &ecs.ServiceArgs{
		Name:                            pulumi.String(cfg.ServiceName),
		Cluster:                         clusterArn,
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
		Alarms:                        deploymentAlarms,
		HealthCheckGracePeriodSeconds: pulumi.Int(HealthCheckGracePeriod),
		LoadBalancers: ecs.ServiceLoadBalancerArray{&ecs.ServiceLoadBalancerArgs{
			TargetGroupArn: args.Network.TargetGroupArn,
			ContainerName:  pulumi.String(contract.ContainerName),
			ContainerPort:  pulumi.Int(cfg.ContainerPort),
		}},
		NetworkConfiguration: &ecs.ServiceNetworkConfigurationArgs{
			Subnets:        args.Network.TaskSubnetIDs,
			SecurityGroups: pulumi.StringArray{args.Network.TaskSecurityGroup},
			AssignPublicIp: pulumi.Bool(false),
		},
		EnableExecuteCommand: pulumi.Bool(cfg.EnableExec),
		// pulumi up registers the rollout and returns; the deploy tool
		// follows it to COMPLETED (a steady state can be an ECS rollback).
		WaitForSteadyState:   pulumi.Bool(false),
		PropagateTags:        pulumi.String("SERVICE"),
		EnableEcsManagedTags: pulumi.Bool(true),
		Tags:                 tags(cfg),
	}, serviceOpts...)
	if err != nil {
		return nil, err
	}
	if cfg.Autoscaling.Enabled {
		target, err := newAutoscaling(ctx, cfg, svc, args.Network, parent)
		if err != nil {
			return nil, err
		}
		s.ScalableTargetArn = target.Arn
	}

	s.ClusterName, s.ClusterArn, s.ServiceName = clusterName, clusterArn, svc.Name
	s.TaskDefinitionArn, s.Image = task.Arn, image
	s.ExecutionRoleArn, s.TaskRoleArn = execRole.Arn, taskRole.Arn
	return s, ctx.RegisterResourceOutputs(s, pulumi.Map{
		"clusterName":       clusterName,
		"serviceName":       svc.Name,
		"taskDefinitionArn": task.Arn,
		"image":             image,
	})
}

// SecretStatements let the execution role read exactly the parameters and
// secrets of slipway:secrets and decrypt with the configured KMS keys only,
// and only when SSM or Secrets Manager asks (kms:ViaService), in the region
// of each secret (ECS reads a secret of another region by its full ARN).
func SecretStatements(cfg contract.Config) []Statement {
	var ssm, sm, ssmVia, smVia []string
	seen := map[string]bool{}
	for _, s := range cfg.Secrets {
		if seen[s.ARN] {
			continue
		}
		seen[s.ARN] = true
		region := cfg.Region
		if parts := strings.Split(s.ARN, ":"); len(parts) > 3 && parts[3] != "" {
			region = parts[3]
		}
		if s.Kind == contract.SecretSSM {
			ssmVia = append(ssmVia, "ssm."+region+".amazonaws.com")
			ssm = append(ssm, s.ARN)
		} else {
			smVia = append(smVia, "secretsmanager."+region+".amazonaws.com")
			sm = append(sm, s.ARN)
		}
	}
	var out []Statement
	if len(ssm) > 0 {
		out = append(out, Statement{Sid: "ReadParameters", Actions: []string{"ssm:GetParameters"}, Resources: Strings(ssm...)})
	}
	if len(sm) > 0 {
		out = append(out, Statement{Sid: "ReadSecrets", Actions: []string{"secretsmanager:GetSecretValue"}, Resources: Strings(sm...)})
	}
	slices.Sort(ssmVia)
	slices.Sort(smVia)
	via := append(slices.Compact(ssmVia), slices.Compact(smVia)...)
	if len(cfg.SecretsKMSKeyArns) > 0 {
		out = append(out, Statement{Sid: "DecryptSecrets", Actions: []string{"kms:Decrypt"}, Resources: Strings(cfg.SecretsKMSKeyArns...),
			Conditions: []Condition{{Operator: "StringEquals", Key: "kms:ViaService", Values: Strings(via...)}}})
	}
	return out
}

// ExecStatements are what ECS Exec needs of the task role: the SSM
// messages channels (IAM offers no resource for them) and writing the
// session logs to the service's log group (the cluster's DEFAULT exec
// logging uses the container's awslogs configuration).
func ExecStatements(logGroupArn pulumi.StringOutput) []Statement {
	return []Statement{
		{Sid: "ExecChannels", Actions: []string{"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
			"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}, Resources: Strings("*")},
		{Sid: "ExecSessionLogs", Actions: []string{"logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"},
			Resources: []pulumi.StringInput{logGroupArn, pulumi.Sprintf(taskExecutionLogStreamArn, logGroupArn)}},
		{Sid: "ExecLogGroups", Actions: []string{"logs:DescribeLogGroups"}, Resources: Strings("*")},
	}
}
