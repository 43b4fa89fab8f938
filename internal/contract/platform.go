package contract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// SecretRef is one entry of slipway:secrets: an environment variable the
// task gets from SSM Parameter Store or Secrets Manager. A checker that
// each secret exists before an up reads these.
type SecretRef struct {
	Name      string // the environment variable
	ValueFrom string // what ECS resolves, as configured
	// ARN is the parameter or secret itself, without a JSON key or version
	// (the IAM resource the execution role reads). A Secrets Manager ARN
	// given without its six-character suffix ends in "-??????".
	ARN          string
	Kind         string // SecretSSM or SecretsManager
	JSONKey      string // Secrets Manager only: one key of a JSON secret
	VersionStage string // Secrets Manager only
	VersionID    string // Secrets Manager only
}

// Secret stores.
const (
	SecretSSM      = "ssm"
	SecretsManager = "secretsmanager"
)

// EnvVar is one plain environment variable of slipway:environment.
type EnvVar struct {
	Name  string
	Value string
}

// Autoscaling is slipway:autoscaling: target tracking on CPU and on the
// load balancer's requests per target between Min and Max tasks.
type Autoscaling struct {
	Enabled           bool
	Min               int
	Max               int
	CPUTarget         int // percent
	RequestsPerTarget int // requests per target per minute
}

// Alarms is slipway:alarms: the CloudWatch alarms that fail (and roll
// back) a deployment.
type Alarms struct {
	Enabled           bool
	PeriodSeconds     int
	EvaluationPeriods int
	DatapointsToAlarm int
	ErrorRatePercent  int // target 5xx per request
	P99Milliseconds   int // target response time, 99th percentile
	UnhealthyHosts    int // alarm at this many unhealthy targets
}

// Defaults of the object keys' fields.
const (
	DefaultCPUTarget          = 60
	DefaultRequestsPerTarget  = 1000
	DefaultAlarmPeriod        = 60
	DefaultEvaluationPeriods  = 3
	DefaultDatapointsToAlarm  = 2
	DefaultErrorRatePercent   = 5
	DefaultP99Milliseconds    = 2000
	DefaultUnhealthyHosts     = 1
	FargateMaxStopTimeout     = 120
	reservedEnvironmentReason = "set by the program"
)

// ReservedEnvironment are the variables the program sets itself.
var ReservedEnvironment = []string{"APP_VERSION", "AWS_REGION", "PORT", "QUEUE_NAME", "QUEUE_URL", "TABLE_NAME"}

var (
	envNamePattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	ssmArnPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9_.\-/]+$`)
	smArnPattern    = regexp.MustCompile(`^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)([A-Za-z0-9/_+=.@-]+)((?::[^:]*){0,3})$`)
	smSuffix        = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)
	kmsKeyPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$`)
	userPattern     = regexp.MustCompile(`^([0-9]+|[a-z_][a-z0-9_-]{0,31})(:([0-9]+|[a-z_][a-z0-9_-]{0,31}))?$`)
	clusterPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	listenerPattern = regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):[0-9]{12}:listener/(app/[A-Za-z0-9-]+/[0-9a-f]+)/[0-9a-f]+$`)
	sgPattern       = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	hostPattern     = regexp.MustCompile(`^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	pathPattern     = regexp.MustCompile(`^/[A-Za-z0-9_\-.$/~"'@:+*?&=]{0,127}$`)
)

// object reads a structured object value (the engine passes it as a JSON
// object); an empty value is an empty object.
func (p *parser) object(key string) map[string]json.RawMessage {
	v := p.raw(key)
	if v == "" || v == "{}" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &m); err != nil {
		p.fail(key, v, "an object (in Pulumi.<stack>.yaml a YAML map; or pulumi config set --path '"+fullKey(key)+".FIELD' VALUE)")
		return nil
	}
	return m
}

// fields reads an object's fields: each known one through its setter,
// each unknown one as an error naming the fields there are.
func (p *parser) fields(key string, m map[string]json.RawMessage, known map[string]func(json.RawMessage)) {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	var want []string
	for name := range known {
		want = append(want, name)
	}
	sort.Strings(want)
	for _, name := range names {
		set, ok := known[name]
		if !ok {
			p.fail(key+"."+name, string(m[name]), "one of the fields "+strings.Join(want, ", "))
			continue
		}
		set(m[name])
	}
}

