package infra

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Health check and rollout tuning of the target group. A task becomes
// healthy after HealthyThreshold passing checks HealthCheckInterval seconds
// apart; a stopping task drains for the configured deregistration delay.
const (
	HealthCheckInterval = 5
	HealthCheckTimeout  = 4
	HealthyThreshold    = 2
	UnhealthyThreshold  = 3

	// AWS defaults, for the rollout model printed beside ours.
	AWSDefaultHealthCheckInterval = 30
	AWSDefaultHealthyThreshold    = 5
	AWSDefaultDeregistrationDelay = 300
)

// Network is where the service runs and how traffic reaches it: the VPC and
// subnets (new or existing), the security groups, the load balancer, its
// target group and listeners.
type Network struct {
	pulumi.ResourceState

	VpcID             pulumi.StringOutput
	SubnetIDs         pulumi.StringArrayOutput
	TaskSecurityGroup pulumi.StringOutput
	TargetGroupArn    pulumi.StringOutput
	ServiceURL        pulumi.StringOutput
	// Listeners must exist before the service registers with the target group.
	Listeners []pulumi.Resource
}

// NewNetwork creates the network: a new VPC with two public subnets in two
// zones, unless an existing VPC and subnets are configured. Tasks accept
// traffic only from the load balancer's security group.
func NewNetwork(ctx *pulumi.Context, name string, cfg contract.Config, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{}
	if err := ctx.RegisterComponentResource("slipway:infra:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)

	var vpcID pulumi.StringInput
	var subnets pulumi.StringArray
	if cfg.VpcID != "" {
		vpcID = pulumi.String(cfg.VpcID)
		for _, s := range cfg.SubnetIDs {
			subnets = append(subnets, pulumi.String(s))
		}
	} else {
		vpc, err := ec2.NewVpc(ctx, "vpc", &ec2.VpcArgs{
			CidrBlock:          pulumi.String("10.0.0.0/16"),
			EnableDnsHostnames: pulumi.Bool(true),
			EnableDnsSupport:   pulumi.Bool(true),
			Tags:               tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
		igw, err := ec2.NewInternetGateway(ctx, "igw", &ec2.InternetGatewayArgs{
			VpcId: vpc.ID(),
			Tags:  tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
		rt, err := ec2.NewRouteTable(ctx, "public-rt", &ec2.RouteTableArgs{
			VpcId: vpc.ID(),
			Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{
				CidrBlock: pulumi.String("0.0.0.0/0"),
				GatewayId: igw.ID(),
			}},
			Tags: tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
		for i, zone := range cfg.AvailabilityZones {
			sn := "public-" + strconv.Itoa(i+1)
			subnet, err := ec2.NewSubnet(ctx, sn, &ec2.SubnetArgs{
				VpcId:               vpc.ID(),
				CidrBlock:           pulumi.String(fmt.Sprintf("10.0.%d.0/24", i)),
				AvailabilityZone:    pulumi.String(zone),
				MapPublicIpOnLaunch: pulumi.Bool(true),
				Tags:                tags(cfg),
			}, parent)
			if err != nil {
				return nil, err
			}
			if _, err := ec2.NewRouteTableAssociation(ctx, sn+"-rt", &ec2.RouteTableAssociationArgs{
				SubnetId:     subnet.ID(),
				RouteTableId: rt.ID(),
			}, parent); err != nil {
				return nil, err
			}
			subnets = append(subnets, subnet.ID())
		}
		vpcID = vpc.ID()
	}

	listenPorts := []int{80}
	if cfg.CertificateArn != "" {
		listenPorts = append(listenPorts, 443)
	}
	var albIngress ec2.SecurityGroupIngressArray
	for _, port := range listenPorts {
		albIngress = append(albIngress, &ec2.SecurityGroupIngressArgs{
			Description: pulumi.String("public traffic"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(port),
			ToPort:      pulumi.Int(port),
			CidrBlocks:  pulumi.StringArray{pulumi.String("0.0.0.0/0")},
		})
	}
	albSG, err := ec2.NewSecurityGroup(ctx, "alb-sg", &ec2.SecurityGroupArgs{
		Description: pulumi.String("load balancer of " + cfg.ServiceName),
		VpcId:       vpcID,
		Ingress:     albIngress,
		Egress: ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("to tasks and health checks"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(cfg.ContainerPort),
			ToPort:      pulumi.Int(cfg.ContainerPort),
			CidrBlocks:  pulumi.StringArray{pulumi.String("0.0.0.0/0")},
		}},
		Tags: tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	taskSG, err := ec2.NewSecurityGroup(ctx, "task-sg", &ec2.SecurityGroupArgs{
		Description: pulumi.String("tasks of " + cfg.ServiceName + ": traffic from the load balancer only"),
		VpcId:       vpcID,
		Ingress: ec2.SecurityGroupIngressArray{&ec2.SecurityGroupIngressArgs{
			Description:    pulumi.String("from the load balancer"),
			Protocol:       pulumi.String("tcp"),
			FromPort:       pulumi.Int(cfg.ContainerPort),
			ToPort:         pulumi.Int(cfg.ContainerPort),
			SecurityGroups: pulumi.StringArray{albSG.ID()},
		}},
		Egress: ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("image pulls, AWS APIs (DynamoDB, SQS, logs)"),
			Protocol:    pulumi.String("tcp"),
			FromPort:    pulumi.Int(443),
			ToPort:      pulumi.Int(443),
			CidrBlocks:  pulumi.StringArray{pulumi.String("0.0.0.0/0")},
		}},
		Tags: tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}

	alb, err := lb.NewLoadBalancer(ctx, "alb", &lb.LoadBalancerArgs{
		LoadBalancerType:        pulumi.String("application"),
		Internal:                pulumi.Bool(false),
		SecurityGroups:          pulumi.StringArray{albSG.ID()},
		Subnets:                 subnets,
		DropInvalidHeaderFields: pulumi.Bool(true),
		Tags:                    tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	tg, err := lb.NewTargetGroup(ctx, "tg", &lb.TargetGroupArgs{
		TargetType:          pulumi.String("ip"),
		Protocol:            pulumi.String("HTTP"),
		Port:                pulumi.Int(cfg.ContainerPort),
		VpcId:               vpcID,
		DeregistrationDelay: pulumi.Int(cfg.DeregistrationDelay),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Path:               pulumi.String(cfg.HealthCheckPath),
			Matcher:            pulumi.String("200"),
			Interval:           pulumi.Int(HealthCheckInterval),
			Timeout:            pulumi.Int(HealthCheckTimeout),
			HealthyThreshold:   pulumi.Int(HealthyThreshold),
			UnhealthyThreshold: pulumi.Int(UnhealthyThreshold),
		},
		Tags: tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}

	forward := lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
		Type:           pulumi.String("forward"),
		TargetGroupArn: tg.Arn,
	}}
	httpAction := forward
	scheme := "http"
	if cfg.CertificateArn != "" {
		scheme = "https"
		httpAction = lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("redirect"),
			Redirect: &lb.ListenerDefaultActionRedirectArgs{
				Protocol:   pulumi.String("HTTPS"),
				Port:       pulumi.String("443"),
				StatusCode: pulumi.String("HTTP_301"),
			},
		}}
		https, err := lb.NewListener(ctx, "https", &lb.ListenerArgs{
			LoadBalancerArn: alb.Arn,
			Port:            pulumi.Int(443),
			Protocol:        pulumi.String("HTTPS"),
			CertificateArn:  pulumi.String(cfg.CertificateArn),
			SslPolicy:       pulumi.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
			DefaultActions:  forward,
		}, parent)
		if err != nil {
			return nil, err
		}
		n.Listeners = append(n.Listeners, https)
	}
	http, err := lb.NewListener(ctx, "http", &lb.ListenerArgs{
		LoadBalancerArn: alb.Arn,
		Port:            pulumi.Int(80),
		Protocol:        pulumi.String("HTTP"),
		DefaultActions:  httpAction,
	}, parent)
	if err != nil {
		return nil, err
	}
	n.Listeners = append(n.Listeners, http)

	n.VpcID = vpcID.ToStringOutput()
	n.SubnetIDs = subnets.ToStringArrayOutput()
	n.TaskSecurityGroup = taskSG.ID().ToStringOutput()
	n.TargetGroupArn = tg.Arn
	n.ServiceURL = pulumi.Sprintf("%s://%s", scheme, alb.DnsName)
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":      n.VpcID,
		"serviceUrl": n.ServiceURL,
	})
}

// RolloutSeconds models how long one batch of a rolling deploy takes at the
// load balancer: a new task must pass healthy × interval seconds of health
// checks, then an old task drains for the deregistration delay.
func RolloutSeconds(healthyThreshold, interval, deregistrationDelay int) int {
	return healthyThreshold*interval + deregistrationDelay
}
