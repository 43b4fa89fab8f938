package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/synth"
)

// physicalName is the name a resource has in AWS or GitHub, keyed by what
// must be unique there, or "" for a resource the provider names itself
// (Pulumi's auto-names add a random suffix, so they never collide).
func physicalName(r synth.Resource) string {
	in := func(k string) string { s, _ := r.Inputs[k].(string); return s }
	switch r.Type {
	case "aws:ecs/cluster:Cluster", "aws:cloudwatch/logGroup:LogGroup", "aws:dynamodb/table:Table",
		"aws:sqs/queue:Queue", "aws:iam/role:Role", "aws:ecr/repository:Repository", "aws:cloudwatch/metricAlarm:MetricAlarm":
		return r.Type + " " + in("name")
	case "aws:ecs/taskDefinition:TaskDefinition":
		return r.Type + " " + in("family")
	case "aws:ecs/service:Service":
		return r.Type + " " + in("cluster") + "/" + in("name")
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		return r.Type + " " + in("url")
	case "github:index/repositoryEnvironment:RepositoryEnvironment":
		return r.Type + " " + in("environment")
	case "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy":
		return r.Type + " " + in("environment") + "/" + in("branchPattern")
	case "github:index/actionsVariable:ActionsVariable":
		return r.Type + " " + in("variableName")
	case "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable":
		return r.Type + " " + in("environment") + "/" + in("variableName")
	case "github:index/repositoryFile:RepositoryFile":
		return r.Type + " " + in("file")
	case "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:ActionsRepositoryOidcSubjectClaimCustomizationTemplate",
		"github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions":
		return r.Type // one per repository
	}
	return ""
}

// Both example stacks, in one account, synthesize side by side: no
// physical name of one is the other's, exactly one ECR repository (and
// one build cache) exists, and only prod, which owns it, has the image
// role, the workflow files and the repository-wide GitHub settings.
func TestStacksDoNotCollide(t *testing.T) {
	owner := map[string]string{} // physical name → stack
	counts := map[string]map[string]int{}
	for _, stack := range stacks {
		res := synthStack(t, stack, sha1, nil)
		counts[stack] = map[string]int{}
		for _, r := range res.Resources {
			counts[stack][r.Type]++
			name := physicalName(r)
			if name == "" {
				continue
			}
			if other, ok := owner[name]; ok {
				t.Errorf("%s and %s both create %s", other, stack, name)
			}
			owner[name] = stack
		}
		t.Logf("%s: %d resources", stack, len(res.Resources))
	}
	for _, tc := range []struct {
		typ           string
		staging, prod int
	}{
		{"aws:ecr/repository:Repository", 0, 2},
		{"aws:ecr/lifecyclePolicy:LifecyclePolicy", 0, 2},
		{"aws:iam/openIdConnectProvider:OpenIdConnectProvider", 0, 1},
		{"aws:iam/role:Role", 4, 5},
		{"github:index/repositoryFile:RepositoryFile", 0, 4},
		{"github:index/actionsRepositoryPermissions:ActionsRepositoryPermissions", 0, 1},
		{"github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:ActionsRepositoryOidcSubjectClaimCustomizationTemplate", 0, 1},
		{"github:index/repositoryEnvironment:RepositoryEnvironment", 1, 2},
		{"aws:ecs/cluster:Cluster", 1, 1},
		{"aws:dynamodb/table:Table", 1, 1},
	} {
		if got := [2]int{counts["staging"][tc.typ], counts["prod"][tc.typ]}; got != [2]int{tc.staging, tc.prod} {
			t.Errorf("%s: staging %d, prod %d; want %d, %d", tc.typ, got[0], got[1], tc.staging, tc.prod)
		}
	}
}