// whole reads a whole-number field from lo to hi into dst.
func (p *parser) whole(key string, raw json.RawMessage, lo, hi int, dst *int) {
	n, err := strconv.Atoi(strings.Trim(string(raw), `"`))
	if err != nil || n < lo || n > hi {
		p.fail(key, strings.Trim(string(raw), `"`), fmt.Sprintf("a whole number from %d to %d", lo, hi))
		return
	}
	*dst = n
}

// stringMap reads an object of strings.
func (p *parser) stringMap(key string) map[string]string {
	m := p.object(key)
	out := make(map[string]string, len(m))
	for name, raw := range m {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			p.fail(key+"."+name, string(raw), "a string")
			continue
		}
		out[name] = strings.TrimSpace(s)
	}
	return out
}

func sortedNames(m map[string]string) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseSecretRef parses one secret reference as ECS takes it in valueFrom:
// an SSM parameter ARN, or a Secrets Manager secret ARN optionally followed
// by :json-key:version-stage:version-id (any of them empty).
func ParseSecretRef(name, valueFrom string) (SecretRef, bool) {
	ref := SecretRef{Name: name, ValueFrom: valueFrom}
	if ssmArnPattern.MatchString(valueFrom) {
		ref.Kind, ref.ARN = SecretSSM, valueFrom
		return ref, true
	}
	m := smArnPattern.FindStringSubmatch(valueFrom)
	if m == nil {
		return SecretRef{}, false
	}
	ref.Kind, ref.ARN = SecretsManager, m[1]+m[2]
	if !smSuffix.MatchString(m[2]) {
		ref.ARN += "-??????"
	}
	parts := strings.Split(strings.TrimPrefix(m[3], ":"), ":")
	for i, dst := range []*string{&ref.JSONKey, &ref.VersionStage, &ref.VersionID} {
		if m[3] != "" && i < len(parts) {
			*dst = parts[i]
		}
	}
	if ref.VersionStage != "" && ref.VersionID != "" {
		return SecretRef{}, false
	}
	return ref, true
}

const secretWant = "an SSM parameter ARN (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME) or a Secrets Manager secret ARN " +
	"(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-SUFFIX), optionally followed by :JSON_KEY:VERSION_STAGE:VERSION_ID " +
	"with at most one of the stage and the ID"

// parsePlatform reads the keys of the production platform: private
// networking, the edge, secrets, autoscaling, alarms, the hardened
// container and a shared cluster or listener. It runs after the base keys.
func (p *parser) parsePlatform(c *Config) {
	c.NATGateways = p.integer(KeyNATGateways, 0, 3)
	c.AlbSubnetIDs = p.list(KeyAlbSubnetIDs, subnetPattern, "a subnet ID such as subnet-0123456789abcdef0")
	c.TaskSubnetIDs = p.list(KeyTaskSubnetIDs, subnetPattern, "a subnet ID such as subnet-0123456789abcdef0")
	c.AccessLogsBucket = p.str(KeyAccessLogsBucket, bucketPattern, false, "an S3 bucket name (no s3:// prefix) whose policy lets the load balancer write")
	c.SecretsKMSKeyArns = p.list(KeySecretsKMSKeyArns, kmsKeyPattern, "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID)")
	c.ReadonlyRootFilesystem = p.boolean(KeyReadonlyRootFilesystem)
	c.ContainerUser = p.str(KeyContainerUser, userPattern, true, "a user the container runs as: UID, UID:GID, or a user name (with :GROUP), never root")
	c.StopTimeout = p.integer(KeyStopTimeout, 2, FargateMaxStopTimeout)
	c.HealthCheckCommand = p.list(KeyHealthCheckCommand, regexp.MustCompile(`.`), "a non-empty string")
	c.EnableExec = p.boolean(KeyEnableExec)
	c.ExistingClusterName = p.str(KeyExistingClusterName, clusterPattern, false, "an ECS cluster name (letters, digits, hyphens, underscores)")
	c.ListenerArn = p.str(KeyListenerArn, listenerPattern, false, "an application load balancer listener ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener/app/NAME/ID/ID)")
	c.HostHeader = p.str(KeyHostHeader, hostPattern, false, "a lowercase host name such as api.example.com (or *.example.com)")
	c.PathPattern = p.str(KeyPathPattern, pathPattern, false, "a path pattern such as /api/* (starting with /, at most 128 characters)")
	c.ListenerRulePriority = p.integer(KeyListenerRulePriority, 0, 50000)
	c.LoadBalancerSecurityGroupID = p.str(KeyLoadBalancerSecurityGroupID, sgPattern, false, "a security group ID such as sg-0123456789abcdef0")

	p.parseSecrets(c)
	p.parseAutoscaling(c)
	p.parseAlarms(c)
	p.checkNetwork(c)
	p.checkContainer(c)
	p.checkShared(c)
}

