package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Project is the Pulumi project name; every key below lives in its namespace.
const Project = "slipway"

// Config keys. Each one is declared, with the same description and default,
// in Pulumi.yaml (tests/config_test.go keeps the two in step).
const (
	KeyImageTag            = "imageTag"
	KeyGitHubOwner         = "githubOwner"
	KeyGitHubRepo          = "githubRepo"
	KeyGitHubOwnerID       = "githubOwnerId"
	KeyGitHubRepoID        = "githubRepoId"
	KeyServiceName         = "serviceName"
	KeyClusterName         = "clusterName"
	KeyContainerPort       = "containerPort"
	KeyHealthCheckPath     = "healthCheckPath"
	KeyDesiredCount        = "desiredCount"
	KeyCPU                 = "cpu"
	KeyMemory              = "memory"
	KeyRollbackWindow      = "rollbackWindow"
	KeyDeregistrationDelay = "deregistrationDelay"
	KeyLogRetentionDays    = "logRetentionDays"
	KeyVpcID               = "vpcId"
	KeyAvailabilityZones   = "availabilityZones"
	KeyOIDCProviderArn     = "oidcProviderArn"
	KeyOIDCSubjectTemplate = "oidcSubjectTemplate"
	KeyRustToolchain       = "rustToolchain"
	KeyCommitTime          = "commitTime"
	KeyCertificateArn      = "certificateArn"
	KeyStateBucket         = "stateBucket"
	KeyBackendURL          = "backendUrl"
	KeyToolRepository      = "slipwayRepository"
	KeyToolRef             = "slipwayRef"
	// ToolRefEnv is where CD's jobs put the commit of slipwayRepository
	// they checked out, which the tool renders as slipwayRef.
	ToolRefEnv  = "SLIPWAY_TOOL_REF"
	KeyToolPath = "slipwayPath"

	KeyNATGateways                 = "natGateways"
	KeyAlbSubnetIDs                = "albSubnetIds"
	KeyTaskSubnetIDs               = "taskSubnetIds"
	KeyAccessLogsBucket            = "accessLogsBucket"
	KeySecrets                     = "secrets"
	KeySecretsKMSKeyArns           = "secretsKmsKeyArns"
	KeyEnvironment                 = "environment"
	KeyAutoscaling                 = "autoscaling"
	KeyAlarms                      = "alarms"
	KeyReadonlyRootFilesystem      = "readonlyRootFilesystem"
	KeyContainerUser               = "containerUser"
	KeyStopTimeout                 = "stopTimeout"
	KeyHealthCheckCommand          = "healthCheckCommand"
	KeyEnableExec                  = "enableExec"
	KeyExistingClusterName         = "existingClusterName"
	KeyListenerArn                 = "listenerArn"
	KeyHostHeader                  = "hostHeader"
	KeyPathPattern                 = "pathPattern"
	KeyListenerRulePriority        = "listenerRulePriority"
	KeyLoadBalancerSecurityGroupID = "loadBalancerSecurityGroupId"
)

// Key describes one slipway:* config key: its type, default ("" = none) and
// what it is for. Keys is the single list the loader, Pulumi.yaml and the
// README's config reference follow.
type Key struct {
	Name string
	// "string", "integer", "boolean", "array" (of strings), "object" or
	// "list" (of objects). Pulumi.yaml has no object type: it declares an
	// object or list key without a type, which lets the stack set a map or
	// a list of maps.
	Type        string
	Required    bool   // no default: the stack (or the deploy tool) must set it
	Default     string // as the engine passes it: "" for an empty string, "[]" for an empty list
	Description string
}

