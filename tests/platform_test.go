package tests

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/internal/synth"
)

// prodSecrets are one SSM parameter and one JSON key of a Secrets Manager
// secret given without its random suffix.
const prodSecrets = `{"API_KEY":"arn:aws:ssm:us-east-1:123456789012:parameter/api/key",` +
	`"DB_PASSWORD":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password::"}`

const sharedListener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/0123456789abcdef/fedcba9876543210"

// sharedPlatform is the config of one service joining an existing cluster,
// VPC and load balancer listener.
func sharedPlatform(service string) map[string]string {
	priority := map[string]string{"orders": "10", "billing": "20"}[service]
	return map[string]string{
		"serviceName":                 service,
		"githubRepo":                  service,
		"existingClusterName":         "platform",
		"vpcId":                       "vpc-0123456789abcdef0",
		"taskSubnetIds":               `["subnet-0123456789abcdef2","subnet-0123456789abcdef3"]`,
		"listenerArn":                 sharedListener,
		"hostHeader":                  service + ".example.com",
		"listenerRulePriority":        priority,
		"loadBalancerSecurityGroupId": "sg-0123456789abcdef0",
		"oidcProviderArn":             providerArn,
	}
}

// mockID is the ID internal/synth's mocks give an EC2 resource: the
// prefix of its kind, a hash of its logical name, ten zeros.
func mockID(prefix, name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s-%07x0000000000", prefix, h.Sum32()&0xfffffff)
}

func input(r synth.Resource, path string) interface{} {
	var cur interface{} = r.Inputs
	for _, part := range strings.Split(path, ".") {
		m, _ := cur.(map[string]interface{})
		cur = m[part]
	}
	return cur
}