// The names each stack derives from its name, and an override of each.
func TestNamesDeriveFromTheStack(t *testing.T) {
	for _, tc := range []struct {
		stack     string
		overrides map[string]string
		want      map[string]string // "type name" → physical name
	}{
		{"staging", nil, map[string]string{
			"aws:ecs/cluster:Cluster cluster":                                              "staging-cluster",
			"aws:ecs/taskDefinition:TaskDefinition task":                                   "api-service-staging",
			"aws:cloudwatch/logGroup:LogGroup logs":                                        "/ecs/api-service-staging",
			"aws:dynamodb/table:Table table":                                               "api-service-staging",
			"aws:sqs/queue:Queue queue":                                                    "api-service-staging",
			"aws:sqs/queue:Queue queue-dlq":                                                "api-service-staging-dlq",
			"aws:iam/role:Role deploy-role":                                                "api-service-staging-deploy",
			"aws:iam/role:Role preview-role":                                               "api-service-staging-preview",
			"aws:iam/role:Role execution-role":                                             "api-service-staging-execution",
			"aws:iam/role:Role task-role":                                                  "api-service-staging-task",
			"aws:ecs/service:Service service":                                              "api-service",
			"github:index/repositoryEnvironment:RepositoryEnvironment staging-environment": "staging",
		}},
		{"prod", map[string]string{"clusterName": "main", "names": `{"taskFamily":"api","logGroup":"/ecs/api-service","table":"table-4f1a2b3","queue":"queue-1","deadLetterQueue":"dlq-1","rolePrefix":"api"}`}, map[string]string{
			"aws:ecs/cluster:Cluster cluster":            "main",
			"aws:ecs/taskDefinition:TaskDefinition task": "api",
			"aws:cloudwatch/logGroup:LogGroup logs":      "/ecs/api-service",
			"aws:dynamodb/table:Table table":             "table-4f1a2b3",
			"aws:sqs/queue:Queue queue":                  "queue-1",
			"aws:sqs/queue:Queue queue-dlq":              "dlq-1",
			"aws:iam/role:Role deploy-role":              "api-deploy",
			"aws:iam/role:Role image-role":               "api-image",
		}},
	} {
		res := synthStack(t, tc.stack, sha1, tc.overrides)
		for key, want := range tc.want {
			typ, name, _ := strings.Cut(key, " ")
			r := mustGet(t, res, typ, name)
			got := strings.TrimPrefix(physicalName(r), typ+" ")
			if typ == "aws:ecs/service:Service" {
				got = got[strings.LastIndex(got, "/")+1:]
			}
			if got != want {
				t.Errorf("%s %v: %s is named %q, want %q", tc.stack, tc.overrides, key, got, want)
			}
		}
	}
}

// With separate accounts: staging names prod's repository by ARN, pulls
// from it and creates its own account's OIDC provider; prod's repository
// policy grants staging's account pulls and tags, nothing more, and no
// other account anything.
func TestCrossAccountRegistry(t *testing.T) {
	const prodAccount, stagingAccount = "210987654321", synth.AccountID
	repoArn := "arn:aws:ecr:us-east-1:" + prodAccount + ":repository/api-service"
	staging := synthStack(t, "staging", sha1, map[string]string{"registry": repoArn})
	if n := len(staging.Find("aws:ecr/repository:Repository")); n != 0 {
		t.Errorf("staging creates %d repositories, want none", n)
	}
	if n := len(staging.Find("aws:iam/openIdConnectProvider:OpenIdConnectProvider")); n != 1 {
		t.Errorf("staging in its own account creates %d OIDC providers, want 1", n)
	}
	pull := rolePolicy(t, staging, "execution-role-policy")
	found := false
	for _, s := range pull.Statement {
		if s.Sid == "PullImages" {
			found = slices.Equal(s.Resource, []string{repoArn})
		}
	}
	if !found {
		t.Errorf("staging's execution role does not pull exactly from %s: %+v", repoArn, pull.Statement)
	}
	task := mustGet(t, staging, "aws:ecs/taskDefinition:TaskDefinition", "task")
	if defs, _ := task.Inputs["containerDefinitions"].(string); !strings.Contains(defs, prodAccount+".dkr.ecr.us-east-1.amazonaws.com/api-service:"+sha1) {
		t.Errorf("staging's task runs %s, want prod's repository at the SHA", defs)
	}

	prod := synthProd(t, sha1, map[string]string{"registryPullAccounts": fmt.Sprintf(`[%q]`, stagingAccount)})
	policy := parsePolicy(t, mustGet(t, prod, "aws:ecr/repositoryPolicy:RepositoryPolicy", "repo-policy"), "policy")
	if len(policy.Statement) != 1 {
		t.Fatalf("repository policy %+v, want one statement", policy)
	}
	s := policy.Statement[0]
	principal := fmt.Sprint(s.Principal["AWS"])
	if !strings.Contains(principal, "arn:aws:iam::"+stagingAccount+":root") {
		t.Errorf("repository policy principal %v, want staging's account", s.Principal)
	}
	wantActions := []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImages", "ecr:GetDownloadUrlForLayer", "ecr:PutImage"}
	if !slices.Equal(s.Action, wantActions) {
		t.Errorf("repository policy grants %v, want %v (pull, read digests, tag; no layer upload)", s.Action, wantActions)
	}
	if n := len(synthProd(t, sha1, nil).Find("aws:ecr/repositoryPolicy:RepositoryPolicy")); n != 0 {
		t.Errorf("one account: %d repository policies, want none", n)
	}
}

