package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/infra"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/synth"
	"github.com/slipway-dev/slipway/workflows"
)

const providerArn = "arn:aws:iam::" + synth.AccountID + ":oidc-provider/token.actions.githubusercontent.com"

// trustCase is one token the trust policies see: its subject, and the
// roles (by logical name) that must accept it; every other role refuses it.
type trustCase struct {
	name  string
	sub   string
	roles []string
}

// trustCases are, for a repository whose subjects start with prefix (the
// other form of the repository's prefix is other), the subjects GitHub can
// emit and the roles each may assume. With the subject template every
// subject names its ref; without it, GitHub's default subjects.
func trustCases(prefix, other string, template bool) []trustCase {
	const (
		main = ":ref:refs/heads/main"
		pr   = ":ref:refs/pull/42/merge"
	)
	if !template {
		return []trustCase{
			{"production environment", prefix + ":environment:production", []string{"deploy-role"}},
			{"image-push environment", prefix + ":environment:image-push", []string{"image-role"}},
			{"pull request", prefix + ":pull_request", []string{"preview-role"}},
			{"main without environment (drift)", prefix + main, []string{"preview-role"}},
			{"feature branch", prefix + ":ref:refs/heads/feature", nil},
			{"tag", prefix + ":ref:refs/tags/v1.0.0", nil},
			{"other environment", prefix + ":environment:staging", nil},
			{"templated production subject", prefix + ":environment:production" + main, nil},
			{"templated image-push subject", prefix + ":environment:image-push" + main, nil},
			{"templated pull request subject", prefix + ":pull_request" + pr, nil},
			{"subject with suffix", prefix + ":environment:production:x", nil},
			{"other form of the repository", other + ":environment:production", nil},
			{"fork's pull request", "repo:evil-org/example-api:pull_request", nil},
		}
	}
	return []trustCase{
		{"production environment on main", prefix + ":environment:production" + main, []string{"deploy-role"}},
		{"image-push environment on main", prefix + ":environment:image-push" + main, []string{"image-role"}},
		{"pull request 42", prefix + ":pull_request" + pr, []string{"preview-role"}},
		{"pull request 1", prefix + ":pull_request:ref:refs/pull/1/merge", []string{"preview-role"}},
		{"main without environment (drift)", prefix + main + main, []string{"preview-role"}},

		{"default production subject", prefix + ":environment:production", nil},
		{"default pull request subject", prefix + ":pull_request", nil},
		{"default main subject", prefix + main, nil},
		{"production environment on a feature branch", prefix + ":environment:production:ref:refs/heads/feature", nil},
		{"production environment on a tag", prefix + ":environment:production:ref:refs/tags/v1.0.0", nil},
		{"production environment in a pull request", prefix + ":environment:production" + pr, nil},
		{"other environment on main", prefix + ":environment:staging" + main, nil},
		{"image-push environment on a feature branch", prefix + ":environment:image-push:ref:refs/heads/feature", nil},
		{"image-push environment in a pull request", prefix + ":environment:image-push" + pr, nil},
		{"default image-push subject", prefix + ":environment:image-push", nil},
		{"pull_request_target (the base branch's ref)", prefix + ":pull_request" + main, nil},
		{"pull request head ref", prefix + ":pull_request:ref:refs/pull/42/head", nil},
		{"feature branch", prefix + ":ref:refs/heads/feature:ref:refs/heads/feature", nil},
		{"branch named like main", prefix + ":ref:refs/heads/main-x:ref:refs/heads/main-x", nil},
		{"tag", prefix + ":ref:refs/tags/v1.0.0:ref:refs/tags/v1.0.0", nil},
		{"subject with suffix", prefix + ":environment:production" + main + ":x", nil},
		{"pull request subject with suffix", prefix + ":pull_request" + pr + ":x", nil},
		{"other form of the repository", other + ":environment:production" + main, nil},
		{"other form of the repository, PR", other + ":pull_request" + pr, nil},
		{"fork's pull request", "repo:evil-org/example-api:pull_request" + pr, nil},
		{"other repository of the owner", "repo:example-org/other:environment:production" + main, nil},
		{"repository name prefix", "repo:example-org/example-api2:environment:production" + main, nil},
		{"repository name prefix, PR", "repo:example-org/example-api2:pull_request" + pr, nil},
		{"other owner, same repo name", "repo:evil-org/example-api:environment:production" + main, nil},
		{"owner prefix", "repo:example-org-evil/example-api:pull_request" + pr, nil},
		{"case changed", "repo:Example-Org/example-api:environment:production" + main, nil},
	}
}

// trustedRoles are the roles whose trust the evaluator checks.
var trustedRoles = []string{"deploy-role", "image-role", "preview-role"}

func TestTrustPolicies(t *testing.T) {
	const aud = "sts.amazonaws.com"
	mutable, immutable := "repo:example-org/example-api", "repo:example-org@111/example-api@222"
	for _, v := range []struct {
		name          string
		overrides     map[string]string
		prefix, other string
		template      bool
	}{
		{"template, mutable subjects", nil, mutable, immutable, true},
		{"template, immutable subjects", map[string]string{"githubOwnerId": "111", "githubRepoId": "222"}, immutable, mutable, true},
		{"default subjects, mutable", map[string]string{"oidcSubjectTemplate": "false"}, mutable, immutable, false},
		{"default subjects, immutable", map[string]string{"oidcSubjectTemplate": "false", "githubOwnerId": "111", "githubRepoId": "222"}, immutable, mutable, false},
	} {
		t.Run(v.name, func(t *testing.T) {
			res := synthProd(t, sha1, v.overrides)
			roles := map[string]policyDoc{}
			for _, r := range trustedRoles {
				roles[r] = trustPolicy(t, res, r)
			}
			for _, tc := range trustCases(v.prefix, v.other, v.template) {
				for _, role := range trustedRoles {
					want := contains(tc.roles, role)
					claims := map[string]string{SubjectClaim: tc.sub, AudienceClaim: aud}
					if got := assumes(t, roles[role], providerArn, claims); got != want {
						t.Errorf("%s: %s assumable with sub=%q: got %v, want %v", tc.name, role, tc.sub, got, want)
					}
					if !want {
						continue
					}
					for _, bad := range []map[string]string{
						{SubjectClaim: tc.sub, AudienceClaim: "https://github.com/example-org"},
						{SubjectClaim: tc.sub, AudienceClaim: "sigstore"},
						{SubjectClaim: tc.sub},
					} {
						if assumes(t, roles[role], providerArn, bad) {
							t.Errorf("%s: %s assumable with sub=%q and aud=%q, want refused", tc.name, role, tc.sub, bad[AudienceClaim])
						}
					}
					if assumes(t, roles[role], "arn:aws:iam::"+synth.AccountID+":oidc-provider/evil.example.com", claims) {
						t.Errorf("%s trusts a federated principal other than the GitHub OIDC provider", role)
					}
				}
			}
			for _, role := range trustedRoles {
				if assumes(t, roles[role], providerArn, map[string]string{AudienceClaim: aud}) {
					t.Errorf("%s assumable without a subject", role)
				}
			}
		})
	}
}