func (p *parser) parseSecrets(c *Config) {
	reserved := map[string]string{}
	for _, n := range ReservedEnvironment {
		reserved[n] = reservedEnvironmentReason
	}
	env := p.stringMap(KeyEnvironment)
	for _, name := range sortedNames(env) {
		switch {
		case !envNamePattern.MatchString(name):
			p.fail(KeyEnvironment+"."+name, env[name], "a variable name of letters, digits and underscores, not starting with a digit")
		case reserved[name] != "":
			p.fail(KeyEnvironment+"."+name, env[name], "a variable the program does not set itself ("+strings.Join(ReservedEnvironment, ", ")+")")
		default:
			c.Environment = append(c.Environment, EnvVar{Name: name, Value: env[name]})
			reserved[name] = KeyEnvironment
		}
	}
	secrets := p.stringMap(KeySecrets)
	for _, name := range sortedNames(secrets) {
		ref, ok := ParseSecretRef(name, secrets[name])
		switch {
		case !envNamePattern.MatchString(name):
			p.fail(KeySecrets+"."+name, secrets[name], "a variable name of letters, digits and underscores, not starting with a digit")
		case reserved[name] != "":
			p.fail(KeySecrets+"."+name, secrets[name], "a variable set nowhere else ("+name+" is "+reserved[name]+")")
		case !ok:
			p.fail(KeySecrets+"."+name, secrets[name], secretWant)
		default:
			c.Secrets = append(c.Secrets, ref)
		}
	}
	if len(c.SecretsKMSKeyArns) > 0 && len(c.Secrets) == 0 {
		p.fail(KeySecretsKMSKeyArns, p.raw(KeySecretsKMSKeyArns), "no keys while slipway:secrets is empty (the keys only decrypt secrets)")
	}
}

func (p *parser) parseAutoscaling(c *Config) {
	m := p.object(KeyAutoscaling)
	if m == nil {
		return
	}
	a := Autoscaling{Enabled: true, CPUTarget: DefaultCPUTarget, RequestsPerTarget: DefaultRequestsPerTarget}
	key := KeyAutoscaling
	p.fields(key, m, map[string]func(json.RawMessage){
		"min":               func(r json.RawMessage) { p.whole(key+".min", r, 1, 100, &a.Min) },
		"max":               func(r json.RawMessage) { p.whole(key+".max", r, 1, 100, &a.Max) },
		"cpuTarget":         func(r json.RawMessage) { p.whole(key+".cpuTarget", r, 10, 90, &a.CPUTarget) },
		"requestsPerTarget": func(r json.RawMessage) { p.whole(key+".requestsPerTarget", r, 1, 100000, &a.RequestsPerTarget) },
	})
	for field, v := range map[string]int{"min": a.Min, "max": a.Max} {
		if _, set := m[field]; !set && v == 0 {
			p.fail(key+"."+field, "", "a whole number from 1 to 100 (required when slipway:autoscaling is set)")
		}
	}
	if a.Min > 0 && a.Max > 0 && a.Min > a.Max {
		p.fail(key, fmt.Sprintf("min %d, max %d", a.Min, a.Max), "min no larger than max")
	}
	if a.Min > 0 && a.Max >= a.Min && (c.DesiredCount < a.Min || c.DesiredCount > a.Max) {
		p.fail(KeyDesiredCount, strconv.Itoa(c.DesiredCount), fmt.Sprintf("a count from autoscaling's min %d to its max %d (the service starts with it)", a.Min, a.Max))
	}
	c.Autoscaling = a
}