// Keys lists every slipway:* config key.
var Keys = []Key{
	{KeyImageTag, "string", true, "", "Git commit SHA (40 lowercase hex) of the image to run; set per deploy by the deploy tool, never committed."},
	{KeyGitHubOwner, "string", true, "", "Owner (user or organisation) of the application repository whose Actions may assume the CI roles."},
	{KeyGitHubRepo, "string", true, "", "Name of the application repository whose Actions may assume the CI roles."},
	{KeyGitHubOwnerID, "string", false, "", "Numeric owner ID; set with githubRepoId when the repository emits immutable OIDC subjects (repo:OWNER@ID/REPO@ID:...)."},
	{KeyGitHubRepoID, "string", false, "", "Numeric repository ID; set with githubOwnerId for immutable OIDC subjects."},
	{KeyServiceName, "string", false, "api-service", "ECS service name (the same in every environment: each has its own cluster); also names the ECR repository of the stack that owns it and, with the stack name, the task family, log group, table, queues and roles (see names)."},
	{KeyClusterName, "string", false, "", "ECS cluster name; empty means <stack>-cluster (prod-cluster, staging-cluster)."},
	{KeyGitHubEnvironment, "string", false, "", "GitHub environment of this stack's deploy jobs, whose subject alone the deploy role trusts and which holds the stack's Actions variables; empty means the stack name (Pulumi.prod.yaml sets production)."},
	{KeyRegistry, "string", false, "own", "Which stack owns the one ECR repository: own (this stack creates it, the build cache, the image role and the application repository's workflow files), or the owning stack's repository: its name (same account and region) or its ARN (another account). Images are built once and promoted by SHA."},
	{KeyRegistryPullAccounts, "array", false, "[]", "With registry own: the AWS accounts of the other environments' stacks, whose roles may pull the images and tag them verified (the repository policy)."},
	{KeyEnvironments, "list", false, "[]", "With registry own: the stacks CD deploys, in order, each {stack, githubEnvironment} (such as staging, then prod: production); each next one gets the SHA the one before verified. Empty means this stack alone."},
	{KeyPromoteFrom, "string", false, "", "The stack whose verified deploys this one receives (prod: staging): its deploy role may read that stack's state, which deploy promote checks."},
	{KeyNames, "object", false, "{}", "Physical names, each defaulting to one derived from serviceName and the stack: taskFamily and table (<service>-<stack>), logGroup (/ecs/<service>-<stack>), queue (<service>-<stack>), deadLetterQueue (<service>-<stack>-dlq), rolePrefix (<service>-<stack>; roles add -deploy, -image, -preview, -execution, -task)."},
	{KeyContainerPort, "integer", false, "8080", "Port the container listens on."},
	{KeyHealthCheckPath, "string", false, "/health", "HTTP path the load balancer probes; must answer 200."},
	{KeyDesiredCount, "integer", false, "2", "Number of tasks to run (1 to 100)."},
	{KeyCPU, "integer", false, "256", "Fargate task CPU units; must form a valid Fargate pair with memory."},
	{KeyMemory, "integer", false, "512", "Fargate task memory in MiB; must form a valid Fargate pair with cpu."},
	{KeyRollbackWindow, "integer", false, "50", "Number of deployed images ECR keeps for each environment (at least 20; the tool tags each image ECS verifiably ran in a stack verified-<stack>-<sha> and deployed-<sha>): the versions each environment can roll back to, production's kept first. ECR also keeps this many of the newest pushed images."},
	{KeyDeregistrationDelay, "integer", false, "30", "Seconds the load balancer drains a stopping task (0 to 3600; AWS default 300)."},
	{KeyLogRetentionDays, "integer", false, "30", "CloudWatch Logs retention in days."},
	{KeyVpcID, "string", false, "", "Existing VPC to use (with albSubnetIds and taskSubnetIds); empty creates a new VPC with public subnets (load balancer, NAT) and private subnets (tasks) in each zone."},
	{KeyAvailabilityZones, "array", false, "[]", "Two or three zones for a new VPC; empty means <region>a and <region>b."},
	{KeyOIDCProviderArn, "string", false, "", "ARN of the account's existing GitHub OIDC provider (one per account); empty creates it."},
	{KeyCommitTime, "string", false, "", "When the deployed commit was made (RFC 3339); set per deploy by the deploy tool (up --commit-time, CD passes the pushed commit's time), never committed: history then holds each deploy's lead time for changes."},
	{KeyRustToolchain, "string", false, "1.95.0", "The Rust release (x.y.z) the CI and CD workflows build and test the application with; a release, not a channel, so that a new Rust release changes nothing until this is raised."},
	{KeyOIDCSubjectTemplate, "boolean", false, "true", "Manage the application repository's OIDC subject template (claims repo, context, ref) so that every subject names its ref and the CI roles trust main and pull request merge refs only; false keeps GitHub's default subjects (for a repository whose template is managed elsewhere)."},
	{KeyCertificateArn, "string", false, "", "ACM certificate ARN; when set, adds an HTTPS listener and redirects HTTP to it."},
	{KeyStateBucket, "string", false, "", "S3 bucket holding the Pulumi state (s3:// backend); grants the deploy role read/write and the preview role read on it."},
	{KeyBackendURL, "string", false, "", "S3 backend URL of the state (s3://bucket/prefix?region=...), used by the workflows; empty means s3://<stateBucket>."},
	{KeyToolRepository, "string", false, "slipway-dev/slipway", "Repository (owner/name) of this project, checked out by the workflows to run the deploy tool; empty when the project lives in the application repository at slipwayPath."},
	{KeyToolRef, "string", false, "", "Commit of slipwayRepository the workflows check out: a full 40-hex SHA (git rev-parse HEAD), never a tag or branch. Required when slipwayRepository is set. A stack file cannot name its own commit: set it to the commit before, in a commit that changes nothing else (CD's jobs render with the commit they checked out, $SLIPWAY_TOOL_REF)."},
	{KeyToolPath, "string", false, ".slipway", "Folder of the project in the workflows' checkout: where slipwayRepository is checked out, or its folder in the application repository."},
	{KeyNATGateways, "integer", false, "1", "NAT gateways of a new VPC: 1 (shared, cheapest), one per zone (survives a zone outage), or 0 (no NAT: VPC endpoints for ECR, S3, CloudWatch Logs, SQS, DynamoDB and the secret stores)."},
	{KeyAlbSubnetIDs, "array", false, "[]", "Public subnets (at least two, in different zones) of an existing VPC for the load balancer; required with vpcId unless listenerArn is set."},
	{KeyTaskSubnetIDs, "array", false, "[]", "Private subnets (at least two, in different zones, none of albSubnetIds) of an existing VPC for the tasks, which get no public IP; required with vpcId."},
	{KeyAccessLogsBucket, "string", false, "", "S3 bucket for the load balancer's access logs (its policy must let Elastic Load Balancing write); empty turns access logs off."},
	{KeySecrets, "object", false, "{}", "Environment variable name to secret: an SSM parameter ARN or a Secrets Manager secret ARN, optionally with :JSON_KEY:VERSION_STAGE:VERSION_ID; the execution role may read exactly these."},
	{KeySecretsKMSKeyArns, "array", false, "[]", "Customer managed KMS keys that encrypt slipway:secrets; the execution role may decrypt with these only (none for AWS managed keys)."},
	{KeyEnvironment, "object", false, "{}", "Plain environment variables of the container (name to value); never secrets."},
	{KeyAutoscaling, "object", false, "{}", "Target tracking autoscaling: min, max (required), cpuTarget (percent, default 60), requestsPerTarget (per target per minute, default 1000); empty keeps desiredCount fixed. When set, a deploy never resets the scaled task count."},
	{KeyAlarms, "object", false, "{}", "Deployment alarms that roll a deploy back, on unless enabled is false: errorRatePercent (target 5xx, default 5), p99Milliseconds (default 2000), unhealthyHosts (default 1), periodSeconds (60), evaluationPeriods (3), datapointsToAlarm (2)."},
	{KeyReadonlyRootFilesystem, "boolean", false, "true", "Read-only root filesystem for the container, with a writable scratch volume at /tmp."},
	{KeyContainerUser, "string", false, "1000:1000", "User the container runs as (UID, UID:GID or a name); never root."},
	{KeyStopTimeout, "integer", false, "60", "Seconds between SIGTERM and SIGKILL when a task stops (2 to 120); must exceed deregistrationDelay."},
	{KeyHealthCheckCommand, "array", false, "[]", "Container health check command as ECS takes it ([\"CMD\", ...] or [\"CMD-SHELL\", \"...\"]); empty relies on the load balancer's health check."},
	{KeyEnableExec, "boolean", false, "false", "Turn on ECS Exec (needs readonlyRootFilesystem false): adds the SSM messages permissions to the task role and logs sessions to the service's log group."},
	{KeyExistingClusterName, "string", false, "", "Run in this existing ECS cluster instead of creating clusterName; the stack never modifies it."},
	{KeyListenerArn, "string", false, "", "Existing load balancer listener to join with a listener rule (with vpcId, taskSubnetIds, loadBalancerSecurityGroupId, listenerRulePriority and hostHeader and/or pathPattern) instead of creating a load balancer."},
	{KeyHostHeader, "string", false, "", "Host header (such as api.example.com) the shared listener's rule routes to this service; with listenerArn."},
	{KeyPathPattern, "string", false, "", "Path pattern (such as /api/*) the shared listener's rule routes to this service; with listenerArn."},
	{KeyListenerRulePriority, "integer", false, "0", "Priority (1 to 50000, unique on the listener) of this service's rule on the shared listener; with listenerArn."},
	{KeyLoadBalancerSecurityGroupID, "string", false, "", "Security group of the shared load balancer, the only source tasks accept traffic from; with listenerArn."},
}