// Each role trusts exactly its subjects: a sampled subject cannot show
// that no other branch, environment or pattern was added.
func TestTrustSubjectsExact(t *testing.T) {
	const p = "repo:example-org/example-api"
	const main = ":ref:refs/heads/main"
	tests := []struct {
		name      string
		overrides map[string]string
		want      map[string][]string // role -> its subjects, "~" before a StringLike pattern
	}{
		{"template", nil, map[string][]string{
			"deploy-role":  {p + ":environment:production" + main},
			"image-role":   {p + ":environment:image-push" + main},
			"preview-role": {p + main + main, "~" + p + ":pull_request:ref:refs/pull/*/merge"},
		}},
		{"default subjects", map[string]string{"oidcSubjectTemplate": "false"}, map[string][]string{
			"deploy-role":  {p + ":environment:production"},
			"image-role":   {p + ":environment:image-push"},
			"preview-role": {p + ":pull_request", p + main},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := synthProd(t, sha1, tt.overrides)
			for role, want := range tt.want {
				var got []string
				for _, s := range trustPolicy(t, res, role).Statement {
					got = append(got, s.Condition["StringEquals"][SubjectClaim]...)
					for _, pattern := range s.Condition["StringLike"][SubjectClaim] {
						got = append(got, "~"+pattern)
					}
				}
				slices.Sort(got)
				want = slices.Sorted(slices.Values(want))
				if !slices.Equal(got, want) {
					t.Errorf("%s trusts subjects %q, want exactly %q", role, got, want)
				}
			}
		})
	}
}

// Every statement checks aud with StringEquals and sub with StringEquals,
// or with StringLike on a pull request's number and nothing else.
func TestTrustConditions(t *testing.T) {
	for _, overrides := range []map[string]string{nil, {"oidcSubjectTemplate": "false"}} {
		res := synthProd(t, sha1, overrides)
		for _, role := range trustedRoles {
			for _, s := range trustPolicy(t, res, role).Statement {
				if got := s.Condition["StringEquals"][AudienceClaim]; !cmp.Equal(got, stringList{"sts.amazonaws.com"}) {
					t.Errorf("%s: StringEquals %s = %v, want [sts.amazonaws.com]", role, AudienceClaim, got)
				}
				exact, like := s.Condition["StringEquals"][SubjectClaim], s.Condition["StringLike"][SubjectClaim]
				if (len(exact) == 0) == (len(like) == 0) {
					t.Errorf("%s: statement conditions %v, want sub checked with either StringEquals or StringLike", role, s.Condition)
				}
				for _, v := range exact {
					if strings.ContainsAny(v, "*?") {
						t.Errorf("%s: StringEquals subject %q holds a wildcard", role, v)
					}
				}
				for _, v := range like {
					if role != "preview-role" || !strings.HasSuffix(v, ":pull_request:ref:refs/pull/*/merge") || strings.Count(v, "*") != 1 || strings.Contains(v, "?") {
						t.Errorf("%s: StringLike subject %q, want only the preview role's refs/pull/*/merge", role, v)
					}
				}
				for op, keys := range s.Condition {
					for key := range keys {
						if key != AudienceClaim && key != SubjectClaim || op != "StringEquals" && op != "StringLike" {
							t.Errorf("%s: condition %s on %s, want StringEquals or StringLike on aud and sub only", role, op, key)
						}
					}
				}
			}
		}
	}
}

// The claims of a GitHub Actions token, as IAM names them.
const (
	AudienceClaim = "token.actions.githubusercontent.com:aud"
	SubjectClaim  = "token.actions.githubusercontent.com:sub"
)

func TestOIDCSubjectTemplate(t *testing.T) {
	res := synthProd(t, sha1, nil)
	tmpl := mustGet(t, res, "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:ActionsRepositoryOidcSubjectClaimCustomizationTemplate", "oidc-subject-template")
	if got := fmt.Sprint(tmpl.Inputs["includeClaimKeys"]); got != "[repo context ref]" || tmpl.Inputs["useDefault"] != false || tmpl.Inputs["repository"] != "example-api" {
		t.Errorf("subject template %v, want includeClaimKeys [repo context ref], useDefault false on example-api", tmpl.Inputs)
	}
	for _, role := range trustedRoles {
		if !contains(tmpl.Dependencies, role) {
			t.Errorf("subject template depends on %v, want %s: its trust must change first", tmpl.Dependencies, role)
		}
	}
	off := synthProd(t, sha1, map[string]string{"oidcSubjectTemplate": "false"})
	if n := len(off.Find(tmpl.Type)); n != 0 {
		t.Errorf("with oidcSubjectTemplate false: %d subject templates, want none", n)
	}
}