func strs(v interface{}) []string {
	var out []string
	for _, x := range v.([]interface{}) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func TestNetworkVariants(t *testing.T) {
	threeZones := `["us-east-1a","us-east-1b","us-east-1c"]`
	// A new VPC always has the free gateway endpoints (S3 carries the image
	// layers, DynamoDB the table); without a NAT gateway they and the
	// interface endpoints are the private subnets' only way out.
	gateways := []string{"dynamodb", "s3"}
	tests := []struct {
		name       string
		overrides  map[string]string
		subnets    int // created
		nats       int
		natPerZone bool     // each zone's private subnet goes out through its own zone's NAT
		gateways   []string // gateway endpoints
		interfaces []string // interface endpoints
	}{
		{"default: two zones, one NAT", nil, 4, 1, false, gateways, nil},
		{"three zones, NAT per zone", map[string]string{"availabilityZones": threeZones, "natGateways": "3"}, 6, 3, true, gateways, nil},
		{"three zones, one NAT", map[string]string{"availabilityZones": threeZones}, 6, 1, false, gateways, nil},
		{"no NAT, endpoints", map[string]string{"natGateways": "0"}, 4, 0, false, gateways, []string{"ecr-api", "ecr-dkr", "logs", "sqs"}},
		{"no NAT, three zones", map[string]string{"natGateways": "0", "availabilityZones": threeZones}, 6, 0, false, gateways, []string{"ecr-api", "ecr-dkr", "logs", "sqs"}},
		{"no NAT with an SSM secret", map[string]string{"natGateways": "0", "secrets": `{"API_KEY":"arn:aws:ssm:us-east-1:123456789012:parameter/api/key"}`},
			4, 0, false, gateways, []string{"ecr-api", "ecr-dkr", "logs", "sqs", "ssm"}},
		{"no NAT with secrets and exec", map[string]string{"natGateways": "0", "secrets": prodSecrets, "enableExec": "true", "readonlyRootFilesystem": "false"},
			4, 0, false, gateways, []string{"ecr-api", "ecr-dkr", "logs", "secretsmanager", "sqs", "ssm", "ssmmessages"}},
		{"existing VPC", map[string]string{"vpcId": "vpc-0123456789abcdef0",
			"albSubnetIds":  `["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]`,
			"taskSubnetIds": `["subnet-0123456789abcdef2","subnet-0123456789abcdef3"]`}, 0, 0, false, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := synthProd(t, sha1, tt.overrides)
			if got := len(res.Find("aws:ec2/subnet:Subnet")); got != tt.subnets {
				t.Errorf("%d subnets created, want %d", got, tt.subnets)
			}
			if got := len(res.Find("aws:ec2/natGateway:NatGateway")); got != tt.nats {
				t.Errorf("%d NAT gateways, want %d", got, tt.nats)
			}
			for zone := 1; tt.nats > 0 && zone <= tt.subnets/2; zone++ {
				natsOfZone(t, res, zone, map[bool]int{true: zone, false: 1}[tt.natPerZone])
			}
			svc := mustGet(t, res, "aws:ecs/service:Service", "service")
			if got := input(svc, "networkConfiguration.assignPublicIp"); got != false {
				t.Errorf("service assignPublicIp = %v, want false", got)
			}
			taskSubnets := strs(input(svc, "networkConfiguration.subnets"))
			albSubnets := strs(input(mustGet(t, res, "aws:lb/loadBalancer:LoadBalancer", "alb"), "subnets"))
			for _, s := range taskSubnets {
				if contains(albSubnets, s) {
					t.Errorf("task subnet %s is also a load balancer subnet", s)
				}
			}
			if tt.subnets > 0 {
				tasksNeverRoutedToTheInternet(t, res, taskSubnets)
				if got, want := len(taskSubnets), tt.subnets/2; got != want {
					t.Errorf("tasks in %d subnets, want one private subnet per zone (%d)", got, want)
				}
			} else if want := []string{"subnet-0123456789abcdef2", "subnet-0123456789abcdef3"}; !cmp.Equal(taskSubnets, want) {
				t.Errorf("task subnets %v, want taskSubnetIds %v", taskSubnets, want)
			}

			// Every endpoint serves the tasks: a gateway endpoint is a
			// route in each of the private subnets' route tables, an
			// interface endpoint has a network interface (and the
			// service's private DNS name) in each private subnet, behind
			// endpoint-sg.
			privateTables := routeTablesOf(res, taskSubnets)
			if tt.subnets > 0 && len(privateTables) != tt.subnets/2 {
				t.Errorf("task subnets use route tables %v, want one per zone (%d)", privateTables, tt.subnets/2)
			}
			sortedTaskSubnets := append([]string(nil), taskSubnets...)
			sort.Strings(sortedTaskSubnets)
			var gotGateways, interfaces []string
			for _, e := range res.Find("aws:ec2/vpcEndpoint:VpcEndpoint") {
				name := strings.TrimPrefix(e.Name, "endpoint-")
				checks := []struct {
					what      string
					got, want interface{}
				}{
					{"serviceName", e.Inputs["serviceName"], "com.amazonaws.us-east-1." + strings.ReplaceAll(name, "-", ".")},
					{"vpcId", e.Inputs["vpcId"], mockID("vpc", "vpc")},
				}
				switch typ := e.Inputs["vpcEndpointType"]; typ {
				case "Gateway":
					gotGateways = append(gotGateways, name)
					checks = append(checks, []struct {
						what      string
						got, want interface{}
					}{
						{"routeTableIds", fmt.Sprint(sortedStrs(e.Inputs["routeTableIds"])), fmt.Sprint(privateTables)},
						{"subnetIds", e.Inputs["subnetIds"], nil},
					}...)
				case "Interface":
					interfaces = append(interfaces, name)
					checks = append(checks, []struct {
						what      string
						got, want interface{}
					}{
						{"privateDnsEnabled", e.Inputs["privateDnsEnabled"], true},
						{"subnetIds", fmt.Sprint(sortedStrs(e.Inputs["subnetIds"])), fmt.Sprint(sortedTaskSubnets)},
						{"securityGroupIds", fmt.Sprint(e.Inputs["securityGroupIds"]), fmt.Sprint([]string{mockID("sg", "endpoint-sg")})},
						{"routeTableIds", e.Inputs["routeTableIds"], nil},
					}...)
				default:
					t.Errorf("endpoint %s has type %v, want Gateway or Interface", name, typ)
				}
				for _, c := range checks {
					if c.got != c.want {
						t.Errorf("endpoint %s %s = %v, want %v", name, c.what, c.got, c.want)
					}
				}
			}
			sort.Strings(gotGateways)
			if !cmp.Equal(gotGateways, tt.gateways) {
				t.Errorf("gateway endpoints %v, want %v", gotGateways, tt.gateways)
			}
			sort.Strings(interfaces)
			if !cmp.Equal(interfaces, tt.interfaces) {
				t.Errorf("interface endpoints %v, want %v", interfaces, tt.interfaces)
			}
		})
	}
}

// natsOfZone checks that zone's private subnet goes out through NAT gateway nat, which sits in
// public subnet nat: with a NAT per zone, that is the zone's own (a zone's outage leaves the other
// zones' egress), else the one NAT.
func natsOfZone(t *testing.T, res synth.Result, zone, nat int) {
	t.Helper()
	rt := mustGet(t, res, "aws:ec2/routeTable:RouteTable", fmt.Sprintf("private-rt-%d", zone))
	routes, _ := rt.Inputs["routes"].([]interface{})
	if len(routes) != 1 || routes[0].(map[string]interface{})["natGatewayId"] != mockID("nat", fmt.Sprintf("nat-%d", nat)) {
		t.Errorf("private-rt-%d routes %v, want 0.0.0.0/0 to nat-%d only", zone, routes, nat)
	}
	gw := mustGet(t, res, "aws:ec2/natGateway:NatGateway", fmt.Sprintf("nat-%d", nat))
	public := mustGet(t, res, "aws:ec2/subnet:Subnet", fmt.Sprintf("public-%d", nat))
	if gw.Inputs["subnetId"] != mockID("subnet", public.Name) {
		t.Errorf("nat-%d is in subnet %v, want public-%d", nat, gw.Inputs["subnetId"], nat)
	}
	private := mustGet(t, res, "aws:ec2/subnet:Subnet", fmt.Sprintf("private-%d", zone))
	if sameZone := public.Inputs["availabilityZone"] == private.Inputs["availabilityZone"]; sameZone != (zone == nat) {
		t.Errorf("zone %d goes out through nat-%d in %v (private subnet in %v)", zone, nat, public.Inputs["availabilityZone"], private.Inputs["availabilityZone"])
	}
}