func (p *parser) parseAlarms(c *Config) {
	a := Alarms{Enabled: true, PeriodSeconds: DefaultAlarmPeriod, EvaluationPeriods: DefaultEvaluationPeriods,
		DatapointsToAlarm: DefaultDatapointsToAlarm, ErrorRatePercent: DefaultErrorRatePercent,
		P99Milliseconds: DefaultP99Milliseconds, UnhealthyHosts: DefaultUnhealthyHosts}
	key := KeyAlarms
	p.fields(key, p.object(key), map[string]func(json.RawMessage){
		"enabled": func(r json.RawMessage) {
			b, err := strconv.ParseBool(strings.Trim(string(r), `"`))
			if err != nil {
				p.fail(key+".enabled", string(r), "true or false")
			}
			a.Enabled = b
		},
		"periodSeconds":     func(r json.RawMessage) { p.whole(key+".periodSeconds", r, 60, 3600, &a.PeriodSeconds) },
		"evaluationPeriods": func(r json.RawMessage) { p.whole(key+".evaluationPeriods", r, 1, 10, &a.EvaluationPeriods) },
		"datapointsToAlarm": func(r json.RawMessage) { p.whole(key+".datapointsToAlarm", r, 1, 10, &a.DatapointsToAlarm) },
		"errorRatePercent":  func(r json.RawMessage) { p.whole(key+".errorRatePercent", r, 1, 100, &a.ErrorRatePercent) },
		"p99Milliseconds":   func(r json.RawMessage) { p.whole(key+".p99Milliseconds", r, 10, 60000, &a.P99Milliseconds) },
		"unhealthyHosts":    func(r json.RawMessage) { p.whole(key+".unhealthyHosts", r, 1, 100, &a.UnhealthyHosts) },
	})
	if a.PeriodSeconds%60 != 0 {
		p.fail(key+".periodSeconds", strconv.Itoa(a.PeriodSeconds), "a multiple of 60 (load balancer metrics have one-minute resolution)")
	}
	if a.DatapointsToAlarm > a.EvaluationPeriods {
		p.fail(key+".datapointsToAlarm", strconv.Itoa(a.DatapointsToAlarm), fmt.Sprintf("at most evaluationPeriods (%d)", a.EvaluationPeriods))
	}
	c.Alarms = a
}

func (p *parser) checkNetwork(c *Config) {
	if c.VpcID == "" {
		if len(c.AlbSubnetIDs) > 0 || len(c.TaskSubnetIDs) > 0 {
			p.fail(KeyVpcID, "", "the VPC of albSubnetIds and taskSubnetIds (set it with them, or none of them to create a new VPC)")
		}
		if n := len(c.AvailabilityZones); n >= 2 && c.NATGateways != 0 && c.NATGateways != 1 && c.NATGateways != n {
			p.fail(KeyNATGateways, strconv.Itoa(c.NATGateways), fmt.Sprintf("0 (VPC endpoints, no NAT), 1 (one shared NAT gateway) or %d (one per zone)", n))
		}
		return
	}
	// The zones and NAT gateways are those of a VPC the stack creates: with
	// vpcId they would be ignored, so a value other than the default (which
	// the engine passes like a set value) is a mistake.
	for _, k := range Keys {
		if (k.Name == KeyAvailabilityZones || k.Name == KeyNATGateways) && p.raw(k.Name) != k.Default {
			p.fail(k.Name, p.raw(k.Name), "its default when vpcId is set: it shapes a VPC the stack creates, and the existing VPC's zones and routing are its own (remove the key)")
		}
	}
	if len(c.TaskSubnetIDs) < 2 {
		p.fail(KeyTaskSubnetIDs, p.raw(KeyTaskSubnetIDs), "at least two private subnets in different zones when vpcId is set (tasks get no public IP)")
	}
	if c.ListenerArn == "" && len(c.AlbSubnetIDs) < 2 {
		p.fail(KeyAlbSubnetIDs, p.raw(KeyAlbSubnetIDs), "at least two public subnets in different zones for the load balancer when vpcId is set")
	}
	for _, s := range c.TaskSubnetIDs {
		for _, a := range c.AlbSubnetIDs {
			if s == a {
				p.fail(KeyTaskSubnetIDs, s, "a private subnet of its own, not one of albSubnetIds (the load balancer's subnets route to the internet)")
			}
		}
	}
}