// Only the actions the rendered workflows use, at their pinned SHAs, may
// run in the repository.
func TestActionsPermissions(t *testing.T) {
	res := synthProd(t, sha1, nil)
	perms := mustGet(t, res, "github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions", "actions-permissions")
	for k, want := range map[string]interface{}{"repository": "example-api", "enabled": true, "allowedActions": "selected", "shaPinningRequired": true} {
		if perms.Inputs[k] != want {
			t.Errorf("actions permissions %s = %v, want %v", k, perms.Inputs[k], want)
		}
	}
	config := perms.Inputs["allowedActionsConfig"].(map[string]interface{})
	if config["githubOwnedAllowed"] != false || config["verifiedAllowed"] != false {
		t.Errorf("allowedActionsConfig %v, want neither GitHub-owned nor verified actions allowed wholesale", config)
	}
	var got []string
	for _, p := range config["patternsAlloweds"].([]interface{}) {
		got = append(got, p.(string))
	}
	uses := map[string]bool{}
	for _, f := range workflowFiles(t, res) {
		for _, m := range regexp.MustCompile(`uses: (\S+)`).FindAllStringSubmatch(f.Inputs["content"].(string), -1) {
			uses[m[1]] = true
		}
	}
	want := make([]string, 0, len(uses))
	for u := range uses {
		action, sha, _ := strings.Cut(u, "@")
		if pin, ok := workflows.LookupPin(action); !ok || pin.SHA != sha {
			t.Errorf("a workflow uses %s, not a pin", u)
		}
		want = append(want, u)
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allowed actions (-the workflows' uses +allowed):\n%s", diff)
	}
	if _, err := infra.AllowedActions([]workflows.File{{Path: "x.yml", Content: []byte("      - uses: actions/checkout@v4\n")}}); err == nil {
		t.Error("AllowedActions accepts a uses: that is not a pin")
	}
}

func TestOIDCProviderReuse(t *testing.T) {
	existing := "arn:aws:iam::" + synth.AccountID + ":oidc-provider/token.actions.githubusercontent.com"
	res := synthProd(t, sha1, map[string]string{"oidcProviderArn": existing})
	if n := len(res.Find("aws:iam/openIdConnectProvider:OpenIdConnectProvider")); n != 0 {
		t.Errorf("with oidcProviderArn set: %d OIDC providers created, want 0 (reuse)", n)
	}
	for _, role := range []string{"deploy-role", "preview-role"} {
		for _, s := range trustPolicy(t, res, role).Statement {
			if got := s.Principal["Federated"]; got != existing {
				t.Errorf("%s: federated principal %v, want %s", role, got, existing)
			}
		}
	}

	created := synthProd(t, sha1, nil)
	p := mustGet(t, created, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github-oidc")
	if got, want := p.Inputs["url"], "https://token.actions.githubusercontent.com"; got != want {
		t.Errorf("provider url = %v, want %s", got, want)
	}
	if got := fmt.Sprint(p.Inputs["clientIdLists"]); got != "[sts.amazonaws.com]" {
		t.Errorf("provider clientIdLists = %s, want [sts.amazonaws.com]", got)
	}
	if !p.RetainOnDelete {
		t.Error("created OIDC provider: retainOnDelete false, want true (other stacks of the account may use it)")
	}
}

// allPolicies returns every permission policy, by logical name.
func allPolicies(t *testing.T, res synth.Result) map[string]policyDoc {
	out := map[string]policyDoc{}
	for _, r := range res.Find("aws:iam/rolePolicy:RolePolicy") {
		out[r.Name] = parsePolicy(t, r, "policy")
	}
	return out
}

// resourceWildcardActions are the actions IAM cannot scope to a resource
// (it offers no resource-level permission for them): only these may be
// granted on Resource "*".
var resourceWildcardActions = map[string]bool{
	"ecr:GetAuthorizationToken":                           true,
	"ssm:DescribeParameters":                              true, // no resource-level permission; metadata only
	"ecs:DescribeTaskDefinition":                          true,
	"ecs:RegisterTaskDefinition":                          true,
	"ecs:ListTasks":                                       true, // scoped by the ecs:cluster condition
	"ec2:DescribeInternetGateways":                        true,
	"ec2:DescribeNetworkAcls":                             true,
	"elasticloadbalancing:DescribeCapacityReservation":    true,
	"ec2:DescribeNetworkInterfaces":                       true,
	"ec2:DescribeRouteTables":                             true,
	"ec2:DescribeSecurityGroupRules":                      true,
	"ec2:DescribeSecurityGroups":                          true,
	"ec2:DescribeSubnets":                                 true,
	"ec2:DescribeVpcAttribute":                            true,
	"ec2:DescribeVpcs":                                    true,
	"elasticloadbalancing:DescribeListenerAttributes":     true,
	"elasticloadbalancing:DescribeListeners":              true,
	"elasticloadbalancing:DescribeLoadBalancerAttributes": true,
	"elasticloadbalancing:DescribeLoadBalancers":          true,
	"elasticloadbalancing:DescribeTags":                   true,
	"elasticloadbalancing:DescribeTargetGroupAttributes":  true,
	"elasticloadbalancing:DescribeTargetGroups":           true,
	"elasticloadbalancing:DescribeTargetHealth":           true,
	"logs:DescribeLogGroups":                              true,
	"application-autoscaling:DescribeScalableTargets":     true,
	"application-autoscaling:DescribeScalingPolicies":     true,
	"cloudwatch:DescribeAlarms":                           true,
	"ec2:DescribeAddresses":                               true,
	"ec2:DescribeAddressesAttribute":                      true,
	"ec2:DescribeNatGateways":                             true,
	"ec2:DescribePrefixLists":                             true,
	"ec2:DescribeVpcEndpoints":                            true,
	"elasticloadbalancing:DescribeRules":                  true,
	"ssmmessages:CreateControlChannel":                    true,
	"ssmmessages:CreateDataChannel":                       true,
	"ssmmessages:OpenControlChannel":                      true,
	"ssmmessages:OpenDataChannel":                         true,
}

func TestNoWildcardActions(t *testing.T) {
	for _, overrides := range []map[string]string{
		{"stateBucket": "acme-pulumi-state"},
		{"enableExec": "true", "readonlyRootFilesystem": "false", "autoscaling": `{"min":2,"max":4}`, "secrets": prodSecrets},
	} {
		noWildcardActions(t, synthProd(t, sha1, overrides))
	}
}

func noWildcardActions(t *testing.T, res synth.Result) {
	t.Helper()
	for name, d := range allPolicies(t, res) {
		for _, s := range d.Statement {
			if s.Effect != "Allow" {
				t.Errorf("%s %s: Effect %s, want Allow", name, s.Sid, s.Effect)
			}
			for _, a := range s.Action {
				if strings.ContainsAny(a, "*?") {
					t.Errorf("%s %s: wildcard action %q", name, s.Sid, a)
				}
			}
			for _, r := range s.Resource {
				if r == "*" {
					for _, a := range s.Action {
						if !resourceWildcardActions[a] {
							t.Errorf("%s %s: %s granted on Resource \"*\"; IAM can scope it, so scope it", name, s.Sid, a)
						}
					}
					continue
				}
				if strings.Contains(r, "*") && !scopedWildcard.MatchString(r) {
					t.Errorf("%s %s: resource %s is a wildcard wider than this stack's resources", name, s.Sid, r)
				}
			}
		}
	}
}

func TestPassRoleScoped(t *testing.T) {
	res := synthProd(t, sha1, nil)
	want := []string{
		mustGet(t, res, "aws:iam/role:Role", "execution-role").Outputs["arn"].(string),
		mustGet(t, res, "aws:iam/role:Role", "task-role").Outputs["arn"].(string),
	}
	sort.Strings(want)
	found := 0
	for name, d := range allPolicies(t, res) {
		for _, s := range d.Statement {
			if !contains(s.Action, "iam:PassRole") {
				continue
			}
			found++
			if name != "deploy-role-policy" {
				t.Errorf("%s grants iam:PassRole; only the deploy role may", name)
			}
			got := append([]string(nil), s.Resource...)
			sort.Strings(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PassRole resources (-want +got):\n%s", diff)
			}
			if got := s.Condition["StringEquals"]["iam:PassedToService"]; !cmp.Equal(got, stringList{"ecs-tasks.amazonaws.com"}) {
				t.Errorf("PassRole iam:PassedToService = %v, want [ecs-tasks.amazonaws.com]", got)
			}
			if len(s.Action) != 1 {
				t.Errorf("PassRole statement also grants %v, want iam:PassRole alone", s.Action)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d statements grant iam:PassRole, want exactly 1", found)
	}
}

// scopedWildcard are the wildcards that stay within the stack: the
// revisions of its task family, the tasks of its cluster, the indexes of
// its table, the streams of its log group, and its own state objects.
// scopedWildcard are the wildcards within this stack's resources, and
// the read of its promoteFrom stack's (staging's) checkpoint and history.
var scopedWildcard = regexp.MustCompile(`(:task-definition/api-service-prod:\*|:task/prod-cluster/\*|:service-(deployment|revision)/prod-cluster/api-service/\*|:table/[a-z0-9-]+/index/\*|:log-stream:\*|/\.pulumi/(stacks/slipway/(prod|staging)\.json\*|(history|backups)/slipway/prod/\*|history/slipway/staging/\*|locks/\*/slipway/prod/\*))$`)

var readOnlyAction = regexp.MustCompile(`^[a-z0-9-]+:(Describe|Get|List|BatchGet)[A-Za-z]*$`)

func TestPreviewRoleReadOnly(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"stateBucket": "acme-pulumi-state"})
	for _, s := range rolePolicy(t, res, "preview-role-policy").Statement {
		for _, a := range s.Action {
			if !readOnlyAction.MatchString(a) || a == "ecr:GetAuthorizationToken" || a == "ecr:GetDownloadUrlForLayer" {
				t.Errorf("preview role statement %s grants %s, which is not read-only", s.Sid, a)
			}
		}
	}
}

func TestDeployRolePermissions(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"stateBucket": "acme-pulumi-state"})
	repoArn := "arn:aws:ecr:us-east-1:" + synth.AccountID + ":repository/api-service"
	serviceArn := "arn:aws:ecs:us-east-1:" + synth.AccountID + ":service/prod-cluster/api-service"
	grants := map[string][]string{} // action → resources
	for _, s := range rolePolicy(t, res, "deploy-role-policy").Statement {
		for _, a := range s.Action {
			grants[a] = append(grants[a], s.Resource...)
			if strings.HasPrefix(a, "iam:") && a != "iam:PassRole" {
				t.Errorf("deploy role grants %s: no IAM write (CD must not be able to widen its own trust)", a)
			}
		}
	}
	tests := []struct {
		action   string
		resource string
	}{
		// The tool tags verified images deployed-<sha>: PutImage of the
		// manifest BatchGetImage read, once DescribeImages found it.
		{"ecr:PutImage", repoArn},
		{"ecr:DescribeImages", repoArn},
		{"ecr:BatchGetImage", repoArn},
		{"ecs:RegisterTaskDefinition", "arn:aws:ecs:us-east-1:" + synth.AccountID + ":task-definition/api-service-prod:*"},
		{"ecs:UpdateService", serviceArn},
		{"ecs:DescribeServices", serviceArn},

		{"ecs:DescribeTaskDefinition", "*"},
		{"ecs:DescribeTasks", "arn:aws:ecs:us-east-1:" + synth.AccountID + ":task/prod-cluster/*"},
		{"ecs:ListTasks", "*"},
		{"s3:ListBucket", "arn:aws:s3:::acme-pulumi-state"},

		// Rollout tracking and the tool's rollback of a deploy in flight,
		// each on this service's resources only.
		{"ecs:ListServiceDeployments", serviceArn},
		{"ecs:DescribeServiceDeployments", "arn:aws:ecs:us-east-1:" + synth.AccountID + ":service-deployment/prod-cluster/api-service/*"},
		{"ecs:StopServiceDeployment", "arn:aws:ecs:us-east-1:" + synth.AccountID + ":service-deployment/prod-cluster/api-service/*"},
		{"ecs:DescribeServiceRevisions", "arn:aws:ecs:us-east-1:" + synth.AccountID + ":service-revision/prod-cluster/api-service/*"},
	}
	for _, tt := range tests {
		if got := grants[tt.action]; !cmp.Equal(got, []string{tt.resource}) {
			t.Errorf("deploy role %s on %v, want exactly [%s]", tt.action, got, tt.resource)
		}
	}
	for _, action := range []string{"ecs:ListTagsForResource", "ecs:TagResource"} {
		want := []string{"arn:aws:ecs:us-east-1:" + synth.AccountID + ":task-definition/api-service-prod:*", serviceArn}
		if got := grants[action]; !cmp.Equal(got, want) {
			t.Errorf("deploy role %s on %v, want %v (RegisterTaskDefinition and UpdateService carry tags)", action, got, want)
		}
	}
	state := "arn:aws:s3:::acme-pulumi-state/.pulumi/"
	wantState := []string{state + "stacks/slipway/prod.json*", state + "history/slipway/prod/*", state + "backups/slipway/prod/*", state + "locks/*/slipway/prod/*"}
	for _, action := range []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} {
		got := grants[action]
		if action == "s3:GetObject" {
			// And, read-only, staging's checkpoint and history, which
			// deploy promote reads (prod's slipway:promoteFrom).
			wantMeta := append(append([]string{state + "meta.yaml"}, wantState...), state+"stacks/slipway/staging.json*", state+"history/slipway/staging/*")
			if !cmp.Equal(got, wantMeta) {
				t.Errorf("deploy role %s on %v, want %v", action, got, wantMeta)
			}
			continue
		}
		if !cmp.Equal(got, wantState) {
			t.Errorf("deploy role %s on %v, want only this stack's state objects %v", action, got, wantState)
		}
	}
	for _, s := range rolePolicy(t, res, "deploy-role-policy").Statement {
		if contains(s.Action, "ecs:ListTasks") {
			if c := s.Condition["ArnEquals"]["ecs:cluster"]; len(c) != 1 || !strings.HasSuffix(c[0], ":cluster/prod-cluster") {
				t.Errorf("ecs:ListTasks is granted on * without the ecs:cluster condition of this cluster (got %v)", c)
			}
		}
	}
	for _, forbidden := range []string{"ecs:DeleteService", "ecs:CreateService", "ecr:DeleteRepository", "ecr:PutLifecyclePolicy", "ecs:DeregisterTaskDefinition", "dynamodb:DeleteTable", "sts:AssumeRole",
		// The image role pushes; the deploy role uploads no layer.
		"ecr:GetAuthorizationToken", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer"} {
		if _, ok := grants[forbidden]; ok {
			t.Errorf("deploy role grants %s, want not", forbidden)
		}
	}
	// Exhaustive: nothing else, so nothing of the platform (network,
	// endpoints, load balancer, alarms, autoscaling, cluster, secrets).
	for action := range grants {
		if !deployActions[action] {
			t.Errorf("deploy role grants %s, which is not among the actions a deploy needs", action)
		}
	}
}

