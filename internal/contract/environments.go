package contract

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// One program, one stack per environment: the keys below say how a stack
// names what it creates, which stack owns the one ECR repository, and the
// order CD deploys the environments in.
const (
	KeyGitHubEnvironment    = "githubEnvironment"
	KeyRegistry             = "registry"
	KeyRegistryPullAccounts = "registryPullAccounts"
	KeyEnvironments         = "environments"
	KeyPromoteFrom          = "promoteFrom"
	KeyNames                = "names"
)

// RegistryOwn is the slipway:registry value of the stack that creates the
// ECR repository.
const RegistryOwn = "own"

// ImagePushEnvironment is the GitHub environment of the image job, which
// no stack may use for its deploys.
const ImagePushEnvironment = "image-push"

// Registry is where the stack's images live.
type Registry struct {
	// Own: this stack creates the repository (and the build cache, the
	// image role, and the application repository's workflow files).
	Own bool
	// Name is the repository's name: serviceName when Own.
	Name string
	// Account and Region of a repository given by ARN; both empty for a
	// repository given by name (this stack's account and region).
	Account string
	Region  string
}

// Environment is one stage of the promotion chain: a stack and the GitHub
// environment its deploy jobs run in.
type Environment struct {
	Stack             string `json:"stack"`
	GitHubEnvironment string `json:"githubEnvironment"`
}

// Names are the physical names of the stack's resources that must not
// collide with another environment's stack in the same account. Each
// defaults to one derived from serviceName and the stack name.
type Names struct {
	TaskFamily      string // <service>-<stack>
	LogGroup        string // /ecs/<service>-<stack>
	Table           string // <service>-<stack>
	Queue           string // <service>-<stack>
	DeadLetterQueue string // <service>-<stack>-dlq
	RolePrefix      string // <service>-<stack>: roles are <prefix>-deploy, -image, -preview, -execution, -task
}

// Role suffixes: the roles are RolePrefix + one of these.
const (
	RoleDeploy    = "-deploy"
	RoleImage     = "-image"
	RolePreview   = "-preview"
	RoleExecution = "-execution"
	RoleTask      = "-task"
)

// longestRoleSuffix bounds RolePrefix: IAM role names have at most 64
// characters.
const longestRoleSuffix = len(RoleExecution)

