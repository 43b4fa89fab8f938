package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/project"
)

func parseWith(t *testing.T, overrides map[string]string) error {
	t.Helper()
	_, err := contract.ParseMap("prod", prodConfig(t, sha1, overrides))
	return err
}

func TestConfigValidation(t *testing.T) {
	if err := parseWith(t, nil); err != nil {
		t.Fatalf("the prod stack's config is invalid: %v", err)
	}
	tests := []struct {
		name      string
		overrides map[string]string
		want      []string // every fragment must appear in the error
	}{
		{"short SHA", map[string]string{"imageTag": "0123456"}, []string{"slipway:imageTag", `"0123456"`, "40 lowercase hex"}},
		{"uppercase SHA", map[string]string{"imageTag": strings.ToUpper(sha1)}, []string{"slipway:imageTag", strings.ToUpper(sha1), "40 lowercase hex"}},
		{"branch name as SHA", map[string]string{"imageTag": "main"}, []string{"slipway:imageTag", `"main"`}},
		{"missing SHA", map[string]string{"imageTag": ""}, []string{"slipway:imageTag", "required"}},
		{"missing owner", map[string]string{"githubOwner": ""}, []string{"slipway:githubOwner", "required", "pulumi config set slipway:githubOwner"}},
		{"owner with slash", map[string]string{"githubOwner": "a/b"}, []string{"slipway:githubOwner", `"a/b"`}},
		{"missing repo", map[string]string{"githubRepo": ""}, []string{"slipway:githubRepo", "required"}},
		{"repo with colon", map[string]string{"githubRepo": "api:environment:production"}, []string{"slipway:githubRepo", "api:environment:production"}},
		{"owner ID alone", map[string]string{"githubOwnerId": "123"}, []string{"slipway:githubOwnerId/githubRepoId", "both set"}},
		{"non-numeric repo ID", map[string]string{"githubOwnerId": "1", "githubRepoId": "abc"}, []string{"slipway:githubRepoId", `"abc"`, "numeric"}},
		{"port zero", map[string]string{"containerPort": "0"}, []string{"slipway:containerPort", `"0"`, "1 to 65535"}},
		{"port not a number", map[string]string{"containerPort": "http"}, []string{"slipway:containerPort", `"http"`}},
		{"desired count zero", map[string]string{"desiredCount": "0"}, []string{"slipway:desiredCount", `"0"`, "1 to 100"}},
		{"invalid Fargate pair", map[string]string{"cpu": "256", "memory": "4096"}, []string{"slipway:cpu/memory", `"256/4096"`, "valid Fargate pair"}},
		{"invalid Fargate CPU", map[string]string{"cpu": "300"}, []string{"slipway:cpu/memory", "300/512"}},
		{"rollback window too small", map[string]string{"rollbackWindow": "5"}, []string{"slipway:rollbackWindow", `"5"`, "20 to 1000"}},
		{"negative deregistration delay", map[string]string{"deregistrationDelay": "-1"}, []string{"slipway:deregistrationDelay", `"-1"`}},
		{"health path relative", map[string]string{"healthCheckPath": "health"}, []string{"slipway:healthCheckPath", `"health"`, "absolute"}},
		{"service name uppercase", map[string]string{"serviceName": "API"}, []string{"slipway:serviceName", `"API"`, "lowercase"}},
		{"VPC without subnets", map[string]string{"vpcId": "vpc-0123456789abcdef0"}, []string{"slipway:taskSubnetIds", "slipway:albSubnetIds", "at least two"}},
		{"subnets without VPC", map[string]string{"taskSubnetIds": `["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]`}, []string{"slipway:vpcId", "albSubnetIds and taskSubnetIds"}},
		{"malformed subnet", map[string]string{"vpcId": "vpc-0123456789abcdef0", "taskSubnetIds": `["subnet-1","x"]`}, []string{"slipway:taskSubnetIds", `"x"`}},
		{"subnets not a list", map[string]string{"vpcId": "vpc-0123456789abcdef0", "albSubnetIds": "subnet-0123456789abcdef0"}, []string{"slipway:albSubnetIds", "a list of strings"}},
		{"tasks in the load balancer's subnets", map[string]string{"vpcId": "vpc-0123456789abcdef0",
			"albSubnetIds": `["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]`, "taskSubnetIds": `["subnet-0123456789abcdef1","subnet-0123456789abcdef2"]`},
			[]string{"slipway:taskSubnetIds", "subnet-0123456789abcdef1", "private subnet of its own"}},
		{"retired subnetIds", map[string]string{"subnetIds": `["subnet-0123456789abcdef0"]`}, []string{"slipway:subnetIds", "albSubnetIds", "taskSubnetIds"}},
		{"retired assignPublicIp", map[string]string{"assignPublicIp": "true"}, []string{"slipway:assignPublicIp", "private subnets without a public IP"}},
		{"zone of another region", map[string]string{"availabilityZones": `["eu-west-1a","eu-west-1b"]`}, []string{"slipway:availabilityZones", `"eu-west-1a"`, "us-east-1"}},
		{"one zone", map[string]string{"availabilityZones": `["us-east-1a"]`}, []string{"slipway:availabilityZones", "two or three"}},
		{"a zone twice", map[string]string{"availabilityZones": `["us-east-1a","us-east-1a"]`}, []string{"slipway:availabilityZones", `"us-east-1a"`, "listed twice"}},
		{"a task subnet twice", map[string]string{"vpcId": "vpc-0123456789abcdef0", "taskSubnetIds": `["subnet-0123456789abcdef0","subnet-0123456789abcdef0"]`,
			"albSubnetIds": `["subnet-0123456789abcdef2","subnet-0123456789abcdef3"]`}, []string{"slipway:taskSubnetIds", "listed twice"}},
		{"NAT gateways for an existing VPC", map[string]string{"vpcId": "vpc-0123456789abcdef0", "natGateways": "0", "taskSubnetIds": `["subnet-0123456789abcdef0","subnet-0123456789abcdef1"]`,
			"albSubnetIds": `["subnet-0123456789abcdef2","subnet-0123456789abcdef3"]`}, []string{"slipway:natGateways", "its default when vpcId is set"}},
		{"four zones", map[string]string{"availabilityZones": `["us-east-1a","us-east-1b","us-east-1c","us-east-1d"]`}, []string{"slipway:availabilityZones", "two or three"}},
		{"two NAT gateways in three zones", map[string]string{"availabilityZones": `["us-east-1a","us-east-1b","us-east-1c"]`, "natGateways": "2"}, []string{"slipway:natGateways", `"2"`, "0 (VPC endpoints", "or 3 (one per zone)"}},
		{"stop timeout equal to draining", map[string]string{"stopTimeout": "30", "deregistrationDelay": "30"}, []string{"slipway:stopTimeout/deregistrationDelay", `"30/30"`, "longer than the deregistration delay"}},
		{"stop timeout shorter than draining", map[string]string{"stopTimeout": "20", "deregistrationDelay": "30"}, []string{"slipway:stopTimeout/deregistrationDelay", `"20/30"`, "longer than the deregistration delay"}},
		{"stop timeout beyond Fargate", map[string]string{"stopTimeout": "300"}, []string{"slipway:stopTimeout", `"300"`, "2 to 120"}},
		{"root user", map[string]string{"containerUser": "0:0"}, []string{"slipway:containerUser", `"0:0"`, "other than root"}},
		{"root by name", map[string]string{"containerUser": "root"}, []string{"slipway:containerUser", `"root"`}},
		{"no user", map[string]string{"containerUser": `""`}, []string{"slipway:containerUser"}},
		{"health check without CMD", map[string]string{"healthCheckCommand": `["curl","-f","http://localhost/health"]`}, []string{"slipway:healthCheckCommand", "CMD-SHELL"}},
		{"exec on a read-only filesystem", map[string]string{"enableExec": "true"}, []string{"slipway:enableExec/readonlyRootFilesystem", "SSM agent"}},
		{"secret not an ARN", map[string]string{"secrets": `{"DB_PASSWORD":"db-password"}`}, []string{"slipway:secrets.DB_PASSWORD", `"db-password"`, "SSM parameter ARN"}},
		{"secret with stage and ID", map[string]string{"secrets": `{"DB":"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password:AWSCURRENT:0123"}`}, []string{"slipway:secrets.DB", "at most one of the stage and the ID"}},
		{"secret overriding the program", map[string]string{"secrets": `{"TABLE_NAME":"arn:aws:ssm:us-east-1:123456789012:parameter/t"}`}, []string{"slipway:secrets.TABLE_NAME", "set by the program"}},
		{"secret and variable of one name", map[string]string{"environment": `{"TOKEN":"x"}`, "secrets": `{"TOKEN":"arn:aws:ssm:us-east-1:123456789012:parameter/t"}`}, []string{"slipway:secrets.TOKEN", "TOKEN is environment"}},
		{"secrets not an object", map[string]string{"secrets": `["arn:aws:ssm:us-east-1:123456789012:parameter/t"]`}, []string{"slipway:secrets", "an object"}},
		{"KMS keys without secrets", map[string]string{"secretsKmsKeyArns": `["arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-0123-0123-0123456789ab"]`}, []string{"slipway:secretsKmsKeyArns", "no keys while slipway:secrets is empty"}},
		{"KMS alias instead of key", map[string]string{"secrets": `{"T":"arn:aws:ssm:us-east-1:123456789012:parameter/t"}`, "secretsKmsKeyArns": `["alias/aws/ssm"]`}, []string{"slipway:secretsKmsKeyArns", `"alias/aws/ssm"`, "KMS key ARN"}},
		{"bad environment name", map[string]string{"environment": `{"1X":"y"}`}, []string{"slipway:environment.1X", "variable name"}},
		{"environment value not a string", map[string]string{"environment": `{"X":1}`}, []string{"slipway:environment.X", "a string"}},
		{"autoscaling without max", map[string]string{"autoscaling": `{"min":2}`}, []string{"slipway:autoscaling.max", "required"}},
		{"autoscaling min above max", map[string]string{"autoscaling": `{"min":5,"max":3}`}, []string{"slipway:autoscaling", "min no larger than max"}},
		{"autoscaling unknown field", map[string]string{"autoscaling": `{"min":2,"max":4,"cpu":50}`}, []string{"slipway:autoscaling.cpu", "cpuTarget"}},
		{"desired count outside autoscaling", map[string]string{"autoscaling": `{"min":3,"max":6}`}, []string{"slipway:desiredCount", `"2"`, "min 3"}},
		{"alarm period below a minute", map[string]string{"alarms": `{"periodSeconds":30}`}, []string{"slipway:alarms.periodSeconds", `"30"`}},
		{"alarm datapoints above periods", map[string]string{"alarms": `{"evaluationPeriods":2,"datapointsToAlarm":3}`}, []string{"slipway:alarms.datapointsToAlarm", "at most evaluationPeriods (2)"}},
		{"alarms enabled not a bool", map[string]string{"alarms": `{"enabled":"maybe"}`}, []string{"slipway:alarms.enabled", "true or false"}},
		{"access logs bucket as URL", map[string]string{"accessLogsBucket": "s3://logs"}, []string{"slipway:accessLogsBucket", `"s3://logs"`}},
		{"listener without its companions", map[string]string{"listenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/0123456789abcdef/0123456789abcdef"},
			[]string{"slipway:vpcId", "slipway:hostHeader/pathPattern", "slipway:listenerRulePriority", "slipway:loadBalancerSecurityGroupId"}},
		{"listener of another region", map[string]string{"listenerArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shared/0123456789abcdef/0123456789abcdef"}, []string{"slipway:listenerArn", "region us-east-1"}},
		{"listener with a certificate", map[string]string{"listenerArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/0123456789abcdef/0123456789abcdef",
			"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}, []string{"slipway:certificateArn", "not this stack's to configure"}},
		{"host header without listener", map[string]string{"hostHeader": "api.example.com"}, []string{"slipway:hostHeader", "unless listenerArn"}},
		{"host header with uppercase", map[string]string{"hostHeader": "API.example.com"}, []string{"slipway:hostHeader", "lowercase host"}},
		{"path pattern relative", map[string]string{"pathPattern": "api/*"}, []string{"slipway:pathPattern", `"api/*"`}},
		{"existing cluster name with a space", map[string]string{"existingClusterName": "shared cluster"}, []string{"slipway:existingClusterName", `"shared cluster"`}},
		{"OIDC provider of another host", map[string]string{"oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/example.com"}, []string{"slipway:oidcProviderArn", "example.com"}},
		{"certificate not an ARN", map[string]string{"certificateArn": "my-cert"}, []string{"slipway:certificateArn", `"my-cert"`}},
		{"state bucket as URL", map[string]string{"stateBucket": "s3://state"}, []string{"slipway:stateBucket", `"s3://state"`, "no s3://"}},
		{"enableExec not a bool", map[string]string{"enableExec": "yes"}, []string{"slipway:enableExec", `"yes"`, "true or false"}},
		{"log retention not a CloudWatch value", map[string]string{"logRetentionDays": "31"}, []string{"slipway:logRetentionDays", `"31"`, "30"}},
		{"tool ref is a branch", map[string]string{"slipwayRef": "main"}, []string{"slipway:slipwayRef", `"main"`, "40-hex"}},
		{"tool ref missing", map[string]string{"slipwayRef": ""}, []string{"slipway:slipwayRef", `""`}},
		{"tool path escapes", map[string]string{"slipwayPath": "../x"}, []string{"slipway:slipwayPath", `"../x"`, `no ".."`}},
		{"tool path absolute", map[string]string{"slipwayPath": "/opt/slipway"}, []string{"slipway:slipwayPath", "relative"}},
		{"tool repository malformed", map[string]string{"slipwayRepository": "slipway"}, []string{"slipway:slipwayRepository", `"slipway"`, "owner/name"}},
		{"GitHub provider owner differs", map[string]string{"github:owner": "someone-else"}, []string{"config github:owner", `"someone-else"`, "example-org"}},
		{"no shared backend", map[string]string{"stateBucket": ""}, []string{"slipway:stateBucket/backendUrl", "shared state backend"}},
		{"backend not a URL", map[string]string{"backendUrl": "ftp://state"}, []string{"slipway:backendUrl", `"ftp://state"`}},
		{"backend the CI roles cannot reach", map[string]string{"backendUrl": "https://api.pulumi.com"}, []string{"slipway:backendUrl", "S3 only"}},
		{"backend without TLS", map[string]string{"backendUrl": "s3://acme-slipway-state?region=us-east-1&disableSSL=true"}, []string{"slipway:backendUrl", "in the clear"}},
		{"backend bucket differs from stateBucket", map[string]string{"backendUrl": "s3://other-bucket/state"}, []string{"slipway:stateBucket/backendUrl", "same bucket"}},
		{"certificate of another region", map[string]string{"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc"}, []string{"slipway:certificateArn", "region us-east-1"}},
		{"certificate not from ACM", map[string]string{"certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}, []string{"slipway:certificateArn", "ACM certificate ARN"}},
		{"tool ref is a tag", map[string]string{"slipwayRef": "v1.2.3"}, []string{"slipway:slipwayRef", `"v1.2.3"`, "40-hex"}},
		{"missing region", map[string]string{"aws:region": ""}, []string{"config aws:region", "required", "pulumi config set aws:region"}},
		{"bad region", map[string]string{"aws:region": "mars"}, []string{"aws:region", `"mars"`}},
		{"misspelt key", map[string]string{"desiredcount": "5"}, []string{"config slipway:desiredcount", "unknown key", "did you mean slipway:desiredCount?"}},
		{"key this version does not have", map[string]string{"replicas": "5"}, []string{"config slipway:replicas", "unknown key", "README's config reference", "Pulumi.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseWith(t, tt.overrides)
			if err == nil {
				t.Fatalf("Parse accepted %v, want an error", tt.overrides)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("every problem is reported at once", func(t *testing.T) {
		err := parseWith(t, map[string]string{"imageTag": "x", "desiredCount": "0"})
		for _, w := range []string{"slipway:imageTag", "slipway:desiredCount"} {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("error %v does not report %s", err, w)
			}
		}
	})
}

func TestValidFargate(t *testing.T) {
	tests := []struct {
		cpu, memory int
		want        bool
	}{
		{256, 512, true}, {256, 1024, true}, {256, 2048, true}, {256, 1536, false}, {256, 3072, false},
		{512, 1024, true}, {512, 4096, true}, {512, 512, false}, {512, 5120, false},
		{1024, 2048, true}, {1024, 8192, true}, {1024, 1024, false}, {1024, 2560, false},
		{2048, 16384, true}, {4096, 30720, true}, {4096, 31744, false},
		{8192, 16384, true}, {8192, 20480, true}, {8192, 18432, false},
		{16384, 32768, true}, {16384, 122880, true}, {16384, 36864, false},
		{128, 512, false},
	}
	for _, tt := range tests {
		if got := contract.ValidFargate(tt.cpu, tt.memory); got != tt.want {
			t.Errorf("ValidFargate(%d, %d) = %v, want %v", tt.cpu, tt.memory, got, tt.want)
		}
	}
}

// Pulumi.yaml declares every key of contract.Keys with the same type,
// description and default, and nothing else.
func TestPulumiYAMLDeclaresEveryKey(t *testing.T) {
	p, err := project.Load(root(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != contract.Project {
		t.Errorf("project name %q, want %q (config keys are %s:*)", p.Name, contract.Project, contract.Project)
	}
	seen := map[string]bool{}
	for _, k := range contract.Keys {
		seen[k.Name] = true
		d, ok := p.Declared[k.Name]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare %s", k.Name)
			continue
		}
		wantType := k.Type
		if k.Type == "object" || k.Type == "list" {
			wantType = "" // Pulumi.yaml has no object type: an untyped key takes a map, or a list of maps
		}
		if d.Type != wantType || d.Description != k.Description {
			t.Errorf("Pulumi.yaml %s: type %q description %q, want %q %q", k.Name, d.Type, d.Description, k.Type, k.Description)
		}
		if d.HasDefault == k.Required {
			t.Errorf("Pulumi.yaml %s: has default %v, want %v (required keys have none)", k.Name, d.HasDefault, !k.Required)
		}
		if d.HasDefault {
			got, err := p.StackConfig("prod")
			if err != nil {
				t.Fatal(err)
			}
			if _, overridden := readStackFile(t)["slipway:"+k.Name]; !overridden && got["slipway:"+k.Name] != k.Default {
				t.Errorf("Pulumi.yaml %s default = %q, want %q", k.Name, got["slipway:"+k.Name], k.Default)
			}
		}
	}
	for name := range p.Declared {
		if !seen[name] {
			t.Errorf("Pulumi.yaml declares %s, which contract.Keys does not know", name)
		}
	}
}

func readStackFile(t *testing.T) map[string]interface{} {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root(t), "Pulumi.prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Config map[string]interface{} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Config
}

func TestProdStackCommitsNoImageTag(t *testing.T) {
	cfg := readStackFile(t)
	if v, ok := cfg["slipway:imageTag"]; ok {
		t.Errorf("Pulumi.prod.yaml sets slipway:imageTag = %v; the deploy tool sets it per run and it must not be committed", v)
	}
	for _, k := range []string{"slipway:githubOwner", "slipway:githubRepo", "aws:region"} {
		if _, ok := cfg[k]; !ok {
			t.Errorf("Pulumi.prod.yaml does not set %s", k)
		}
	}
}