// deployActions are every action the deploy role may have.
var deployActions = map[string]bool{
	"ecr:BatchGetImage": true, "ecr:DescribeImages": true, "ecr:PutImage": true,
	"ecs:DescribeTaskDefinition": true, "ecs:RegisterTaskDefinition": true, "ecs:ListTagsForResource": true,
	"ecs:TagResource": true, "ecs:DescribeServices": true, "ecs:UpdateService": true, "ecs:ListTasks": true,
	"ecs:DescribeTasks": true, "ecs:ListServiceDeployments": true, "ecs:DescribeServiceDeployments": true,
	"ecs:DescribeServiceRevisions": true, "ecs:StopServiceDeployment": true, "iam:PassRole": true,
	"s3:ListBucket": true, "s3:GetObject": true, "s3:PutObject": true, "s3:DeleteObject": true,
}

// The image role pushes to the image and cache repositories and does
// nothing else: no ECS, no IAM, no state, no other repository.
func TestImageRolePermissions(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"stateBucket": "acme-pulumi-state"})
	repos := []string{
		mustGet(t, res, "aws:ecr/repository:Repository", "repo").Outputs["arn"].(string),
		mustGet(t, res, "aws:ecr/repository:Repository", "cache-repo").Outputs["arn"].(string),
	}
	if want := "arn:aws:ecr:us-east-1:" + synth.AccountID + ":repository/api-service-cache"; repos[1] != want {
		t.Errorf("cache repository ARN %s, want %s", repos[1], want)
	}
	want := map[string][]string{"ecr:GetAuthorizationToken": {"*"}}
	for _, a := range []string{
		"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
		"ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
	} {
		want[a] = repos
	}
	got := map[string][]string{}
	for _, s := range rolePolicy(t, res, "image-role-policy").Statement {
		if s.Effect != "Allow" || len(s.Condition) > 0 {
			t.Errorf("image role statement %s: effect %s, conditions %v", s.Sid, s.Effect, s.Condition)
		}
		for _, a := range s.Action {
			got[a] = append(got[a], s.Resource...)
			if !strings.HasPrefix(a, "ecr:") {
				t.Errorf("image role grants %s: it may push images and nothing else (no ECS, IAM, S3 state)", a)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("image role grants (-want +got):\n%s", diff)
	}
	if r := mustGet(t, res, "aws:iam/role:Role", "image-role"); r.Inputs["maxSessionDuration"] != 3600.0 {
		t.Errorf("image role maxSessionDuration = %v, want 3600", r.Inputs["maxSessionDuration"])
	}
}

// The preview role follows rollouts too (status, the PR preview), read-only
// and on this service's deployments and revisions only.
func TestPreviewRoleReadsRollouts(t *testing.T) {
	res := synthProd(t, sha1, nil)
	prefix := "arn:aws:ecs:us-east-1:" + synth.AccountID + ":"
	want := map[string][]string{
		"ecs:ListServiceDeployments":     {prefix + "service/prod-cluster/api-service"},
		"ecs:DescribeServiceDeployments": {prefix + "service-deployment/prod-cluster/api-service/*"},
		"ecs:DescribeServiceRevisions":   {prefix + "service-revision/prod-cluster/api-service/*"},
	}
	got := map[string][]string{}
	for _, s := range rolePolicy(t, res, "preview-role-policy").Statement {
		for _, a := range s.Action {
			if _, ok := want[a]; ok || a == "ecs:StopServiceDeployment" {
				got[a] = append(got[a], s.Resource...)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("preview role rollout reads (-want +got):\n%s", diff)
	}
}

func TestTaskRoleScopedToTableAndQueue(t *testing.T) {
	res := synthProd(t, sha1, nil)
	tableArn := mustGet(t, res, "aws:dynamodb/table:Table", "table").Outputs["arn"].(string)
	want := map[string][]string{
		"Table": {tableArn, tableArn + "/index/*"},
		"Queue": {mustGet(t, res, "aws:sqs/queue:Queue", "queue").Outputs["arn"].(string)},
	}
	got := map[string][]string{}
	for _, s := range rolePolicy(t, res, "task-role-policy").Statement {
		got[s.Sid] = s.Resource
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("task role resources (-want +got):\n%s", diff)
	}
}

func TestRegistry(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"rollbackWindow": "37"})
	repo := mustGet(t, res, "aws:ecr/repository:Repository", "repo")
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"imageTagMutability", repo.Inputs["imageTagMutability"], "IMMUTABLE"},
		{"scanOnPush", repo.Inputs["imageScanningConfiguration"].(map[string]interface{})["scanOnPush"], true},
		{"forceDelete", repo.Inputs["forceDelete"], false},
		{"protect", repo.Protect, true},
		{"retainOnDelete", repo.RetainOnDelete, true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("repo %s = %v, want %v", c.what, c.got, c.want)
		}
	}

	type selection struct {
		TagStatus      string   `json:"tagStatus"`
		TagPrefixList  []string `json:"tagPrefixList,omitempty"`
		TagPatternList []string `json:"tagPatternList,omitempty"`
		CountType      string   `json:"countType"`
		CountUnit      string   `json:"countUnit,omitempty"`
		CountNumber    int      `json:"countNumber"`
	}
	var policy struct {
		Rules []struct {
			RulePriority int       `json:"rulePriority"`
			Selection    selection `json:"selection"`
			Action       struct {
				Type string `json:"type"`
			} `json:"action"`
		} `json:"rules"`
	}
	lc := mustGet(t, res, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "repo-lifecycle")
	if err := json.Unmarshal([]byte(lc.Inputs["policy"].(string)), &policy); err != nil {
		t.Fatal(err)
	}
	// In priority order: untagged images go after a week; the newest 37
	// images each environment verifiably ran (tagged
	// verified-<stack>-<sha> by the tool) stay, production's first, so
	// staging's deploys cannot crowd production's rollback window out;
	// then the newest 37 deployed images (deployed-<sha>), however many
	// were pushed since; besides them the newest 37 pushes stay, deployed
	// or not (the last rule counts deployed images too). ECR never lets a
	// rule expire what a higher-priority rule's tags select, so no later
	// rule can evict what an earlier one keeps.
	want := []selection{
		{TagStatus: "untagged", CountType: "sinceImagePushed", CountUnit: "days", CountNumber: infra.UntaggedExpiryDays},
		{TagStatus: "tagged", TagPrefixList: []string{"verified-prod-"}, CountType: "imageCountMoreThan", CountNumber: 37},
		{TagStatus: "tagged", TagPrefixList: []string{"verified-staging-"}, CountType: "imageCountMoreThan", CountNumber: 37},
		{TagStatus: "tagged", TagPrefixList: []string{contract.DeployedTagPrefix}, CountType: "imageCountMoreThan", CountNumber: 37},
		{TagStatus: "tagged", TagPatternList: []string{"*"}, CountType: "imageCountMoreThan", CountNumber: 37},
	}
	var got []selection
	for i, r := range policy.Rules {
		if r.RulePriority != i+1 || r.Action.Type != "expire" {
			t.Errorf("rule %d: priority %d action %q, want priority %d and expire", i, r.RulePriority, r.Action.Type, i+1)
		}
		got = append(got, r.Selection)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lifecycle rules (-want +got):\n%s\npolicy: %s", diff, lc.Inputs["policy"])
	}
}