var (
	// ECR repository names: lowercase path components (the ECR API
	// reference, CreateRepository repositoryName).
	repositoryNamePattern = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
	repositoryArnPattern  = regexp.MustCompile(`^arn:aws[a-z-]*:ecr:([a-z]{2}(?:-gov)?-[a-z]+-[0-9]):([0-9]{12}):repository/(.+)$`)
	accountPattern        = regexp.MustCompile(`^[0-9]{12}$`)
	// Names the stack derives: lowercase letters, digits and hyphens fit
	// every one of them (ECS family and cluster, log group, DynamoDB
	// table, SQS queue, IAM role).
	derivedStackPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`)
	familyPattern       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	logGroupPattern     = regexp.MustCompile(`^[A-Za-z0-9_./#-]{1,512}$`)
	tablePattern        = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	queuePattern        = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}$`)
	rolePrefixPattern   = regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,` + fmt.Sprint(64-longestRoleSuffix) + `}$`)
	githubEnvPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$`)
	stackPattern        = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
)

// ValidGitHubEnvironment reports whether name is a GitHub environment name
// the stacks and the workflows accept: letters, digits, '_', '.', '-',
// starting with a letter or digit, at most 255 characters.
func ValidGitHubEnvironment(name string) bool { return githubEnvPattern.MatchString(name) }

// RepositoryURL is the registry's repository URL, given the stack's own
// account and region for a repository named without them.
func (r Registry) RepositoryURL(account, region, dnsSuffix string) string {
	if r.Account != "" {
		account, region = r.Account, r.Region
	}
	return fmt.Sprintf("%s.dkr.ecr.%s.%s/%s", account, region, dnsSuffix, r.Name)
}

// RepositoryArn is the registry's repository ARN, given the stack's own
// partition, account and region for a repository named without them.
func (r Registry) RepositoryArn(partition, account, region string) string {
	if r.Account != "" {
		account, region = r.Account, r.Region
	}
	return fmt.Sprintf("arn:%s:ecr:%s:%s:repository/%s", partition, region, account, r.Name)
}

// InAccount reports whether the repository is in account: one given by
// name always is.
func (r Registry) InAccount(account string) bool { return r.Account == "" || r.Account == account }

// VariableSuffix turns a stack name into the suffix of its
// repository-level Actions variables (SLIPWAY_PREVIEW_ROLE_ARN_<SUFFIX>):
// upper case, every character other than a letter or digit an underscore.
func VariableSuffix(stack string) string {
	var b strings.Builder
	for _, r := range stack {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// parseEnvironments reads the environment keys and derives every name the
// stack's config leaves unset from serviceName and the stack name. It runs
// after the base keys (ServiceName is set).
func (p *parser) parseEnvironments(c *Config, stack string) {
	c.Stack = stack
	if !stackPattern.MatchString(stack) {
		p.fail("stack", stack, "a Pulumi stack name of letters, digits, '-', '_' or '.' (at most 100)")
		return
	}
	derivable := derivedStackPattern.MatchString(stack)
	underivable := func(key, what string) {
		p.fail(key, "", fmt.Sprintf("a %s: the stack name %q (upper case, '_' or '.') cannot be part of AWS names, so set it", what, stack))
	}
	if c.ClusterName == "" {
		switch c.ClusterName = stack + "-cluster"; {
		case !derivable:
			underivable(KeyClusterName, "cluster name")
		case !namePattern.MatchString(c.ClusterName):
			p.fail(KeyClusterName, c.ClusterName, "a cluster name of 2 to 32 characters starting with a letter, which the derived <stack>-cluster is not: set "+fullKey(KeyClusterName))
		}
	}

	base := c.ServiceName + "-" + stack
	n := Names{TaskFamily: base, LogGroup: "/ecs/" + base, Table: base, Queue: base, DeadLetterQueue: base + "-dlq", RolePrefix: base}
	set := map[string]bool{}
	key := KeyNames
	str := func(field string, pattern *regexp.Regexp, want string, dst *string) func(json.RawMessage) {
		return func(raw json.RawMessage) {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil || !pattern.MatchString(s) {
				p.fail(key+"."+field, strings.Trim(string(raw), `"`), want)
				return
			}
			*dst, set[field] = s, true
		}
	}
	p.fields(key, p.object(key), map[string]func(json.RawMessage){
		"taskFamily":      str("taskFamily", familyPattern, "an ECS task family (letters, digits, '-', '_'; at most 255)", &n.TaskFamily),
		"logGroup":        str("logGroup", logGroupPattern, "a CloudWatch Logs group name such as /ecs/api-service", &n.LogGroup),
		"table":           str("table", tablePattern, "a DynamoDB table name (3 to 255 of letters, digits, '_', '-', '.')", &n.Table),
		"queue":           str("queue", queuePattern, "an SQS queue name (letters, digits, '-', '_'; at most 80)", &n.Queue),
		"deadLetterQueue": str("deadLetterQueue", queuePattern, "an SQS queue name (letters, digits, '-', '_'; at most 80)", &n.DeadLetterQueue),
		"rolePrefix":      str("rolePrefix", rolePrefixPattern, fmt.Sprintf("an IAM role name prefix of at most %d characters (the roles add -deploy, -execution, ...)", 64-longestRoleSuffix), &n.RolePrefix),
	})
	if !derivable {
		for _, f := range []string{"taskFamily", "logGroup", "table", "queue", "deadLetterQueue", "rolePrefix"} {
			if !set[f] {
				underivable(key+"."+f, "name")
			}
		}
	} else {
		for field, v := range map[string]struct {
			got     string
			pattern *regexp.Regexp
		}{
			"queue": {n.Queue, queuePattern}, "deadLetterQueue": {n.DeadLetterQueue, queuePattern}, "rolePrefix": {n.RolePrefix, rolePrefixPattern},
		} {
			if !set[field] && !v.pattern.MatchString(v.got) {
				p.fail(key+"."+field, v.got, "a shorter derived name (serviceName and the stack name are too long): set "+fullKey(key)+"."+field)
			}
		}
	}
	c.Names = n

	c.GitHubEnvironment = p.str(KeyGitHubEnvironment, githubEnvPattern, false, "a GitHub environment name (letters, digits, '_', '.', '-')")
	if c.GitHubEnvironment == "" {
		c.GitHubEnvironment = stack
	}
	if strings.EqualFold(c.GitHubEnvironment, ImagePushEnvironment) {
		p.fail(KeyGitHubEnvironment, c.GitHubEnvironment, "another environment than the image job's "+ImagePushEnvironment+" (GitHub environment names ignore case): the deploy role would trust the image job")
	}

	p.parseRegistry(c)

	c.PromoteFrom = p.str(KeyPromoteFrom, stackPattern, false, "the name of the stack whose verified deploys this one promotes (such as staging)")
	if c.PromoteFrom == stack {
		p.fail(KeyPromoteFrom, c.PromoteFrom, "another stack than this one")
	}
	p.parseChain(c)
}