// tasksNeverRoutedToTheInternet checks that no task subnet is associated
// with a route table holding a route to an internet gateway, and that each
// has a public IP mapping off.
func tasksNeverRoutedToTheInternet(t *testing.T, res synth.Result, taskSubnets []string) {
	t.Helper()
	subnetID := map[string]synth.Resource{}
	for _, s := range res.Find("aws:ec2/subnet:Subnet") {
		subnetID[mockID("subnet", s.Name)] = s
	}
	tables := map[string]synth.Resource{}
	for _, rt := range res.Find("aws:ec2/routeTable:RouteTable") {
		tables[mockID("rtb", rt.Name)] = rt
	}
	for _, sub := range taskSubnets {
		s, ok := subnetID[sub]
		if !ok {
			t.Fatalf("task subnet %s is none of the created subnets %v", sub, subnetID)
		}
		if !strings.HasPrefix(s.Name, "private-") || s.Inputs["mapPublicIpOnLaunch"] != false {
			t.Errorf("task subnet %s is not a private subnet without public IP mapping", s.Name)
		}
		associated := false
		for _, a := range res.Find("aws:ec2/routeTableAssociation:RouteTableAssociation") {
			if a.Inputs["subnetId"] != sub {
				continue
			}
			associated = true
			rt, ok := tables[fmt.Sprint(a.Inputs["routeTableId"])]
			if !ok {
				t.Fatalf("subnet %s is associated with %v, none of the created route tables", sub, a.Inputs["routeTableId"])
			}
			routes, _ := rt.Inputs["routes"].([]interface{})
			for _, r := range routes {
				if gw := fmt.Sprint(r.(map[string]interface{})["gatewayId"]); strings.HasPrefix(gw, "igw-") {
					t.Errorf("task subnet %s is routed (%s) to internet gateway %s", sub, rt.Name, gw)
				}
			}
		}
		if !associated {
			t.Errorf("task subnet %s has no route table of its own (the main table's routes are not the stack's)", sub)
		}
	}
}