func TestCacheRepository(t *testing.T) {
	res := synthProd(t, sha1, nil)
	cache := mustGet(t, res, "aws:ecr/repository:Repository", "cache-repo")
	if cache.Inputs["name"] != "api-service-cache" || cache.Inputs["imageTagMutability"] != "MUTABLE" || cache.Parent != "registry" {
		t.Errorf("cache repository %v (parent %s), want api-service-cache, MUTABLE (a moving cache tag), in the registry", cache.Inputs, cache.Parent)
	}
	var policy struct {
		Rules []struct {
			RulePriority int `json:"rulePriority"`
			Selection    struct {
				TagStatus   string `json:"tagStatus"`
				CountType   string `json:"countType"`
				CountUnit   string `json:"countUnit"`
				CountNumber int    `json:"countNumber"`
			} `json:"selection"`
			Action struct {
				Type string `json:"type"`
			} `json:"action"`
		} `json:"rules"`
	}
	lc := mustGet(t, res, "aws:ecr/lifecyclePolicy:LifecyclePolicy", "cache-repo-lifecycle")
	if err := json.Unmarshal([]byte(lc.Inputs["policy"].(string)), &policy); err != nil {
		t.Fatal(err)
	}
	if len(policy.Rules) != 1 {
		t.Fatalf("cache lifecycle %s, want one rule", lc.Inputs["policy"])
	}
	r := policy.Rules[0]
	if r.Selection.TagStatus != "any" || r.Selection.CountType != "sinceImagePushed" || r.Selection.CountUnit != "days" || r.Selection.CountNumber != infra.CacheExpiryDays || r.Action.Type != "expire" || infra.CacheExpiryDays > 7 {
		t.Errorf("cache lifecycle rule %+v, want every image expired %d days (at most 7) after its push", r, infra.CacheExpiryDays)
	}
	if lc.Inputs["repository"] != "api-service-cache" {
		t.Errorf("cache lifecycle on %v, want api-service-cache", lc.Inputs["repository"])
	}
}