func (p *parser) parseRegistry(c *Config) {
	v := p.raw(KeyRegistry)
	switch m := repositoryArnPattern.FindStringSubmatch(v); {
	case v == RegistryOwn:
		c.Registry = Registry{Own: true, Name: c.ServiceName}
	case m != nil && repositoryNamePattern.MatchString(m[3]) && m[1] != c.Region && c.Region != "":
		p.fail(KeyRegistry, v, "a repository in the stack's region "+c.Region+" (the deploy tool looks images up in the stack's region; another region's repository is not supported)")
	case m != nil && repositoryNamePattern.MatchString(m[3]):
		c.Registry = Registry{Name: m[3], Region: m[1], Account: m[2]}
	case repositoryNamePattern.MatchString(v) && len(v) <= 256:
		c.Registry = Registry{Name: v}
	default:
		p.fail(KeyRegistry, v, `"own" (this stack creates the ECR repository), the name of the owning stack's repository in this account and region (such as api-service), or its ARN in another account (arn:aws:ecr:REGION:ACCOUNT:repository/NAME)`)
	}
	c.RegistryPullAccounts = p.list(KeyRegistryPullAccounts, accountPattern, "a 12-digit AWS account ID")
	if len(c.RegistryPullAccounts) > 0 && !c.Registry.Own {
		p.fail(KeyRegistryPullAccounts, p.raw(KeyRegistryPullAccounts), "no accounts: only the stack that owns the registry (slipway:registry own) grants pulls; set it there")
	}
}

// parseChain reads the promotion chain: the owning stack lists the stacks
// CD deploys, in order; the others list nothing.
func (p *parser) parseChain(c *Config) {
	v := p.raw(KeyEnvironments)
	var envs []Environment
	if v != "" && v != "[]" {
		dec := json.NewDecoder(strings.NewReader(v))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&envs); err != nil {
			p.fail(KeyEnvironments, v, "a list of {stack, githubEnvironment} entries (no other fields), in the order CD deploys them (such as staging, then prod)")
			return
		}
	}
	if !c.Registry.Own {
		if len(envs) > 0 {
			p.fail(KeyEnvironments, v, "no list: only the stack that owns the registry (slipway:registry own) renders the workflows and lists the environments; set it there")
		}
		return
	}
	if len(envs) == 0 {
		c.Environments = []Environment{{Stack: c.Stack, GitHubEnvironment: c.GitHubEnvironment}}
		return
	}
	stacks, githubEnvs, suffixes := map[string]bool{}, map[string]bool{}, map[string]string{}
	self := false
	for i, e := range envs {
		key := fmt.Sprintf("%s[%d]", KeyEnvironments, i)
		if e.GitHubEnvironment == "" {
			e.GitHubEnvironment = e.Stack
		}
		switch {
		case !stackPattern.MatchString(e.Stack):
			p.fail(key+".stack", e.Stack, "a Pulumi stack name of letters, digits, '-', '_' or '.'")
		case stacks[e.Stack]:
			p.fail(key+".stack", e.Stack, "each stack once")
		case suffixes[VariableSuffix(e.Stack)] != "":
			p.fail(key+".stack", e.Stack, "a stack whose Actions variable suffix "+VariableSuffix(e.Stack)+" differs from "+suffixes[VariableSuffix(e.Stack)]+"'s")
		}
		switch {
		case !githubEnvPattern.MatchString(e.GitHubEnvironment):
			p.fail(key+".githubEnvironment", e.GitHubEnvironment, "a GitHub environment name (letters, digits, '_', '.', '-')")
		case strings.EqualFold(e.GitHubEnvironment, ImagePushEnvironment):
			p.fail(key+".githubEnvironment", e.GitHubEnvironment, "another environment than the image job's "+ImagePushEnvironment)
		case githubEnvs[strings.ToLower(e.GitHubEnvironment)]:
			p.fail(key+".githubEnvironment", e.GitHubEnvironment, "each GitHub environment once (names ignore case)")
		}
		stacks[e.Stack], githubEnvs[strings.ToLower(e.GitHubEnvironment)], suffixes[VariableSuffix(e.Stack)] = true, true, e.Stack
		if e.Stack == c.Stack {
			self = true
			if e.GitHubEnvironment != c.GitHubEnvironment {
				p.fail(key+".githubEnvironment", e.GitHubEnvironment, "this stack's own "+fullKey(KeyGitHubEnvironment)+" ("+c.GitHubEnvironment+")")
			}
			// CD runs promote --from the stack before this one.
			switch {
			case i == 0 && c.PromoteFrom != "":
				p.fail(KeyPromoteFrom, c.PromoteFrom, "none: this stack is first in "+fullKey(KeyEnvironments)+", so CD deploys it with up, not a promotion")
			case i > 0 && c.PromoteFrom != envs[i-1].Stack:
				p.fail(KeyPromoteFrom, c.PromoteFrom, envs[i-1].Stack+", the stack before this one in "+fullKey(KeyEnvironments)+": CD promotes to it from there")
			}
		}
		envs[i] = e
	}
	if !self {
		p.fail(KeyEnvironments, v, "a list that includes this stack ("+c.Stack+"), which owns the registry")
	}
	c.Environments = envs
}