func TestSecurityGroups(t *testing.T) {
	internet := []string{"0.0.0.0/0"}
	albSG, taskSG := mockID("sg", "alb-sg"), mockID("sg", "task-sg")
	const sharedSG = "sg-0123456789abcdef0" // loadBalancerSecurityGroupId of sharedPlatform
	// The intended rules: the load balancer takes HTTP and HTTPS from the
	// internet and reaches the tasks' port (inside the VPC when its range
	// is known); the tasks take their port from the load balancer's group
	// only and reach out over HTTPS only; the VPC endpoints take HTTPS from
	// the tasks' group only and open nothing outward.
	alb := func(port int, egressTo string) sgGroup {
		return sgGroup{
			ingress: []sgRule{
				{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrBlocks: internet},
				{Protocol: "tcp", FromPort: 80, ToPort: 80, CidrBlocks: internet},
			},
			egress: []sgRule{{Protocol: "tcp", FromPort: port, ToPort: port, CidrBlocks: []string{egressTo}}},
		}
	}
	task := func(port int, from string) sgGroup {
		return sgGroup{
			ingress: []sgRule{{Protocol: "tcp", FromPort: port, ToPort: port, SecurityGroups: []string{from}}},
			egress:  []sgRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CidrBlocks: internet}},
		}
	}
	endpoints := sgGroup{ingress: []sgRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, SecurityGroups: []string{taskSG}}}}
	existingVPC := map[string]string{"vpcId": "vpc-0123456789abcdef0",
		"albSubnetIds":  `["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]`,
		"taskSubnetIds": `["subnet-0123456789abcdef2","subnet-0123456789abcdef3"]`}
	tests := []struct {
		name      string
		overrides map[string]string
		groups    map[string]sgGroup // every security group the stack creates
		lbGroup   string             // the load balancer's group
	}{
		{"new VPC, no NAT: endpoints", map[string]string{"natGateways": "0"},
			map[string]sgGroup{"alb-sg": alb(8080, "10.0.0.0/16"), "task-sg": task(8080, albSG), "endpoint-sg": endpoints}, albSG},
		{"new VPC, NAT gateway", nil,
			map[string]sgGroup{"alb-sg": alb(8080, "10.0.0.0/16"), "task-sg": task(8080, albSG)}, albSG},
		{"container port 3000", map[string]string{"natGateways": "0", "containerPort": "3000"},
			map[string]sgGroup{"alb-sg": alb(3000, "10.0.0.0/16"), "task-sg": task(3000, albSG), "endpoint-sg": endpoints}, albSG},
		// An existing VPC's range is not known to the program.
		{"existing VPC", existingVPC,
			map[string]sgGroup{"alb-sg": alb(8080, "0.0.0.0/0"), "task-sg": task(8080, albSG)}, albSG},
		{"shared listener", sharedPlatform("orders"),
			map[string]sgGroup{"task-sg": task(8080, sharedSG)}, sharedSG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := synthProd(t, sha1, tt.overrides)
			var got, want []string
			for _, sg := range res.Find("aws:ec2/securityGroup:SecurityGroup") {
				got = append(got, sg.Name)
			}
			for name := range tt.groups {
				want = append(want, name)
			}
			sort.Strings(got)
			sort.Strings(want)
			if !cmp.Equal(got, want) {
				t.Fatalf("security groups %v, want %v", got, want)
			}
			for name, g := range tt.groups {
				sg := mustGet(t, res, "aws:ec2/securityGroup:SecurityGroup", name)
				if diff := cmp.Diff(g.ingress, sgRules(t, sg, "ingress")); diff != "" {
					t.Errorf("%s ingress rules (-want +got):\n%s", name, diff)
				}
				if diff := cmp.Diff(g.egress, sgRules(t, sg, "egress")); diff != "" {
					t.Errorf("%s egress rules (-want +got):\n%s", name, diff)
				}
			}
			checks := []struct {
				what      string
				got, want interface{}
			}{
				{"service security groups", fmt.Sprint(input(mustGet(t, res, "aws:ecs/service:Service", "service"), "networkConfiguration.securityGroups")), fmt.Sprint([]string{taskSG})},
			}
			if lb, ok := res.Get("aws:lb/loadBalancer:LoadBalancer", "alb"); ok {
				checks = append(checks, struct {
					what      string
					got, want interface{}
				}{"load balancer security groups", fmt.Sprint(lb.Inputs["securityGroups"]), fmt.Sprint([]string{tt.lbGroup})})
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func TestEdge(t *testing.T) {
	const cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
	res := synthProd(t, sha1, map[string]string{"certificateArn": cert, "accessLogsBucket": "acme-alb-logs"})
	alb := mustGet(t, res, "aws:lb/loadBalancer:LoadBalancer", "alb")
	https := mustGet(t, res, "aws:lb/listener:Listener", "https")
	redirect := input(mustGet(t, res, "aws:lb/listener:Listener", "http"), "defaultActions").([]interface{})[0].(map[string]interface{})
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"https port", https.Inputs["port"], 443.0},
		{"https certificate", https.Inputs["certificateArn"], cert},
		{"https TLS policy", https.Inputs["sslPolicy"], "ELBSecurityPolicy-TLS13-1-2-2021-06"},
		{"http action", redirect["type"], "redirect"},
		{"redirect protocol", input(synth.Resource{Inputs: redirect}, "redirect.protocol"), "HTTPS"},
		{"redirect status", input(synth.Resource{Inputs: redirect}, "redirect.statusCode"), "HTTP_301"},
		{"drop invalid headers", alb.Inputs["dropInvalidHeaderFields"], true},
		{"deletion protection", alb.Inputs["enableDeletionProtection"], true},
		{"access logs bucket", input(alb, "accessLogs.bucket"), "acme-alb-logs"},
		{"access logs on", input(alb, "accessLogs.enabled"), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	plain := synthProd(t, sha1, nil)
	if n := len(plain.Find("aws:lb/listener:Listener")); n != 1 {
		t.Errorf("without a certificate: %d listeners, want 1 (HTTP)", n)
	}
	if got := input(mustGet(t, plain, "aws:lb/loadBalancer:LoadBalancer", "alb"), "accessLogs"); got != nil {
		t.Errorf("without accessLogsBucket: accessLogs = %v, want none", got)
	}
}

func TestSecrets(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-0123-0123-0123456789ab"
	res := synthProd(t, sha1, map[string]string{"secrets": prodSecrets, "secretsKmsKeyArns": `["` + key + `"]`, "environment": `{"LOG_LEVEL":"info"}`})
	c := containers(t, res)[0]
	wantSecrets := []struct{ Name, ValueFrom string }{
		{"API_KEY", "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"},
		{"DB_PASSWORD", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password::"},
	}
	if diff := cmp.Diff(wantSecrets, c.Secrets); diff != "" {
		t.Errorf("container secrets (-want +got):\n%s", diff)
	}
	env := map[string]string{}
	for _, e := range c.Environment {
		env[e.Name] = e.Value
	}
	if env["LOG_LEVEL"] != "info" || env["API_KEY"] != "" {
		t.Errorf("environment %v, want LOG_LEVEL=info and no secret in plain text", env)
	}
	// The execution role's whole policy, per secrets config: each parameter
	// and secret once (two keys of one JSON secret are one IAM resource),
	// kms:Decrypt only with the configured keys and only through the stores
	// the secrets use.
	const (
		param   = "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"
		secret  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-??????"
		viaSSM  = "ssm.us-east-1.amazonaws.com"
		viaSM   = "secretsmanager.us-east-1.amazonaws.com"
		key2    = "arn:aws:kms:us-east-1:123456789012:key/4567cdef-4567-4567-4567-456789abcdef"
		dbKeys  = `"DB_PASSWORD":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:password::","DB_USER":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db:username::"`
		apiKeys = `"API_KEY":"` + param + `","API_KEY_COPY":"` + param + `"`
	)
	readParams := policyStatement{Sid: "ReadParameters", Effect: "Allow", Action: stringList{"ssm:GetParameters"}, Resource: stringList{param}}
	readSecrets := policyStatement{Sid: "ReadSecrets", Effect: "Allow", Action: stringList{"secretsmanager:GetSecretValue"}, Resource: stringList{secret}}
	decrypt := func(keys stringList, via ...string) policyStatement {
		return policyStatement{Sid: "DecryptSecrets", Effect: "Allow", Action: stringList{"kms:Decrypt"}, Resource: keys,
			Condition: map[string]map[string]stringList{"StringEquals": {"kms:ViaService": via}}}
	}
	for _, tt := range []struct {
		name      string
		overrides map[string]string
		want      []policyStatement // after the image and log statements
	}{
		{"no secrets", nil, nil},
		{"SSM and Secrets Manager, a KMS key", map[string]string{"secrets": prodSecrets, "secretsKmsKeyArns": `["` + key + `"]`},
			[]policyStatement{readParams, readSecrets, decrypt(stringList{key}, viaSSM, viaSM)}},
		{"one parameter twice, two keys of one secret, no KMS key", map[string]string{"secrets": "{" + apiKeys + "," + dbKeys + "}"},
			[]policyStatement{readParams, readSecrets}},
		{"Secrets Manager only, no KMS key", map[string]string{"secrets": "{" + dbKeys + "}", "secretsKmsKeyArns": "[]"},
			[]policyStatement{readSecrets}},
		{"SSM only, two KMS keys", map[string]string{"secrets": "{" + apiKeys + "}", "secretsKmsKeyArns": `["` + key + `","` + key2 + `"]`},
			[]policyStatement{readParams, decrypt(stringList{key, key2}, viaSSM)}},
		// ECS reads a parameter of another region by its full ARN; SSM asks
		// KMS from that region.
		{"a parameter of another region", map[string]string{"secrets": `{"API_KEY":"arn:aws:ssm:us-east-1:123456789012:parameter/api/key","EU_KEY":"arn:aws:ssm:eu-west-1:123456789012:parameter/eu/key"}`,
			"secretsKmsKeyArns": `["` + key + `"]`},
			[]policyStatement{{Sid: "ReadParameters", Effect: "Allow", Action: stringList{"ssm:GetParameters"}, Resource: stringList{param, "arn:aws:ssm:eu-west-1:123456789012:parameter/eu/key"}},
				decrypt(stringList{key}, "ssm.eu-west-1.amazonaws.com", viaSSM)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := synthProd(t, sha1, tt.overrides)
			repo := mustGet(t, res, "aws:ecr/repository:Repository", "repo").Outputs["arn"].(string)
			logGroup := mustGet(t, res, "aws:cloudwatch/logGroup:LogGroup", "logs").Outputs["arn"].(string)
			want := append([]policyStatement{
				{Sid: "EcrAuth", Effect: "Allow", Action: stringList{"ecr:GetAuthorizationToken"}, Resource: stringList{"*"}},
				{Sid: "PullImages", Effect: "Allow", Action: stringList{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, Resource: stringList{repo}},
				{Sid: "WriteLogs", Effect: "Allow", Action: stringList{"logs:CreateLogStream", "logs:PutLogEvents"}, Resource: stringList{logGroup + ":log-stream:*"}},
			}, tt.want...)
			if diff := cmp.Diff(want, rolePolicy(t, res, "execution-role-policy").Statement); diff != "" {
				t.Errorf("execution role statements (-want +got):\n%s", diff)
			}
		})
	}
	// The deploy role checks that the secrets exist before a deploy: it
	// may describe them, never read a value.
	deploy := map[string][]string{}
	for _, s := range rolePolicy(t, res, "deploy-role-policy").Statement {
		for _, a := range s.Action {
			if strings.HasPrefix(a, "ssm:") || strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "kms:") {
				deploy[a] = append(deploy[a], s.Resource...)
			}
		}
	}
	wantDeploy := map[string][]string{
		"secretsmanager:DescribeSecret": {"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-??????"},
		"ssm:DescribeParameters":        {"*"},
	}
	if diff := cmp.Diff(wantDeploy, deploy); diff != "" {
		t.Errorf("deploy role's secret actions (-want +got):\n%s", diff)
	}
}

func TestAutoscaling(t *testing.T) {
	const scaling = `{"min":2,"max":8,"cpuTarget":50,"requestsPerTarget":700}`
	shared := sharedPlatform("orders")
	shared["autoscaling"] = scaling
	for _, tt := range []struct {
		name      string
		overrides map[string]string
		service   string // the scalable target: service/<cluster>/<service>
		lb        string // the load balancer's ARN suffix; "" for the stack's own
	}{
		{"own load balancer", map[string]string{"autoscaling": scaling}, "service/prod-cluster/api-service", ""},
		{"shared listener", shared, "service/platform/orders", "app/shared/0123456789abcdef"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := synthProd(t, sha1, tt.overrides)
			lb := tt.lb
			if lb == "" {
				lb = arnSuffix(mustGet(t, res, "aws:lb/loadBalancer:LoadBalancer", "alb"))
			}
			// ALBRequestCountPerTarget counts the requests of one target
			// group on one load balancer: <lb arn suffix>/<tg arn suffix>.
			label := lb + "/" + arnSuffix(mustGet(t, res, "aws:lb/targetGroup:TargetGroup", "tg"))
			target := mustGet(t, res, "aws:appautoscaling/target:Target", "autoscaling-target")
			checks := []struct {
				what string
				got  interface{}
				want interface{}
			}{
				{"target resource", target.Inputs["resourceId"], tt.service},
				{"target dimension", target.Inputs["scalableDimension"], "ecs:service:DesiredCount"},
				{"target namespace", target.Inputs["serviceNamespace"], "ecs"},
				{"target min", target.Inputs["minCapacity"], 2.0},
				{"target max", target.Inputs["maxCapacity"], 8.0},
			}
			for _, p := range []struct {
				name, metric, label string
				value               float64
			}{{"scale-on-cpu", "ECSServiceAverageCPUUtilization", "", 50}, {"scale-on-requests", "ALBRequestCountPerTarget", label, 700}} {
				policy := mustGet(t, res, "aws:appautoscaling/policy:Policy", p.name)
				checks = append(checks, []struct {
					what string
					got  interface{}
					want interface{}
				}{
					{p.name + " type", policy.Inputs["policyType"], "TargetTrackingScaling"},
					{p.name + " resource", policy.Inputs["resourceId"], tt.service},
					{p.name + " dimension", policy.Inputs["scalableDimension"], "ecs:service:DesiredCount"},
					{p.name + " namespace", policy.Inputs["serviceNamespace"], "ecs"},
				}...)
				var want, got scalingConfig
				want.TargetValue, want.ScaleOutCooldown, want.ScaleInCooldown = p.value, 60, 300
				want.PredefinedMetricSpecification.PredefinedMetricType = p.metric
				want.PredefinedMetricSpecification.ResourceLabel = p.label
				decodeStrict(t, p.name, policy.Inputs["targetTrackingScalingPolicyConfiguration"], &got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s target tracking (-want +got):\n%s", p.name, diff)
				}
			}
			svc := mustGet(t, res, "aws:ecs/service:Service", "service")
			checks = append(checks, struct {
				what string
				got  interface{}
				want interface{}
			}{"service ignores desiredCount", fmt.Sprint(svc.IgnoreChanges), "[desiredCount]"})
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
		})
	}
	fixed := synthProd(t, sha1, nil)
	if n := len(fixed.Find("aws:appautoscaling/target:Target")); n != 0 {
		t.Errorf("autoscaling off: %d scalable targets, want 0", n)
	}
	if ic := mustGet(t, fixed, "aws:ecs/service:Service", "service").IgnoreChanges; len(ic) != 0 {
		t.Errorf("autoscaling off: service ignores %v, want nothing (desiredCount is config)", ic)
	}
}

func TestDeploymentAlarms(t *testing.T) {
	res := synthProd(t, sha1, nil)
	svc := mustGet(t, res, "aws:ecs/service:Service", "service")
	wantNames := []string{"prod-cluster-api-service-target-5xx-rate", "prod-cluster-api-service-unhealthy-hosts", "prod-cluster-api-service-p99-latency"}
	if got := strs(input(svc, "alarms.alarmNames")); !cmp.Equal(got, wantNames) {
		t.Errorf("service deployment alarms %v, want %v", got, wantNames)
	}
	if input(svc, "alarms.enable") != true || input(svc, "alarms.rollback") != true {
		t.Errorf("service alarms = %v, want enable and rollback", svc.Inputs["alarms"])
	}

	// Each alarm watches this service's target group on its load balancer:
	// without the TargetGroup dimension an alarm on a shared listener
	// would watch every service behind it. The prod stack's thresholds:
	// 5 % of requests answered 5xx, 1 unhealthy host, p99 above 2 s; 2 of
	// 3 one-minute periods; no traffic is not breaching.
	for _, tt := range []struct {
		name      string
		overrides map[string]string
		prefix    string // of the alarm names: cluster-service
		lb        string // the LoadBalancer dimension; "" for the stack's own
	}{
		{"own load balancer", nil, "prod-cluster-api-service", ""},
		{"shared listener", sharedPlatform("orders"), "platform-orders", "app/shared/0123456789abcdef"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := synthProd(t, sha1, tt.overrides)
			lb := tt.lb
			if lb == "" {
				lb = arnSuffix(mustGet(t, res, "aws:lb/loadBalancer:LoadBalancer", "alb"))
			}
			dims := map[string]string{"LoadBalancer": lb, "TargetGroup": arnSuffix(mustGet(t, res, "aws:lb/targetGroup:TargetGroup", "tg"))}
			sum := func(id, metric string) alarmQuery {
				return alarmQuery{ID: id, Metric: &alarmMetric{Namespace: "AWS/ApplicationELB", MetricName: metric, Dimensions: dims, Period: 60, Stat: "Sum"}}
			}
			want := map[string]alarmDef{
				"alarm-5xx-rate": {
					Name: tt.prefix + "-target-5xx-rate",
					MetricQueries: []alarmQuery{
						sum("errors", "HTTPCode_Target_5XX_Count"),
						sum("requests", "RequestCount"),
						{ID: "rate", Label: "5xx per request (%)", Expression: "100 * FILL(errors, 0) / FILL(requests, 1)", ReturnData: true},
					},
					ComparisonOperator: "GreaterThanOrEqualToThreshold", Threshold: 5,
					EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: "notBreaching",
				},
				"alarm-unhealthy-hosts": {
					Name:      tt.prefix + "-unhealthy-hosts",
					Namespace: "AWS/ApplicationELB", MetricName: "UnHealthyHostCount", Dimensions: dims, Period: 60, Statistic: "Maximum",
					ComparisonOperator: "GreaterThanOrEqualToThreshold", Threshold: 1,
					EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: "notBreaching",
				},
				"alarm-p99-latency": {
					Name:      tt.prefix + "-p99-latency",
					Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Dimensions: dims, Period: 60, ExtendedStatistic: "p99",
					ComparisonOperator: "GreaterThanThreshold", Threshold: 2,
					EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: "notBreaching",
				},
			}
			got := map[string]alarmDef{}
			for _, a := range res.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
				var def alarmDef
				decodeStrict(t, "alarm "+a.Name, a.Inputs, &def, "alarmDescription", "tags")
				got[a.Name] = def
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alarms (-want +got):\n%s", diff)
			}
		})
	}

	off := synthProd(t, sha1, map[string]string{"alarms": `{"enabled":false}`})
	if n := len(off.Find("aws:cloudwatch/metricAlarm:MetricAlarm")); n != 0 {
		t.Errorf("alarms off: %d alarms, want 0", n)
	}
	if a := mustGet(t, off, "aws:ecs/service:Service", "service").Inputs["alarms"]; a != nil {
		t.Errorf("alarms off: service alarms = %v, want none", a)
	}
}

func TestHardenedContainer(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"healthCheckCommand": `["CMD","/app/healthcheck"]`})
	task := mustGet(t, res, "aws:ecs/taskDefinition:TaskDefinition", "task")
	var defs []map[string]interface{}
	if err := json.Unmarshal([]byte(task.Inputs["containerDefinitions"].(string)), &defs); err != nil {
		t.Fatal(err)
	}
	c := synth.Resource{Inputs: defs[0]}
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"readonlyRootFilesystem", c.Inputs["readonlyRootFilesystem"], true},
		{"user", c.Inputs["user"], "1000:1000"},
		{"initProcessEnabled", input(c, "linuxParameters.initProcessEnabled"), true},
		{"stopTimeout", c.Inputs["stopTimeout"], 60.0},
		{"scratch mount", fmt.Sprint(c.Inputs["mountPoints"]), "[map[containerPath:/tmp readOnly:false sourceVolume:scratch]]"},
		{"scratch volume", fmt.Sprint(task.Inputs["volumes"]), "[map[name:scratch]]"},
		{"health check", fmt.Sprint(input(c, "healthCheck.command")), "[CMD /app/healthcheck]"},
		{"exec", mustGet(t, res, "aws:ecs/service:Service", "service").Inputs["enableExecuteCommand"], false},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
		}
	}
	if stop, dereg := c.Inputs["stopTimeout"].(float64), mustGet(t, res, "aws:lb/targetGroup:TargetGroup", "tg").Inputs["deregistrationDelay"].(float64); stop <= dereg {
		t.Errorf("stopTimeout %v <= deregistration delay %v", stop, dereg)
	}
	for _, s := range rolePolicy(t, res, "task-role-policy").Statement {
		for _, a := range s.Action {
			if strings.HasPrefix(a, "ssmmessages:") {
				t.Errorf("exec off: task role grants %s", a)
			}
		}
	}
}