func TestServiceDeploymentSettings(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"desiredCount": "3", "deregistrationDelay": "15"})
	svc := mustGet(t, res, "aws:ecs/service:Service", "service")
	in := svc.Inputs
	breaker := in["deploymentCircuitBreaker"].(map[string]interface{})
	checks := []struct {
		what string
		got  interface{}
		want interface{}
	}{
		{"desiredCount", in["desiredCount"], 3.0},
		{"deploymentMinimumHealthyPercent", in["deploymentMinimumHealthyPercent"], 100.0},
		{"deploymentMaximumPercent", in["deploymentMaximumPercent"], 200.0},
		{"circuit breaker enable", breaker["enable"], true},
		{"circuit breaker rollback", breaker["rollback"], true},
		{"waitForSteadyState", in["waitForSteadyState"], false},
		{"launchType", in["launchType"], "FARGATE"},
		{"update timeout", svc.UpdateTimeout, "10m"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("service %s = %v, want %v", c.what, c.got, c.want)
		}
	}
	if g, ok := in["healthCheckGracePeriodSeconds"].(float64); !ok || g <= 0 {
		t.Errorf("service healthCheckGracePeriodSeconds = %v, want > 0", in["healthCheckGracePeriodSeconds"])
	}
	if !contains(svc.Dependencies, "http") {
		t.Errorf("service depends on %v, want the http listener (the target group must be attached to the load balancer first)", svc.Dependencies)
	}

	tg := mustGet(t, res, "aws:lb/targetGroup:TargetGroup", "tg")
	hc := tg.Inputs["healthCheck"].(map[string]interface{})
	if got := tg.Inputs["deregistrationDelay"]; got != 15.0 {
		t.Errorf("target group deregistrationDelay = %v, want 15 (from config)", got)
	}
	if got := hc["interval"].(float64); got > 10 {
		t.Errorf("health check interval = %v s, want <= 10", got)
	}
	if got := hc["healthyThreshold"]; got != 2.0 {
		t.Errorf("health check healthyThreshold = %v, want 2", got)
	}
	if got := hc["path"]; got != "/health" {
		t.Errorf("health check path = %v, want /health", got)
	}

	task := mustGet(t, res, "aws:ecs/taskDefinition:TaskDefinition", "task")
	if task.Inputs["skipDestroy"] != true {
		t.Error("task definition skipDestroy is not true: replacing it would deregister the revision ECS rolls back to")
	}
	cluster := mustGet(t, res, "aws:ecs/cluster:Cluster", "cluster")
	if got := fmt.Sprint(cluster.Inputs["settings"]); got != "[map[name:containerInsights value:enabled]]" {
		t.Errorf("cluster settings = %s, want Container Insights enabled", got)
	}
	logs := mustGet(t, res, "aws:cloudwatch/logGroup:LogGroup", "logs")
	if logs.Inputs["retentionInDays"] != 30.0 {
		t.Errorf("log retention = %v, want 30", logs.Inputs["retentionInDays"])
	}
}

type container struct {
	Name             string
	Image            string
	Environment      []struct{ Name, Value string }
	Secrets          []struct{ Name, ValueFrom string }
	LogConfiguration struct {
		LogDriver string
		Options   map[string]string
	}
}

func containers(t *testing.T, res synth.Result) []container {
	t.Helper()
	var cs []container
	task := mustGet(t, res, "aws:ecs/taskDefinition:TaskDefinition", "task")
	if err := json.Unmarshal([]byte(task.Inputs["containerDefinitions"].(string)), &cs); err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestImageIsRepositoryAtSHA(t *testing.T) {
	for _, sha := range []string{sha1, sha2} {
		res := synthProd(t, sha, nil)
		cs := containers(t, res)
		if len(cs) != 1 {
			t.Fatalf("%d containers, want 1", len(cs))
		}
		want := synth.AccountID + ".dkr.ecr.us-east-1.amazonaws.com/api-service:" + sha
		if cs[0].Image != want {
			t.Errorf("image = %q, want %q", cs[0].Image, want)
		}
		env := map[string]string{}
		for _, e := range cs[0].Environment {
			env[e.Name] = e.Value
		}
		for _, k := range []string{"TABLE_NAME", "QUEUE_URL", "QUEUE_NAME"} {
			if env[k] == "" {
				t.Errorf("container environment has no %s", k)
			}
		}
		if cs[0].LogConfiguration.LogDriver != "awslogs" || cs[0].LogConfiguration.Options["awslogs-group"] != "/ecs/api-service-prod" {
			t.Errorf("log configuration = %+v, want awslogs to /ecs/api-service-prod", cs[0].LogConfiguration)
		}
	}
}

// A new SHA is a new task definition and nothing else: the rolling deploy
// never touches the network, the data, the registry or the roles.
func TestSHAChangeAltersOnlyTaskDefinition(t *testing.T) {
	a, b := synthProd(t, sha1, nil), synthProd(t, sha2, nil)
	if len(a.Resources) != len(b.Resources) {
		t.Fatalf("resource count %d vs %d: a SHA change added or removed resources", len(a.Resources), len(b.Resources))
	}
	var changed []string
	for i := range a.Resources {
		ra, rb := a.Resources[i], b.Resources[i]
		if ra.Type != rb.Type || ra.Name != rb.Name {
			t.Fatalf("resource %d: %s %s vs %s %s", i, ra.Type, ra.Name, rb.Type, rb.Name)
		}
		if !cmp.Equal(ra, rb) {
			changed = append(changed, ra.Type+" "+ra.Name)
		}
	}
	// Under mocks the task definition's ARN does not change with the SHA,
	// so the service (which references it) must not change at all.
	if want := []string{"aws:ecs/taskDefinition:TaskDefinition task"}; !cmp.Equal(changed, want) {
		t.Errorf("a SHA change alters %v, want only %v", changed, want)
	}
}

func TestDataStores(t *testing.T) {
	res := synthProd(t, sha1, nil)
	table := mustGet(t, res, "aws:dynamodb/table:Table", "table")
	if table.Inputs["billingMode"] != "PAY_PER_REQUEST" || !table.Protect {
		t.Errorf("table billingMode=%v protect=%v, want PAY_PER_REQUEST and protected", table.Inputs["billingMode"], table.Protect)
	}
	if pitr := table.Inputs["pointInTimeRecovery"].(map[string]interface{}); pitr["enabled"] != true {
		t.Errorf("table point-in-time recovery = %v, want enabled", pitr)
	}
	queue := mustGet(t, res, "aws:sqs/queue:Queue", "queue")
	var redrive struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(queue.Inputs["redrivePolicy"].(string)), &redrive); err != nil {
		t.Fatal(err)
	}
	dlq := mustGet(t, res, "aws:sqs/queue:Queue", "queue-dlq")
	if want := dlq.Outputs["arn"].(string); redrive.DeadLetterTargetArn != want || redrive.MaxReceiveCount < 1 {
		t.Errorf("queue redrive = %+v, want to %s", redrive, want)
	}
}