// What each stack's config may say about the environments.
func TestEnvironmentConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stack     string
		overrides map[string]string
		want      []string
	}{
		{"registry neither own nor a repository", "staging", map[string]string{"registry": "Prod Repo"}, []string{"slipway:registry", `"Prod Repo"`, `"own"`}},
		{"registry ARN of another service", "staging", map[string]string{"registry": "arn:aws:s3:::bucket"}, []string{"slipway:registry", "arn:aws:ecr:REGION:ACCOUNT:repository/NAME"}},
		{"pull accounts on a stack that does not own the registry", "staging", map[string]string{"registryPullAccounts": `["210987654321"]`}, []string{"slipway:registryPullAccounts", "only the stack that owns the registry"}},
		{"short account", "prod", map[string]string{"registryPullAccounts": `["2109"]`}, []string{"slipway:registryPullAccounts", `"2109"`, "12-digit"}},
		{"environments on a stack that does not own the registry", "staging", map[string]string{"environments": `[{"stack":"staging"}]`}, []string{"slipway:environments", "only the stack that owns the registry"}},
		{"environments without the owner", "prod", map[string]string{"environments": `[{"stack":"staging"}]`}, []string{"slipway:environments", "includes this stack (prod)"}},
		{"owner's entry disagrees", "prod", map[string]string{"environments": `[{"stack":"staging"},{"stack":"prod"}]`}, []string{"slipway:environments[1].githubEnvironment", `"prod"`, "production"}},
		{"a stack twice", "prod", map[string]string{"environments": `[{"stack":"prod","githubEnvironment":"production"},{"stack":"prod","githubEnvironment":"production"}]`}, []string{"slipway:environments[1].stack", "each stack once"}},
		{"one GitHub environment twice", "prod", map[string]string{"environments": `[{"stack":"staging","githubEnvironment":"Production"},{"stack":"prod","githubEnvironment":"production"}]`}, []string{"slipway:environments[1].githubEnvironment", "each GitHub environment once"}},
		{"environments not a list", "prod", map[string]string{"environments": `"staging,prod"`}, []string{"slipway:environments", "a list of {stack, githubEnvironment}"}},
		{"deploy environment of the image job", "staging", map[string]string{"githubEnvironment": "Image-Push"}, []string{"slipway:githubEnvironment", "image-push"}},
		{"promotes from itself", "prod", map[string]string{"promoteFrom": "prod"}, []string{"slipway:promoteFrom", "another stack"}},
		{"promotes from nowhere", "prod", map[string]string{"promoteFrom": ""}, []string{"slipway:promoteFrom", `got ""`, "staging, the stack before this one in slipway:environments"}},
		{"promotes from the wrong stack", "prod", map[string]string{"promoteFrom": "qa"}, []string{"slipway:promoteFrom", `"qa"`, "staging, the stack before"}},
		{"first stack promotes", "prod", map[string]string{"environments": `[{"stack":"prod","githubEnvironment":"production"},{"stack":"staging"}]`}, []string{"slipway:promoteFrom", `"staging"`, "this stack is first"}},
		{"misspelt entry field", "prod", map[string]string{"environments": `[{"stack":"staging","githubEnviroment":"stage"},{"stack":"prod","githubEnvironment":"production"}]`}, []string{"slipway:environments", "no other fields"}},
		{"repository in another region", "staging", map[string]string{"registry": "arn:aws:ecr:eu-west-1:210987654321:repository/api-service"}, []string{"slipway:registry", "the stack's region us-east-1"}},
		{"unknown name", "staging", map[string]string{"names": `{"bucket":"x"}`}, []string{"slipway:names.bucket", "one of the fields deadLetterQueue, logGroup, queue, rolePrefix, table, taskFamily"}},
		{"role prefix too long", "staging", map[string]string{"names": `{"rolePrefix":"` + strings.Repeat("r", 60) + `"}`}, []string{"slipway:names.rolePrefix", "at most 54"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := contract.ParseMap(tc.stack, stackConfig(t, tc.stack, sha1, tc.overrides))
			if err == nil {
				t.Fatalf("ParseMap(%s, %v) = nil, want an error", tc.stack, tc.overrides)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nwant it to contain %q", err, w)
				}
			}
		})
	}
	// A stack name that AWS names take but a cluster name cannot start with.
	if _, err := contract.ParseMap("1st", stackConfig(t, "staging", sha1, nil)); err == nil || !strings.Contains(err.Error(), "starting with a letter, which the derived <stack>-cluster is not") {
		t.Errorf("ParseMap(1st) = %v, want the cluster name's rule", err)
	}
	// A stack whose name cannot be part of AWS names must name them.
	cfg := stackConfig(t, "staging", sha1, nil)
	_, err := contract.ParseMap("Staging_EU", cfg)
	for _, w := range []string{"slipway:clusterName", "slipway:names.table", `the stack name "Staging_EU"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("ParseMap(Staging_EU) = %v, want an error containing %q", err, w)
		}
	}
	cfg["slipway:clusterName"] = "staging-eu"
	cfg["slipway:names"] = `{"taskFamily":"a","logGroup":"/ecs/a","table":"aaa","queue":"a","deadLetterQueue":"a-dlq","rolePrefix":"a"}`
	if _, err := contract.ParseMap("Staging_EU", cfg); err != nil {
		t.Errorf("ParseMap(Staging_EU) with every name set = %v, want nil", err)
	}
}