// Config is the validated configuration of one stack.
type Config struct {
	Stack               string // the Pulumi stack: one per environment
	Region              string
	ImageTag            string
	GitHubOwner         string
	GitHubRepo          string
	GitHubOwnerID       string
	GitHubRepoID        string
	ServiceName         string
	ClusterName         string
	ContainerPort       int
	HealthCheckPath     string
	DesiredCount        int
	CPU                 int
	Memory              int
	RollbackWindow      int
	DeregistrationDelay int
	LogRetentionDays    int
	VpcID               string
	AvailabilityZones   []string
	OIDCProviderArn     string
	OIDCSubjectTemplate bool   // the stack sets the repository's OIDC subject template (repo, context, ref)
	RustToolchain       string // the application's Rust release
	CommitTime          string // the deployed commit's time (RFC 3339), "" when not given
	CertificateArn      string
	StateBucket         string // from stateBucket, or the bucket of an s3:// backendUrl
	StatePrefix         string // the path of an s3:// backendUrl ("" for the bucket's root)
	BackendURL          string
	ToolRepository      string
	ToolRef             string
	ToolPath            string

	NATGateways                 int
	AlbSubnetIDs                []string
	TaskSubnetIDs               []string
	AccessLogsBucket            string
	Secrets                     []SecretRef // sorted by name
	SecretsKMSKeyArns           []string
	Environment                 []EnvVar // sorted by name
	Autoscaling                 Autoscaling
	Alarms                      Alarms
	ReadonlyRootFilesystem      bool
	ContainerUser               string
	StopTimeout                 int
	HealthCheckCommand          []string
	EnableExec                  bool
	ExistingClusterName         string // set: ClusterName is this cluster, which the stack does not own
	ListenerArn                 string
	LoadBalancerArnSuffix       string // of the shared listener's load balancer (app/NAME/ID), for metrics
	HostHeader                  string
	PathPattern                 string
	ListenerRulePriority        int
	LoadBalancerSecurityGroupID string

	GitHubEnvironment    string        // the GitHub environment of the stack's deploy jobs
	Registry             Registry      // the one ECR repository, this stack's or another's
	RegistryPullAccounts []string      // with Registry.Own: accounts that may pull
	Environments         []Environment // with Registry.Own: the stacks CD deploys, in order; else none
	PromoteFrom          string        // the stack whose verified deploys this one receives
	Names                Names
}