func (p *parser) checkContainer(c *Config) {
	if user, _, _ := strings.Cut(c.ContainerUser, ":"); user == "0" || user == "root" {
		p.fail(KeyContainerUser, c.ContainerUser, "a user other than root (UID 0)")
	}
	if c.StopTimeout <= c.DeregistrationDelay {
		p.fail(KeyStopTimeout+"/"+KeyDeregistrationDelay, fmt.Sprintf("%d/%d", c.StopTimeout, c.DeregistrationDelay),
			fmt.Sprintf("a stopTimeout longer than the deregistration delay: a task stopped while it still drains must finish its in-flight requests before SIGKILL (Fargate allows at most %d s)", FargateMaxStopTimeout))
	}
	if cmd := c.HealthCheckCommand; len(cmd) > 0 && (len(cmd) < 2 || (cmd[0] != "CMD" && cmd[0] != "CMD-SHELL")) {
		p.fail(KeyHealthCheckCommand, p.raw(KeyHealthCheckCommand), `a command as ECS takes it: ["CMD", "/bin/check", "arg"] or ["CMD-SHELL", "curl -f http://localhost:8080/health"]`)
	}
	if c.EnableExec && c.ReadonlyRootFilesystem {
		p.fail(KeyEnableExec+"/"+KeyReadonlyRootFilesystem, "true/true", "readonlyRootFilesystem false with enableExec: the SSM agent ECS Exec runs writes to the container's filesystem, which a read-only root filesystem forbids")
	}
}

func (p *parser) checkShared(c *Config) {
	if c.ExistingClusterName != "" {
		c.ClusterName = c.ExistingClusterName
	}
	if c.ListenerArn == "" {
		for key, v := range map[string]string{KeyHostHeader: c.HostHeader, KeyPathPattern: c.PathPattern, KeyLoadBalancerSecurityGroupID: c.LoadBalancerSecurityGroupID} {
			if v != "" {
				p.fail(key, v, "empty unless listenerArn is set (it configures a rule on a shared listener)")
			}
		}
		if c.ListenerRulePriority != 0 {
			p.fail(KeyListenerRulePriority, strconv.Itoa(c.ListenerRulePriority), "0 unless listenerArn is set")
		}
		return
	}
	m := listenerPattern.FindStringSubmatch(c.ListenerArn)
	if m != nil && c.Region != "" && m[1] != c.Region {
		p.fail(KeyListenerArn, c.ListenerArn, "a listener of the stack's region "+c.Region)
	}
	if m != nil {
		c.LoadBalancerArnSuffix = m[2]
	}
	if c.VpcID == "" {
		p.fail(KeyVpcID, "", "the VPC of the shared load balancer (required with listenerArn)")
	}
	if c.HostHeader == "" && c.PathPattern == "" {
		p.fail(KeyHostHeader+"/"+KeyPathPattern, "", "at least one of them set: the listener rule routes this service's requests by host and/or path")
	}
	if c.ListenerRulePriority == 0 {
		p.fail(KeyListenerRulePriority, "0", "a priority from 1 to 50000, unique on the listener (required with listenerArn)")
	}
	if c.LoadBalancerSecurityGroupID == "" {
		p.fail(KeyLoadBalancerSecurityGroupID, "", "the shared load balancer's security group (required with listenerArn): tasks accept traffic from it only")
	}
	for key, v := range map[string]string{KeyCertificateArn: c.CertificateArn, KeyAccessLogsBucket: c.AccessLogsBucket, KeyAlbSubnetIDs: strings.Join(c.AlbSubnetIDs, ",")} {
		if v != "" {
			p.fail(key, v, "empty with listenerArn: the shared load balancer is not this stack's to configure")
		}
	}
}

// retiredKeys are keys earlier versions read, with what replaced them.
var retiredKeys = map[string]string{
	"subnetIds":      "no value: replaced by albSubnetIds (the load balancer's public subnets) and taskSubnetIds (the tasks' private subnets)",
	"assignPublicIp": "no value: tasks run in private subnets without a public IP (a NAT gateway or VPC endpoints reach AWS)",
}

func (p *parser) checkRetired() {
	names := make([]string, 0, len(retiredKeys))
	for n := range retiredKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if v, ok := p.get(n); ok {
			p.fail(n, v, retiredKeys[n])
		}
	}
}
