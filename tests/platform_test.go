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
	tests := []struct {
		name       string
		overrides  map[string]string
		subnets    int // created
		nats       int
		interfaces []string // interface endpoints
	}{
		{"default: two zones, one NAT", nil, 4, 1, nil},
		{"three zones, NAT per zone", map[string]string{"availabilityZones": threeZones, "natGateways": "3"}, 6, 3, nil},
		{"three zones, one NAT", map[string]string{"availabilityZones": threeZones}, 6, 1, nil},
		{"no NAT, endpoints", map[string]string{"natGateways": "0"}, 4, 0, []string{"ecr-api", "ecr-dkr", "logs", "sqs"}},
		{"no NAT with secrets and exec", map[string]string{"natGateways": "0", "secrets": prodSecrets, "enableExec": "true", "readonlyRootFilesystem": "false"},
			4, 0, []string{"ecr-api", "ecr-dkr", "logs", "secretsmanager", "sqs", "ssm", "ssmmessages"}},
		{"existing VPC", map[string]string{"vpcId": "vpc-0123456789abcdef0",
			"albSubnetIds":  `["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]`,
			"taskSubnetIds": `["subnet-0123456789abcdef2","subnet-0123456789abcdef3"]`}, 0, 0, nil},
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
			var interfaces []string
			for _, e := range res.Find("aws:ec2/vpcEndpoint:VpcEndpoint") {
				if e.Inputs["vpcEndpointType"] == "Interface" {
					interfaces = append(interfaces, strings.TrimPrefix(e.Name, "endpoint-"))
				}
			}
			sort.Strings(interfaces)
			if !cmp.Equal(interfaces, tt.interfaces) {
				t.Errorf("interface endpoints %v, want %v", interfaces, tt.interfaces)
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
		})
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
	res := synthProd(t, sha1, map[string]string{"natGateways": "0"})
	rules := func(name, dir string) []map[string]interface{} {
		var out []map[string]interface{}
		for _, r := range mustGet(t, res, "aws:ec2/securityGroup:SecurityGroup", name).Inputs[dir].([]interface{}) {
			out = append(out, r.(map[string]interface{}))
		}
		return out
	}
	var albPorts []float64
	for _, r := range rules("alb-sg", "ingress") {
		albPorts = append(albPorts, r["fromPort"].(float64))
		if got := strs(r["cidrBlocks"]); !cmp.Equal(got, []string{"0.0.0.0/0"}) {
			t.Errorf("alb-sg ingress %v from %v, want the internet", r["fromPort"], got)
		}
	}
	if !cmp.Equal(albPorts, []float64{80, 443}) {
		t.Errorf("alb-sg ingress ports %v, want [80 443]", albPorts)
	}
	albSG, taskSG := mockID("sg", "alb-sg"), mockID("sg", "task-sg")
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"task ingress sources", fmt.Sprint(rules("task-sg", "ingress")[0]["securityGroups"]), fmt.Sprint([]interface{}{albSG})},
		{"task ingress port", rules("task-sg", "ingress")[0]["fromPort"], 8080.0},
		{"task ingress rules", len(rules("task-sg", "ingress")), 1},
		{"task egress port", rules("task-sg", "egress")[0]["fromPort"], 443.0},
		{"alb egress to the VPC only", fmt.Sprint(rules("alb-sg", "egress")[0]["cidrBlocks"]), "[10.0.0.0/16]"},
		{"alb egress port", rules("alb-sg", "egress")[0]["toPort"], 8080.0},
		{"endpoint ingress sources", fmt.Sprint(rules("endpoint-sg", "ingress")[0]["securityGroups"]), fmt.Sprint([]interface{}{taskSG})},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, r := range rules("task-sg", "ingress") {
		if cidrs, ok := r["cidrBlocks"].([]interface{}); ok && len(cidrs) > 0 {
			t.Errorf("task-sg ingress from CIDRs %v, want the load balancer's group only", cidrs)
		}
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
	got := map[string][]string{}
	conditions := map[string]map[string]map[string]stringList{}
	for _, s := range rolePolicy(t, res, "execution-role-policy").Statement {
		for _, a := range s.Action {
			got[a] = append(got[a], s.Resource...)
			conditions[a] = s.Condition
		}
	}
	want := map[string][]string{
		"ssm:GetParameters":             {"arn:aws:ssm:us-east-1:123456789012:parameter/api/key"},
		"secretsmanager:GetSecretValue": {"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-??????"},
		"kms:Decrypt":                   {key},
	}
	for action, w := range want {
		if !cmp.Equal(got[action], w) {
			t.Errorf("execution role %s on %v, want exactly %v", action, got[action], w)
		}
	}
	if via := conditions["kms:Decrypt"]["StringEquals"]["kms:ViaService"]; !cmp.Equal(via, stringList{"ssm.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com"}) {
		t.Errorf("kms:Decrypt kms:ViaService = %v, want SSM and Secrets Manager of us-east-1", via)
	}
	for _, s := range rolePolicy(t, synthProd(t, sha1, nil), "execution-role-policy").Statement {
		for _, a := range s.Action {
			if strings.HasPrefix(a, "ssm:") || strings.HasPrefix(a, "secretsmanager:") || strings.HasPrefix(a, "kms:") {
				t.Errorf("without secrets the execution role grants %s", a)
			}
		}
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
	res := synthProd(t, sha1, map[string]string{"autoscaling": `{"min":2,"max":8,"cpuTarget":50,"requestsPerTarget":700}`})
	target := mustGet(t, res, "aws:appautoscaling/target:Target", "autoscaling-target")
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"target resource", target.Inputs["resourceId"], "service/prod-cluster/api-service"},
		{"target dimension", target.Inputs["scalableDimension"], "ecs:service:DesiredCount"},
		{"target min", target.Inputs["minCapacity"], 2.0},
		{"target max", target.Inputs["maxCapacity"], 8.0},
	}
	for _, p := range []struct {
		name, metric string
		value        float64
	}{{"scale-on-cpu", "ECSServiceAverageCPUUtilization", 50}, {"scale-on-requests", "ALBRequestCountPerTarget", 700}} {
		policy := mustGet(t, res, "aws:appautoscaling/policy:Policy", p.name)
		checks = append(checks, []struct {
			what string
			got  interface{}
			want interface{}
		}{
			{p.name + " type", policy.Inputs["policyType"], "TargetTrackingScaling"},
			{p.name + " metric", input(policy, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"), p.metric},
			{p.name + " target", input(policy, "targetTrackingScalingPolicyConfiguration.targetValue"), p.value},
			{p.name + " resource", policy.Inputs["resourceId"], "service/prod-cluster/api-service"},
		}...)
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
	alarms := map[string]synth.Resource{}
	for _, a := range res.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
		alarms[fmt.Sprint(a.Inputs["name"])] = a
	}
	var names []string
	for n := range alarms {
		names = append(names, n)
	}
	sort.Strings(names)
	sorted := append([]string(nil), wantNames...)
	sort.Strings(sorted)
	if !cmp.Equal(names, sorted) {
		t.Fatalf("alarms %v, want %v", names, sorted)
	}
	rate := alarms[wantNames[0]]
	var metrics []string
	for _, q := range rate.Inputs["metricQueries"].([]interface{}) {
		if m, ok := q.(map[string]interface{})["metric"].(map[string]interface{}); ok {
			metrics = append(metrics, fmt.Sprint(m["metricName"]))
		}
	}
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"5xx metrics", fmt.Sprint(metrics), "[HTTPCode_Target_5XX_Count RequestCount]"},
		{"5xx threshold (%)", rate.Inputs["threshold"], 5.0},
		{"unhealthy metric", alarms[wantNames[1]].Inputs["metricName"], "UnHealthyHostCount"},
		{"p99 statistic", alarms[wantNames[2]].Inputs["extendedStatistic"], "p99"},
		{"p99 threshold (s)", alarms[wantNames[2]].Inputs["threshold"], 2.0},
		{"missing data", rate.Inputs["treatMissingData"], "notBreaching"},
		{"evaluation periods", rate.Inputs["evaluationPeriods"], 3.0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
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