// SharedCluster reports whether the service joins a cluster it does not own.
func (c Config) SharedCluster() bool { return c.ExistingClusterName != "" }

// SharedListener reports whether the service joins a load balancer listener
// it does not own (and so creates no load balancer).
func (c Config) SharedListener() bool { return c.ListenerArn != "" }

// Load reads and validates the stack's configuration.
func Load(ctx *pulumi.Context) (Config, error) {
	return Parse(ctx.Stack(), func(key string) (string, bool) {
		namespace, name, ok := strings.Cut(fullKey(key), ":")
		if !ok {
			return "", false
		}
		// Try, not Get: a key set to "" (slipwayRepository in the in-repo
		// layout) is set, as ParseMap reads it; only a missing key takes
		// the default.
		v, err := config.New(ctx, namespace).Try(name)
		return v, err == nil
	})
}

// ParseMap validates config given as the engine passes it to the program
// ("namespace:key" → value), e.g. read from the stack's files. Unlike Load
// it sees every key, so it also reports the unknown ones (UnknownKeys),
// first: a misspelt key explains the default or "required" problem that
// follows it.
func ParseMap(stack string, config map[string]string) (Config, error) {
	c, err := Parse(stack, func(key string) (string, bool) {
		v, ok := config[fullKey(key)]
		return v, ok
	})
	if unknown := UnknownKeys(config); unknown != nil {
		return Config{}, errors.Join(unknown, err)
	}
	return c, err
}