func TestExec(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"enableExec": "true", "readonlyRootFilesystem": "false"})
	if got := mustGet(t, res, "aws:ecs/service:Service", "service").Inputs["enableExecuteCommand"]; got != true {
		t.Errorf("service enableExecuteCommand = %v, want true", got)
	}
	logGroup := mustGet(t, res, "aws:cloudwatch/logGroup:LogGroup", "logs").Outputs["arn"].(string)
	got := map[string][]string{}
	for _, s := range rolePolicy(t, res, "task-role-policy").Statement {
		if s.Sid == "Table" || s.Sid == "Queue" {
			continue
		}
		for _, a := range s.Action {
			got[a] = s.Resource
		}
	}
	logs := []string{logGroup, logGroup + ":log-stream:*"}
	want := map[string][]string{
		"ssmmessages:CreateControlChannel": {"*"}, "ssmmessages:CreateDataChannel": {"*"},
		"ssmmessages:OpenControlChannel": {"*"}, "ssmmessages:OpenDataChannel": {"*"},
		"logs:CreateLogStream": logs, "logs:DescribeLogStreams": logs, "logs:PutLogEvents": logs,
		"logs:DescribeLogGroups": {"*"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("task role exec permissions (-want +got):\n%s", diff)
	}
}

// Two stacks on one platform (cluster, VPC, listener) create only their
// own target group, rule, service and what belongs to them: none of the
// platform, and nothing the other creates.
func TestSharedPlatform(t *testing.T) {
	orders, billing := synthProd(t, sha1, sharedPlatform("orders")), synthProd(t, sha1, sharedPlatform("billing"))
	for _, res := range []synth.Result{orders, billing} {
		for _, typ := range []string{"aws:ecs/cluster:Cluster", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener",
			"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:iam/openIdConnectProvider:OpenIdConnectProvider"} {
			if n := len(res.Find(typ)); n != 0 {
				t.Errorf("shared platform: %d %s created, want 0", n, typ)
			}
		}
	}
	rule := mustGet(t, orders, "aws:lb/listenerRule:ListenerRule", "listener-rule")
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"rule listener", rule.Inputs["listenerArn"], sharedListener},
		{"rule priority", rule.Inputs["priority"], 10.0},
		{"rule host", fmt.Sprint(input(synth.Resource{Inputs: rule.Inputs["conditions"].([]interface{})[0].(map[string]interface{})}, "hostHeader.values")), "[orders.example.com]"},
		{"service cluster", mustGet(t, orders, "aws:ecs/service:Service", "service").Inputs["cluster"], "arn:aws:ecs:us-east-1:" + synth.AccountID + ":cluster/platform"},
		{"task ingress", fmt.Sprint(input(mustGet(t, orders, "aws:ec2/securityGroup:SecurityGroup", "task-sg"), "ingress").([]interface{})[0].(map[string]interface{})["securityGroups"]), "[sg-0123456789abcdef0]"},
		{"alarm dimension", input(mustGet(t, orders, "aws:cloudwatch/metricAlarm:MetricAlarm", "alarm-unhealthy-hosts"), "dimensions.LoadBalancer"), "app/shared/0123456789abcdef"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// What names a resource in the account: the names the program sets
	// (autonamed resources get a random suffix per stack), the task family
	// and a rule's place on the shared listener.
	physical := func(res synth.Result) map[string]string {
		out := map[string]string{}
		for _, r := range res.Resources {
			if !r.IsCustom || strings.HasPrefix(r.Type, "github:") {
				continue // GitHub resources live in each service's own repository
			}
			for _, k := range []string{"name", "family", "resourceId"} {
				if v, ok := r.Inputs[k].(string); ok && v != "" {
					out[r.Type+" "+k+" "+v] = r.Name
				}
			}
			if r.Type == "aws:lb/listenerRule:ListenerRule" {
				out[fmt.Sprintf("rule %v priority %v", r.Inputs["listenerArn"], r.Inputs["priority"])] = r.Name
			}
		}
		return out
	}
	ordersNames := physical(orders)
	if len(ordersNames) < 8 {
		t.Fatalf("only %d named resources found: %v", len(ordersNames), ordersNames)
	}
	for key, r := range physical(billing) {
		if o, ok := ordersNames[key]; ok {
			t.Errorf("both stacks have %s (orders' %s, billing's %s)", key, o, r)
		}
	}
	for _, role := range []string{"deploy-role-policy", "preview-role-policy"} {
		for _, s := range rolePolicy(t, orders, role).Statement {
			for _, r := range s.Resource {
				if strings.Contains(r, "billing") || (strings.Contains(r, ":service/") && !strings.HasSuffix(r, "/orders")) {
					t.Errorf("%s %s reaches %s, not orders' own", role, s.Sid, r)
				}
			}
		}
	}
}