var kebab = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

func TestComponentsAndNames(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"})
	components := map[string]string{}
	for _, r := range res.Resources {
		if !r.IsCustom {
			components[r.Name] = r.Type
			if !strings.HasPrefix(r.Type, "slipway:infra:") {
				t.Errorf("component %s has type %s, want slipway:infra:*", r.Name, r.Type)
			}
		}
	}
	for _, r := range res.Resources {
		if !kebab.MatchString(r.Name) {
			t.Errorf("%s %q: logical names must be kebab-case (renaming replaces the resource)", r.Type, r.Name)
		}
		if r.IsCustom && components[r.Parent] == "" {
			t.Errorf("%s %s has parent %q, want one of the components", r.Type, r.Name, r.Parent)
		}
	}
	want := []string{"ci-identity", "data", "github", "network", "registry", "service"}
	var got []string
	for n := range components {
		got = append(got, n)
	}
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
}

func TestStackOutputs(t *testing.T) {
	got := stackOutputs(t, nil)
	want := map[string]string{
		contract.OutRepositoryURL:     synth.AccountID + ".dkr.ecr.us-east-1.amazonaws.com/api-service",
		contract.OutClusterName:       "prod-cluster",
		contract.OutServiceName:       "api-service",
		contract.OutRegion:            "us-east-1",
		contract.OutImageTag:          sha1,
		contract.OutTaskDefinitionArn: "arn:aws:ecs:us-east-1:" + synth.AccountID + ":task-definition/api-service-prod:1",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("output %s = %q, want %q", k, got[k], w)
		}
	}
	for _, k := range []string{contract.OutServiceURL, contract.OutDeployRoleArn, contract.OutPreviewRoleArn} {
		if got[k] == "" {
			t.Errorf("output %s is missing", k)
		}
	}
}

// The service URL is the environment's link on GitHub's deployments page:
// the stack's own load balancer (https with a certificate), the host a
// shared listener's rule matches, or none when the rule names no host.
func TestServiceURL(t *testing.T) {
	shared := func(extra map[string]string) map[string]string {
		m := sharedPlatform("orders")
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		name      string
		overrides map[string]string
		want      string // a prefix of the URL; "" for none
	}{
		{"own load balancer", nil, "http://"},
		{"own load balancer with a certificate", map[string]string{"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-0123-0123-0123456789ab"}, "https://"},
		{"shared listener, host and path", shared(map[string]string{"pathPattern": "/orders/*"}), "https://orders.example.com/orders/"},
		{"shared listener, path only", shared(map[string]string{"hostHeader": "", "pathPattern": "/orders/*"}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stackOutputs(t, tt.overrides)[contract.OutServiceURL]
			if (tt.want == "") != (got == "") || !strings.HasPrefix(got, tt.want) {
				t.Errorf("serviceUrl = %q, want it to start with %q (none when %q is empty)", got, tt.want, tt.want)
			}
		})
	}
}

// stackOutputs synthesizes prod with overrides and returns its stack
// outputs as strings.
func stackOutputs(t *testing.T, overrides map[string]string) map[string]string {
	t.Helper()
	cfgMap := prodConfig(t, sha1, overrides)
	cfg, err := contract.ParseMap("prod", cfgMap)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]string{}
	program := func(ctx *pulumi.Context) error {
		s, err := infra.New(ctx, cfg)
		if err != nil {
			return err
		}
		// Exported, so the run awaits each apply before it returns: an
		// apply nobody awaits can still be running after synth.Run.
		for k, v := range s.Outputs {
			ctx.Export(k, pulumi.ToOutput(v).ApplyT(func(x interface{}) int {
				mu.Lock()
				defer mu.Unlock()
				got[k] = fmt.Sprint(x)
				return 0
			}))
		}
		return nil
	}
	if _, err := synth.Run(program, "slipway", "prod", cfgMap); err != nil {
		t.Fatal(err)
	}
	return got
}

