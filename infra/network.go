package infra

import (
	"fmt"
	"strconv"
	"strings"

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

// TLSPolicy is the HTTPS listener's security policy: TLS 1.3 and 1.2 with
// forward-secret ciphers only, the policy AWS recommends.
const TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

// vpcCIDR is a new VPC's address range: public subnets take 10.0.<i>.0/24,
// private ones 10.0.<16(i+1)>.0/20.
const vpcCIDR = "10.0.0.0/16"

// Network is where the service runs and how traffic reaches it: the VPC and
// subnets (new or existing), NAT or VPC endpoints, the security groups, the
// load balancer with its listeners (or a rule on a shared listener) and
// the service's target group.
type Network struct {
	pulumi.ResourceState

	VpcID             pulumi.StringOutput
	TaskSubnetIDs     pulumi.StringArrayOutput
	TaskSecurityGroup pulumi.StringOutput
	TargetGroupArn    pulumi.StringOutput
	// ARN suffixes are the dimensions of the load balancer's CloudWatch
	// metrics and of the requests-per-target scaling metric.
	TargetGroupArnSuffix  pulumi.StringOutput
	LoadBalancerArnSuffix pulumi.StringOutput
	ServiceURL            pulumi.StringOutput
	// Listeners (or the listener rule) must exist before the service
	// registers with the target group.
	Listeners []pulumi.Resource
}

// NewNetwork creates the network. A new VPC gets, in each zone, a public
// subnet (load balancer, NAT) and a private one (tasks, no public IP);
// an existing VPC brings both kinds of subnet. Tasks accept traffic only
// from the load balancer's security group.
func NewNetwork(ctx *pulumi.Context, name string, cfg contract.Config, opts ...pulumi.ResourceOption) (*Network, error) {
	n := &Network{}
	if err := ctx.RegisterComponentResource("slipway:infra:Network", name, n, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(n)

	var vpcID pulumi.StringInput
	var albSubnets, taskSubnets pulumi.StringArray
	albEgress := "0.0.0.0/0" // an existing VPC's range is not known here
	if cfg.VpcID != "" {
		vpcID = pulumi.String(cfg.VpcID)
		for _, s := range cfg.AlbSubnetIDs {
			albSubnets = append(albSubnets, pulumi.String(s))
		}
		for _, s := range cfg.TaskSubnetIDs {
			taskSubnets = append(taskSubnets, pulumi.String(s))
		}
	} else {
		v, err := newVPC(ctx, cfg, parent)
		if err != nil {
			return nil, err
		}
		vpcID, albSubnets, taskSubnets, albEgress = v.id, v.public, v.private, vpcCIDR
	}

	albSG := pulumi.String(cfg.LoadBalancerSecurityGroupID).ToStringOutput()
	if !cfg.SharedListener() {
		var albIngress ec2.SecurityGroupIngressArray
		for _, port := range []int{80, 443} {
			albIngress = append(albIngress, &ec2.SecurityGroupIngressArgs{
				Description: pulumi.String("public traffic"),
				Protocol:    pulumi.String("tcp"),
				FromPort:    pulumi.Int(port),
				ToPort:      pulumi.Int(port),
				CidrBlocks:  pulumi.StringArray{pulumi.String("0.0.0.0/0")},
			})
		}
		sg, err := ec2.NewSecurityGroup(ctx, "alb-sg", &ec2.SecurityGroupArgs{
			Description: pulumi.String("load balancer of " + cfg.ServiceName),
			VpcId:       vpcID,
			Ingress:     albIngress,
			Egress: ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
				Description: pulumi.String("to tasks and health checks"),
				Protocol:    pulumi.String("tcp"),
				FromPort:    pulumi.Int(cfg.ContainerPort),
				ToPort:      pulumi.Int(cfg.ContainerPort),
				CidrBlocks:  pulumi.StringArray{pulumi.String(albEgress)},
			}},
			Tags: tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
		albSG = sg.ID().ToStringOutput()
	}
	taskSG, err := ec2.NewSecurityGroup(ctx, "task-sg", &ec2.SecurityGroupArgs{
		Description: pulumi.String("tasks of " + cfg.ServiceName + ": traffic from the load balancer only"),
		VpcId:       vpcID,
		Ingress: ec2.SecurityGroupIngressArray{&ec2.SecurityGroupIngressArgs{
			Description:    pulumi.String("from the load balancer"),
			Protocol:       pulumi.String("tcp"),
			FromPort:       pulumi.Int(cfg.ContainerPort),
			ToPort:         pulumi.Int(cfg.ContainerPort),
			SecurityGroups: pulumi.StringArray{albSG},
		}},
		Egress: ec2.SecurityGroupEgressArray{&ec2.SecurityGroupEgressArgs{
			Description: pulumi.String("HTTPS only: image pulls, AWS APIs (DynamoDB, SQS, logs, secrets) through the NAT gateway or the VPC endpoints"),
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
	if cfg.VpcID == "" && cfg.NATGateways == 0 {
		if err := newEndpoints(ctx, cfg, vpcID, taskSubnets, taskSG, parent); err != nil {
			return nil, err
		}
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

	if cfg.SharedListener() {
		rule, err := newListenerRule(ctx, cfg, tg, parent)
		if err != nil {
			return nil, err
		}
		n.Listeners = append(n.Listeners, rule)
		n.LoadBalancerArnSuffix = pulumi.String(cfg.LoadBalancerArnSuffix).ToStringOutput()
		n.ServiceURL = pulumi.String(sharedURL(cfg)).ToStringOutput()
	} else {
		var accessLogs lb.LoadBalancerAccessLogsPtrInput
		if cfg.AccessLogsBucket != "" {
			accessLogs = &lb.LoadBalancerAccessLogsArgs{
				Bucket:  pulumi.String(cfg.AccessLogsBucket),
				Prefix:  pulumi.String(cfg.ServiceName),
				Enabled: pulumi.Bool(true),
			}
		}
		alb, err := lb.NewLoadBalancer(ctx, "alb", &lb.LoadBalancerArgs{
			LoadBalancerType:         pulumi.String("application"),
			Internal:                 pulumi.Bool(false),
			SecurityGroups:           pulumi.StringArray{albSG},
			Subnets:                  albSubnets,
			DropInvalidHeaderFields:  pulumi.Bool(true),
			EnableDeletionProtection: pulumi.Bool(true),
			AccessLogs:               accessLogs,
			Tags:                     tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
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
				SslPolicy:       pulumi.String(TLSPolicy),
				DefaultActions:  forward,
				Tags:            tags(cfg),
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
			Tags:            tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
		n.Listeners = append(n.Listeners, http)
		n.LoadBalancerArnSuffix = alb.ArnSuffix
		n.ServiceURL = pulumi.Sprintf("%s://%s", scheme, alb.DnsName)
	}

	n.VpcID = vpcID.ToStringOutput()
	n.TaskSubnetIDs = taskSubnets.ToStringArrayOutput()
	n.TaskSecurityGroup = taskSG.ID().ToStringOutput()
	n.TargetGroupArn = tg.Arn
	n.TargetGroupArnSuffix = tg.ArnSuffix
	return n, ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":      n.VpcID,
		"serviceUrl": n.ServiceURL,
	})
}

// sharedURL is where a service behind a shared listener answers, as far
// as its rule says: its host and the path pattern's fixed prefix. A rule
// on the path alone names no host (the shared load balancer's is not the
// stack's to know), so there is no URL: the deployments page then shows
// no link rather than one that goes nowhere.
func sharedURL(cfg contract.Config) string {
	if cfg.HostHeader == "" {
		return ""
	}
	path, _, _ := strings.Cut(cfg.PathPattern, "*")
	return "https://" + cfg.HostHeader + path
}

func newListenerRule(ctx *pulumi.Context, cfg contract.Config, tg *lb.TargetGroup, parent pulumi.ResourceOption) (*lb.ListenerRule, error) {
	var conditions lb.ListenerRuleConditionArray
	if cfg.HostHeader != "" {
		conditions = append(conditions, &lb.ListenerRuleConditionArgs{
			HostHeader: &lb.ListenerRuleConditionHostHeaderArgs{Values: pulumi.StringArray{pulumi.String(cfg.HostHeader)}},
		})
	}
	if cfg.PathPattern != "" {
		conditions = append(conditions, &lb.ListenerRuleConditionArgs{
			PathPattern: &lb.ListenerRuleConditionPathPatternArgs{Values: pulumi.StringArray{pulumi.String(cfg.PathPattern)}},
		})
	}
	return lb.NewListenerRule(ctx, "listener-rule", &lb.ListenerRuleArgs{
		ListenerArn: pulumi.String(cfg.ListenerArn),
		Priority:    pulumi.Int(cfg.ListenerRulePriority),
		Actions: lb.ListenerRuleActionArray{&lb.ListenerRuleActionArgs{
			Type:           pulumi.String("forward"),
			TargetGroupArn: tg.Arn,
		}},
		Conditions: conditions,
		Tags:       tags(cfg),
	}, parent)
}

// vpc is a new VPC's ID and subnets.
type vpc struct {
	id              pulumi.IDOutput
	public, private pulumi.StringArray
	privateRoutes   pulumi.StringArray
}

// newVPC creates the VPC: per zone a public subnet routed to the internet
// gateway and a private one routed to a NAT gateway (the zone's own, or
// the shared one), or to nothing but the VPC endpoints when natGateways
// is 0.
func newVPC(ctx *pulumi.Context, cfg contract.Config, parent pulumi.ResourceOption) (*vpc, error) {
	v, err := ec2.NewVpc(ctx, "vpc", &ec2.VpcArgs{
		CidrBlock:          pulumi.String(vpcCIDR),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	out := &vpc{id: v.ID()}
	igw, err := ec2.NewInternetGateway(ctx, "igw", &ec2.InternetGatewayArgs{
		VpcId: v.ID(),
		Tags:  tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	rt, err := ec2.NewRouteTable(ctx, "public-rt", &ec2.RouteTableArgs{
		VpcId: v.ID(),
		Routes: ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{
			CidrBlock: pulumi.String("0.0.0.0/0"),
			GatewayId: igw.ID(),
		}},
		Tags: tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	var nats []pulumi.IDOutput
	for i, zone := range cfg.AvailabilityZones {
		subnet, err := routedSubnet(ctx, cfg, v, "public-"+strconv.Itoa(i+1), fmt.Sprintf("10.0.%d.0/24", i), zone, rt, parent)
		if err != nil {
			return nil, err
		}
		out.public = append(out.public, subnet.ID())
		if i < cfg.NATGateways {
			eip, err := ec2.NewEip(ctx, "nat-eip-"+strconv.Itoa(i+1), &ec2.EipArgs{
				Domain: pulumi.String("vpc"),
				Tags:   tags(cfg),
			}, parent)
			if err != nil {
				return nil, err
			}
			nat, err := ec2.NewNatGateway(ctx, "nat-"+strconv.Itoa(i+1), &ec2.NatGatewayArgs{
				AllocationId: eip.ID(),
				SubnetId:     subnet.ID(),
				Tags:         tags(cfg),
			}, parent, pulumi.DependsOn([]pulumi.Resource{igw}))
			if err != nil {
				return nil, err
			}
			nats = append(nats, nat.ID())
		}
	}
	for i, zone := range cfg.AvailabilityZones {
		var routes ec2.RouteTableRouteArray
		if len(nats) > 0 {
			routes = ec2.RouteTableRouteArray{&ec2.RouteTableRouteArgs{
				CidrBlock:    pulumi.String("0.0.0.0/0"),
				NatGatewayId: nats[min(i, len(nats)-1)],
			}}
		}
		prt, err := ec2.NewRouteTable(ctx, "private-rt-"+strconv.Itoa(i+1), &ec2.RouteTableArgs{
			VpcId:  v.ID(),
			Routes: routes,
			Tags:   tags(cfg),
		}, parent)
		if err != nil {
			return nil, err
		}
		subnet, err := routedSubnet(ctx, cfg, v, "private-"+strconv.Itoa(i+1), fmt.Sprintf("10.0.%d.0/20", 16*(i+1)), zone, prt, parent)
		if err != nil {
			return nil, err
		}
		out.private = append(out.private, subnet.ID())
		out.privateRoutes = append(out.privateRoutes, prt.ID())
	}
	// S3 (image layers) and DynamoDB through gateway endpoints: free, and
	// off the NAT gateway's per-gigabyte charge.
	for _, svc := range []string{"s3", "dynamodb"} {
		if _, err := ec2.NewVpcEndpoint(ctx, "endpoint-"+svc, &ec2.VpcEndpointArgs{
			VpcId:           v.ID(),
			ServiceName:     pulumi.String(fmt.Sprintf("com.amazonaws.%s.%s", cfg.Region, svc)),
			VpcEndpointType: pulumi.String("Gateway"),
			RouteTableIds:   out.privateRoutes,
			Tags:            tags(cfg),
		}, parent); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// InterfaceEndpoints are the services a NAT-free VPC reaches through
// interface endpoints: what pulling the image, writing logs and the
// application's queue need, plus the secret stores slipway:secrets names
// and ECS Exec's SSM messages when it is on.
func InterfaceEndpoints(cfg contract.Config) []string {
	services := []string{"ecr.api", "ecr.dkr", "logs", "sqs"}
	kinds := map[string]bool{}
	for _, s := range cfg.Secrets {
		kinds[s.Kind] = true
	}
	if kinds[contract.SecretsManager] {
		services = append(services, "secretsmanager")
	}
	if kinds[contract.SecretSSM] {
		services = append(services, "ssm")
	}
	if cfg.EnableExec {
		services = append(services, "ssmmessages")
	}
	return services
}

func newEndpoints(ctx *pulumi.Context, cfg contract.Config, vpcID pulumi.StringInput, subnets pulumi.StringArray, taskSG *ec2.SecurityGroup, parent pulumi.ResourceOption) error {
	sg, err := ec2.NewSecurityGroup(ctx, "endpoint-sg", &ec2.SecurityGroupArgs{
		Description: pulumi.String("VPC endpoints of " + cfg.ServiceName + ": HTTPS from its tasks only"),
		VpcId:       vpcID,
		Ingress: ec2.SecurityGroupIngressArray{&ec2.SecurityGroupIngressArgs{
			Description:    pulumi.String("from the tasks"),
			Protocol:       pulumi.String("tcp"),
			FromPort:       pulumi.Int(443),
			ToPort:         pulumi.Int(443),
			SecurityGroups: pulumi.StringArray{taskSG.ID()},
		}},
		Tags: tags(cfg),
	}, parent)
	if err != nil {
		return err
	}
	for _, svc := range InterfaceEndpoints(cfg) {
		if _, err := ec2.NewVpcEndpoint(ctx, "endpoint-"+strings.ReplaceAll(svc, ".", "-"), &ec2.VpcEndpointArgs{
			VpcId:             vpcID,
			ServiceName:       pulumi.String(fmt.Sprintf("com.amazonaws.%s.%s", cfg.Region, svc)),
			VpcEndpointType:   pulumi.String("Interface"),
			PrivateDnsEnabled: pulumi.Bool(true),
			SubnetIds:         subnets,
			SecurityGroupIds:  pulumi.StringArray{sg.ID()},
			Tags:              tags(cfg),
		}, parent); err != nil {
			return err
		}
	}
	return nil
}

// RolloutSeconds models how long one batch of a rolling deploy takes at the
// load balancer: a new task must pass healthy × interval seconds of health
// checks, then an old task drains for the deregistration delay.
func RolloutSeconds(healthyThreshold, interval, deregistrationDelay int) int {
	return healthyThreshold*interval + deregistrationDelay
}

// routedSubnet is a subnet of the new VPC (no public IPs on launch) and
// its association, <name>-rt, with route table rt.
func routedSubnet(ctx *pulumi.Context, cfg contract.Config, v *ec2.Vpc, name, cidr, zone string, rt *ec2.RouteTable, parent pulumi.ResourceOption) (*ec2.Subnet, error) {
	subnet, err := ec2.NewSubnet(ctx, name, &ec2.SubnetArgs{
		VpcId:               v.ID(),
		CidrBlock:           pulumi.String(cidr),
		AvailabilityZone:    pulumi.String(zone),
		MapPublicIpOnLaunch: pulumi.Bool(false),
		Tags:                tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	_, err = ec2.NewRouteTableAssociation(ctx, name+"-rt", &ec2.RouteTableAssociationArgs{
		SubnetId:     subnet.ID(),
		RouteTableId: rt.ID(),
	}, parent)
	return subnet, err
}