// Lookup returns a config value: keys of the slipway namespace are given
// without it ("imageTag"); other namespaces are given whole ("aws:region").
type Lookup func(key string) (value string, ok bool)

var (
	shaPattern         = regexp.MustCompile(`^[0-9a-f]{40}$`)
	rustReleasePattern = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	rfc3339Pattern     = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$`)
	namePattern        = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	ghNamePattern      = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	ghRepoPattern      = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	numericID          = regexp.MustCompile(`^[1-9][0-9]{0,19}$`)
	regionPattern      = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	vpcPattern         = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetPattern      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	zonePattern        = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9][a-z]$`)
	bucketPattern      = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	healthPathChars    = regexp.MustCompile(`^/[A-Za-z0-9/._~-]*$`)
	backendPattern     = regexp.MustCompile(`^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[A-Za-z0-9._/-]*)?(\?[^\s]*)?$`)
	repoPattern        = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	certificatePattern = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$`)
	oidcArnPattern     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
)

const shaWant = "the full git commit SHA: exactly 40 lowercase hex characters (git rev-parse HEAD)"

// ValidateSHA checks an image tag: the full 40-character lowercase git SHA.
func ValidateSHA(sha string) error {
	if !shaPattern.MatchString(sha) {
		return fmt.Errorf("got %q, want %s", sha, shaWant)
	}
	return nil
}

// logRetentionDays are the retention periods CloudWatch Logs accepts.
var logRetentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true,
	120: true, 150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true,
	2192: true, 2557: true, 2922: true, 3288: true, 3653: true}

// fargateMemory lists, for each Fargate CPU size, the allowed memory sizes
// (MiB) as a range with a step.
var fargateMemory = map[int][3]int{
	256:   {512, 2048, 0}, // 512, 1024, 2048
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

// ValidFargate reports whether cpu/memory is a task size Fargate accepts.
func ValidFargate(cpu, memory int) bool {
	r, ok := fargateMemory[cpu]
	if !ok {
		return false
	}
	if r[2] == 0 {
		return memory == 512 || memory == 1024 || memory == 2048
	}
	return memory >= r[0] && memory <= r[1] && (memory-r[0])%r[2] == 0
}

func fargateCPUs() string {
	cpus := make([]int, 0, len(fargateMemory))
	for c := range fargateMemory {
		cpus = append(cpus, c)
	}
	sort.Ints(cpus)
	parts := make([]string, len(cpus))
	for i, c := range cpus {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ", ")
}

// parser collects every problem so that one run reports them all.
type parser struct {
	get  Lookup
	errs []error
}

// fullKey is key with its namespace.
func fullKey(key string) string {
	if strings.Contains(key, ":") {
		return key
	}
	return Project + ":" + key
}

func (p *parser) fail(key, value, want string) {
	p.errs = append(p.errs, fmt.Errorf("config %s: got %q, want %s", fullKey(key), value, want))
}

func (p *parser) raw(key string) string {
	if v, ok := p.get(key); ok {
		return strings.TrimSpace(v)
	}
	for _, k := range Keys {
		if k.Name == key {
			return k.Default
		}
	}
	return ""
}

func (p *parser) str(key string, pattern *regexp.Regexp, required bool, want string) string {
	v := p.raw(key)
	if v == "" {
		if required {
			p.fail(key, v, want+" (required; set it with: pulumi config set "+fullKey(key)+" VALUE)")
		}
		return ""
	}
	if pattern != nil && !pattern.MatchString(v) {
		p.fail(key, v, want)
	}
	return v
}

func (p *parser) integer(key string, lo, hi int) int {
	v := p.raw(key)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(key, v, fmt.Sprintf("a whole number from %d to %d", lo, hi))
		return lo
	}
	return n
}

func (p *parser) boolean(key string) bool {
	v := p.raw(key)
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(key, v, "true or false")
	}
	return b
}

// list reads a structured array value, as the engine passes it (a JSON
// array), and checks each element.
func (p *parser) list(key string, pattern *regexp.Regexp, want string) []string {
	v := p.raw(key)
	if v == "" || v == "[]" {
		return nil
	}
	var items []string
	if err := json.Unmarshal([]byte(v), &items); err != nil {
		p.fail(key, v, "a list of strings (in Pulumi.<stack>.yaml a YAML list; or pulumi config set --path '"+fullKey(key)+"[0]' VALUE)")
		return nil
	}
	seen := map[string]bool{}
	for _, it := range items {
		if !pattern.MatchString(it) {
			p.fail(key, it, want)
		}
		if seen[it] {
			p.fail(key, it, "each item once (it is listed twice)")
		}
		seen[it] = true
	}
	return items
}

// Parse validates the configuration of stack read through get, and derives
// the names it leaves unset from the stack name. Every problem is reported
// (joined), each naming the key, the value and what is expected.
func Parse(stack string, get Lookup) (Config, error) {
	p := &parser{get: get}
	c := Config{
		Region:              p.str("aws:region", regionPattern, true, "an AWS region such as us-east-1"),
		ImageTag:            p.raw(KeyImageTag),
		GitHubOwner:         p.str(KeyGitHubOwner, ghNamePattern, true, "a GitHub user or organisation name"),
		GitHubRepo:          p.str(KeyGitHubRepo, ghRepoPattern, true, "a GitHub repository name"),
		GitHubOwnerID:       p.str(KeyGitHubOwnerID, numericID, false, "the owner's numeric ID (gh api users/OWNER --jq .id)"),
		GitHubRepoID:        p.str(KeyGitHubRepoID, numericID, false, "the repository's numeric ID (gh api repos/OWNER/REPO --jq .id)"),
		ServiceName:         p.str(KeyServiceName, namePattern, true, "2 to 32 characters: lowercase letters, digits and hyphens, starting with a letter"),
		ClusterName:         p.str(KeyClusterName, namePattern, false, "2 to 32 characters: lowercase letters, digits and hyphens, starting with a letter"),
		ContainerPort:       p.integer(KeyContainerPort, 1, 65535),
		HealthCheckPath:     p.str(KeyHealthCheckPath, healthPathChars, true, "an absolute URL path such as /health"),
		DesiredCount:        p.integer(KeyDesiredCount, 1, 100),
		CPU:                 p.integer(KeyCPU, 256, 16384),
		Memory:              p.integer(KeyMemory, 512, 122880),
		RollbackWindow:      p.integer(KeyRollbackWindow, 20, 1000),
		DeregistrationDelay: p.integer(KeyDeregistrationDelay, 0, 3600),
		LogRetentionDays:    p.integer(KeyLogRetentionDays, 1, 3653),
		VpcID:               p.str(KeyVpcID, vpcPattern, false, "a VPC ID such as vpc-0123456789abcdef0"),
		AvailabilityZones:   p.list(KeyAvailabilityZones, zonePattern, "an availability zone such as us-east-1a"),
		OIDCProviderArn:     p.str(KeyOIDCProviderArn, oidcArnPattern, false, "the ARN of the GitHub OIDC provider (arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com)"),
		OIDCSubjectTemplate: p.boolean(KeyOIDCSubjectTemplate),
		RustToolchain:       p.str(KeyRustToolchain, rustReleasePattern, true, "a Rust release x.y.z such as 1.95.0 (not a channel such as stable)"),
		CommitTime:          p.str(KeyCommitTime, rfc3339Pattern, false, "a time in RFC 3339 such as 2026-12-01T10:00:00Z (the tool sets it with up --commit-time)"),
		CertificateArn:      p.str(KeyCertificateArn, certificatePattern, false, "an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)"),
		StateBucket:         p.str(KeyStateBucket, bucketPattern, false, "an S3 bucket name (no s3:// prefix)"),
		BackendURL:          p.str(KeyBackendURL, backendPattern, false, "an S3 backend URL such as s3://bucket/prefix?region=us-east-1 (the CI roles reach the state through S3 only)"),
		ToolRepository:      p.str(KeyToolRepository, repoPattern, false, "owner/name of the slipway project's repository"),
		ToolRef:             p.raw(KeyToolRef),
		ToolPath:            p.str(KeyToolPath, nil, false, ""),
	}
	if c.BackendURL != "" && PlainBackend(c.BackendURL) {
		p.fail(KeyBackendURL, c.BackendURL, "a backend reached over TLS: no endpoint=http://... and no disableSSL=true (the state would cross the network in the clear)")
	}
	if c.ToolRepository != "" && !PinnedRef(c.ToolRef) {
		p.fail(KeyToolRef, c.ToolRef, PinnedRefWant)
	}
	if msg := ToolPathProblem(c.ToolPath, c.ToolRepository != ""); msg != "" {
		p.fail(KeyToolPath, c.ToolPath, strings.TrimPrefix(msg, "want "))
	}
	if m := backendPattern.FindStringSubmatch(c.BackendURL); m != nil {
		if c.StateBucket != "" && c.StateBucket != m[1] {
			p.fail(KeyStateBucket+"/"+KeyBackendURL, c.StateBucket+"/"+c.BackendURL, "the same bucket in both, or only one of them set")
		}
		c.StateBucket, c.StatePrefix = m[1], strings.Trim(m[2], "/")
	}
	if c.BackendURL == "" && c.StateBucket != "" {
		c.BackendURL = "s3://" + c.StateBucket
	}
	if c.BackendURL == "" {
		p.fail(KeyStateBucket+"/"+KeyBackendURL, "", "one of them set: the workflows need a shared state backend (file:// state on a laptop cannot be reached from GitHub Actions)")
	}
	if c.CertificateArn != "" && c.Region != "" && !strings.Contains(c.CertificateArn, ":acm:"+c.Region+":") && certificatePattern.MatchString(c.CertificateArn) {
		p.fail(KeyCertificateArn, c.CertificateArn, "a certificate of the stack's region "+c.Region+" (a load balancer uses certificates of its own region)")
	}
	if owner, _ := p.get("github:owner"); owner != c.GitHubOwner {
		p.fail("github:owner", owner, "the same owner as "+fullKey(KeyGitHubOwner)+" ("+c.GitHubOwner+"): the GitHub provider writes the workflow files and variables there")
	}
	if c.ImageTag == "" {
		p.fail(KeyImageTag, "", "the full git commit SHA of the image to run (required; the deploy tool sets it with --sha)")
	} else if !shaPattern.MatchString(c.ImageTag) {
		p.fail(KeyImageTag, c.ImageTag, shaWant)
	}
	if (c.GitHubOwnerID == "") != (c.GitHubRepoID == "") {
		p.fail(KeyGitHubOwnerID+"/"+KeyGitHubRepoID, c.GitHubOwnerID+"/"+c.GitHubRepoID, "both set (immutable OIDC subjects) or both empty")
	}
	if !ValidFargate(c.CPU, c.Memory) {
		p.fail(KeyCPU+"/"+KeyMemory, fmt.Sprintf("%d/%d", c.CPU, c.Memory),
			"a valid Fargate pair: cpu one of "+fargateCPUs()+" with a memory size that cpu allows (256: 512-2048; 512: 1024-4096; 1024: 2048-8192, in 1024 steps; see the AWS Fargate task size table)")
	}
	if !logRetentionDays[c.LogRetentionDays] {
		p.fail(KeyLogRetentionDays, p.raw(KeyLogRetentionDays), "a retention CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653")
	}
	if c.VpcID == "" {
		if len(c.AvailabilityZones) == 0 && c.Region != "" {
			c.AvailabilityZones = []string{c.Region + "a", c.Region + "b"}
		}
		if n := len(c.AvailabilityZones); n < 2 || n > 3 {
			p.fail(KeyAvailabilityZones, p.raw(KeyAvailabilityZones), "two or three zones of the stack's region")
		}
		for _, z := range c.AvailabilityZones {
			if c.Region != "" && !strings.HasPrefix(z, c.Region) {
				p.fail(KeyAvailabilityZones, z, "a zone of the stack's region "+c.Region)
			}
		}
	}
	p.parsePlatform(&c)
	p.parseEnvironments(&c, stack)
	p.checkRetired()
	if len(p.errs) > 0 {
		return Config{}, errors.Join(p.errs...)
	}
	return c, nil
}

// PlainBackend reports whether a Pulumi backend URL reaches the state
// without TLS: an http:// URL, or an s3:// URL whose query (Go CDK's
// s3blob parameters) sets an http:// endpoint or disableSSL.
func PlainBackend(backend string) bool {
	u, err := url.Parse(strings.TrimSpace(backend))
	if err != nil {
		return strings.HasPrefix(strings.ToLower(strings.TrimSpace(backend)), "http://")
	}
	if strings.EqualFold(u.Scheme, "http") {
		return true
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			switch {
			case strings.EqualFold(k, "endpoint") && strings.HasPrefix(strings.ToLower(v), "http://"):
				return true
			case strings.EqualFold(k, "disableSSL") && !strings.EqualFold(v, "false"):
				return true
			}
		}
	}
	return false
}