// refreshReads are, per resource type, the read actions a refresh of it
// needs (what the provider calls to read it back). The preview role runs
// the drift check, a preview with refresh, so it must hold all of them.
var refreshReads = map[string][]string{
	"aws:ecr/repository:Repository":                                      {"ecr:DescribeRepositories", "ecr:ListTagsForResource"},
	"aws:ecr/lifecyclePolicy:LifecyclePolicy":                            {"ecr:GetLifecyclePolicy"},
	"aws:ec2/vpc:Vpc":                                                    {"ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeNetworkAcls", "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups"},
	"aws:ec2/internetGateway:InternetGateway":                            {"ec2:DescribeInternetGateways"},
	"aws:ec2/routeTable:RouteTable":                                      {"ec2:DescribeRouteTables"},
	"aws:ec2/routeTableAssociation:RouteTableAssociation":                {"ec2:DescribeRouteTables"},
	"aws:ec2/subnet:Subnet":                                              {"ec2:DescribeSubnets"},
	"aws:ec2/securityGroup:SecurityGroup":                                {"ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules"},
	"aws:lb/loadBalancer:LoadBalancer":                                   {"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes", "elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeCapacityReservation"},
	"aws:lb/targetGroup:TargetGroup":                                     {"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes", "elasticloadbalancing:DescribeTags"},
	"aws:lb/listener:Listener":                                           {"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes", "elasticloadbalancing:DescribeTags"},
	"aws:ecs/cluster:Cluster":                                            {"ecs:DescribeClusters"},
	"aws:ecs/service:Service":                                            {"ecs:DescribeServices"},
	"aws:ecs/taskDefinition:TaskDefinition":                              {"ecs:DescribeTaskDefinition"},
	"aws:cloudwatch/logGroup:LogGroup":                                   {"logs:DescribeLogGroups", "logs:ListTagsForResource"},
	"aws:iam/role:Role":                                                  {"iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"},
	"aws:iam/rolePolicy:RolePolicy":                                      {"iam:GetRolePolicy"},
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider":                {"iam:GetOpenIDConnectProvider"},
	"aws:dynamodb/table:Table":                                           {"dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource"},
	"aws:sqs/queue:Queue":                                                {"sqs:GetQueueAttributes", "sqs:ListQueueTags"},
	"aws:ec2/eip:Eip":                                                    {"ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"},
	"aws:ec2/natGateway:NatGateway":                                      {"ec2:DescribeNatGateways"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                                    {"ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists"},
	"aws:lb/listenerRule:ListenerRule":                                   {"elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                             {"cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"},
	"aws:appautoscaling/target:Target":                                   {"application-autoscaling:DescribeScalableTargets", "application-autoscaling:ListTagsForResource"},
	"aws:appautoscaling/policy:Policy":                                   {"application-autoscaling:DescribeScalingPolicies"},
	"github:index/repositoryFile:RepositoryFile":                         nil, // read with the drift job's GitHub token
	"github:index/actionsVariable:ActionsVariable":                       nil,
	"github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable": nil,
	"aws:ecr/repositoryPolicy:RepositoryPolicy":                          {"ecr:GetRepositoryPolicy"},
	"github:index/repositoryEnvironment:RepositoryEnvironment":           nil,
	"github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy":                                   nil,
	"github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:ActionsRepositoryOidcSubjectClaimCustomizationTemplate": nil,
	"github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions":                                                     nil,
}

func TestPreviewRoleCanRefreshEveryResource(t *testing.T) {
	for name, overrides := range map[string]map[string]string{
		"HTTPS, autoscaling": {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc", "autoscaling": `{"min":2,"max":4}`},
		"no NAT, endpoints":  {"natGateways": "0", "secrets": prodSecrets},
		"shared platform":    sharedPlatform("orders"),
	} {
		t.Run(name, func(t *testing.T) { previewRefreshes(t, synthProd(t, sha1, overrides)) })
	}
}

func previewRefreshes(t *testing.T, res synth.Result) {
	t.Helper()
	granted := map[string]bool{}
	for _, s := range rolePolicy(t, res, "preview-role-policy").Statement {
		for _, a := range s.Action {
			granted[a] = true
		}
	}
	for _, r := range res.Resources {
		if !r.IsCustom {
			continue
		}
		reads, known := refreshReads[r.Type]
		if !known {
			t.Errorf("%s %s: no refresh reads listed for this type; add them to refreshReads and to the preview role", r.Type, r.Name)
			continue
		}
		for _, a := range reads {
			if !granted[a] {
				t.Errorf("preview role lacks %s, needed to refresh %s %s (drift would fail with AccessDenied)", a, r.Type, r.Name)
			}
		}
	}
}

func TestStateBucketFromBackendURL(t *testing.T) {
	res := synthProd(t, sha1, map[string]string{"stateBucket": "", "backendUrl": "s3://team-state/slipway?region=us-east-1"})
	want := "arn:aws:s3:::team-state/slipway/.pulumi/stacks/slipway/prod.json*"
	found := false
	for _, s := range rolePolicy(t, res, "deploy-role-policy").Statement {
		found = found || contains(s.Resource, want)
	}
	if !found {
		t.Errorf("with backendUrl s3://team-state/slipway the deploy role has no grant on %s", want)
	}
}

// Both environments the roles trust deploy from main only, by custom
// branch policies whose one policy the stack creates. Production's
// reviewers are the owners'; image-push has none and the stack owns it all.
func TestMainOnlyEnvironments(t *testing.T) {
	res := synthProd(t, sha1, nil)
	for env, ignored := range map[string]bool{"production": true, infra.ImageEnv: false} {
		e := mustGet(t, res, "github:index/repositoryEnvironment:RepositoryEnvironment", env+"-environment")
		policy := e.Inputs["deploymentBranchPolicy"].(map[string]interface{})
		if e.Inputs["environment"] != env || e.Inputs["repository"] != "example-api" || policy["customBranchPolicies"] != true || policy["protectedBranches"] != false {
			t.Errorf("environment %v with branch policy %v, want %s limited by custom branch policies", e.Inputs["environment"], policy, env)
		}
		if got := len(e.IgnoreChanges) > 0; got != ignored {
			t.Errorf("%s ignores changes to %v; want reviewers left to the owners: %v", env, e.IgnoreChanges, ignored)
		}
		if e.Inputs["reviewers"] != nil {
			t.Errorf("%s: reviewers %v, want none set by the stack", env, e.Inputs["reviewers"])
		}
		rule := mustGet(t, res, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy", env+"-from-main")
		if rule.Inputs["branchPattern"] != "main" || rule.Inputs["environment"] != env || rule.Inputs["tagPattern"] != nil {
			t.Errorf("deployment policy %v, want branch main on %s", rule.Inputs, env)
		}
	}
	if n := len(res.Find("github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy")); n != 2 {
		t.Errorf("%d deployment policies, want 2 (main, on each environment)", n)
	}
}

// The image job's variables: its role and the cache repository's URL.
func TestImageVariables(t *testing.T) {
	res := synthProd(t, sha1, nil)
	want := map[string]interface{}{
		"SLIPWAY_IMAGE_ROLE_ARN": mustGet(t, res, "aws:iam/role:Role", "image-role").Outputs["arn"],
		"ECR_CACHE_REPOSITORY":   synth.AccountID + ".dkr.ecr.us-east-1.amazonaws.com/api-service-cache",
	}
	for name, w := range want {
		if !contains(workflows.ImageVariables(), name) {
			t.Errorf("workflows.ImageVariables() does not list %s: the image job reads it", name)
		}
		found := false
		for _, r := range res.Find("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable") {
			if r.Inputs["variableName"] == name && r.Inputs["environment"] == workflows.ImageEnvironment {
				found = true
				if r.Inputs["value"] != w {
					t.Errorf("variable %s = %v, want %v", name, r.Inputs["value"], w)
				}
			}
		}
		if !found {
			t.Errorf("no Actions variable %s", name)
		}
	}
}

// What holds the service's data (items, messages, logs, images) is
// protected and retained: no stack operation deletes it, and dropping it
// from the program leaves it in the account.
func TestStatefulResourcesProtected(t *testing.T) {
	res := synthProd(t, sha1, nil)
	for _, r := range []struct{ typ, name string }{
		{"aws:dynamodb/table:Table", "table"},
		{"aws:sqs/queue:Queue", "queue"},
		{"aws:sqs/queue:Queue", "queue-dlq"},
		{"aws:cloudwatch/logGroup:LogGroup", "logs"},
		{"aws:ecr/repository:Repository", "repo"},
	} {
		got := mustGet(t, res, r.typ, r.name)
		if !got.Protect || !got.RetainOnDelete {
			t.Errorf("%s %s: protect %v, retainOnDelete %v; want both", r.typ, r.name, got.Protect, got.RetainOnDelete)
		}
	}
	// The build cache is disposable.
	if cache := mustGet(t, res, "aws:ecr/repository:Repository", "cache-repo"); cache.Protect || cache.RetainOnDelete || cache.Inputs["forceDelete"] != true {
		t.Errorf("cache repository protect %v, retainOnDelete %v, forceDelete %v; want a disposable repository", cache.Protect, cache.RetainOnDelete, cache.Inputs["forceDelete"])
	}
}

// The destructive-change gate knows every type the program protects or
// retains: a replacement of one is refused by up --all, not met by the
// engine's protect error (exit 1) or, for a retained one, by a silent
// orphan. It also covers the types whose replacement breaks what points
// at them (load balancer, VPC, OIDC provider, cluster).
func TestDestructiveGateCoversProtectedTypes(t *testing.T) {
	for _, stack := range []string{"prod", "staging"} {
		for _, r := range synthStack(t, stack, sha1, nil).Resources {
			if (r.Protect || r.RetainOnDelete) && !deploy.StatefulTypes[r.Type] {
				t.Errorf("stack %s: %s %s is protected or retained, but deploy.StatefulTypes does not list %s", stack, r.Type, r.Name, r.Type)
			}
		}
	}
	want := []string{"aws:cloudwatch/logGroup:LogGroup", "aws:dynamodb/table:Table", "aws:ec2/vpc:Vpc", "aws:ecr/repository:Repository", "aws:ecs/cluster:Cluster",
		"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:lb/loadBalancer:LoadBalancer", "aws:sqs/queue:Queue"}
	if got := slices.Sorted(maps.Keys(deploy.StatefulTypes)); !slices.Equal(got, want) {
		t.Errorf("deploy.StatefulTypes = %v, want %v", got, want)
	}
}
