package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/slipway-dev/slipway/infra"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/synth"
	"github.com/slipway-dev/slipway/workflows"
	"github.com/slipway-dev/slipway/workflows/workflowcheck"
)

// prodParams are the workflow parameters the program renders for prod.
func prodParams(t *testing.T) (contract.Config, workflows.Params) {
	t.Helper()
	cfg, err := contract.ParseMap("prod", prodConfig(t, sha1, nil))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, infra.WorkflowParams(cfg)
}

// workflowFiles are the RepositoryFile resources by path.
func workflowFiles(t *testing.T, res synth.Result) map[string]synth.Resource {
	t.Helper()
	out := map[string]synth.Resource{}
	for _, r := range res.Find("github:index/repositoryFile:RepositoryFile") {
		out[r.Inputs["file"].(string)] = r
	}
	return out
}

// slipwayRepository set to "" (not missing: that is the default) keeps
// slipway in a folder of the application repository: the workflows run
// the tool from there and check out no other repository.
func TestInRepoLayout(t *testing.T) {
	cfg := prodConfig(t, sha1, map[string]string{"slipwayPath": "deploy"})
	cfg["slipway:"+contract.KeyToolRepository] = ""
	res, err := synth.Run(infra.Program, "slipway", "prod", cfg)
	if err != nil {
		t.Fatalf("synth of the in-repo layout: %v", err)
	}
	cd, ok := workflowFiles(t, res)[".github/workflows/cd.yml"]
	if !ok {
		t.Fatal("no cd.yml RepositoryFile")
	}
	content := cd.Inputs["content"].(string)
	if strings.Contains(content, "repository:") {
		t.Errorf("cd.yml checks out another repository, want none in the in-repo layout:\n%s", content)
	}
	if !strings.Contains(content, "working-directory: deploy\n") || strings.Contains(content, ".slipway") {
		t.Errorf("cd.yml does not run the tool from the deploy folder only:\n%s", content)
	}
}

func TestWorkflowFilesAreTheRender(t *testing.T) {
	_, params := prodParams(t)
	files, err := workflows.Render(params)
	if err != nil {
		t.Fatal(err)
	}
	got := workflowFiles(t, synthProd(t, sha1, nil))
	if len(got) != len(files) {
		t.Errorf("%d RepositoryFile resources, want %d (one per rendered workflow)", len(got), len(files))
	}
	for _, f := range files {
		r, ok := got[f.Path]
		if !ok {
			t.Errorf("no RepositoryFile for %s", f.Path)
			continue
		}
		if content := r.Inputs["content"].(string); content != string(f.Content) {
			t.Errorf("%s: RepositoryFile content differs from workflows.Render:\n%s", f.Path, cmp.Diff(string(f.Content), content))
		}
		checks := map[string]interface{}{"repository": "example-api", "branch": "main", "overwriteOnCreate": true,
			"commitMessage": "slipway: update " + f.Path + " [skip ci]"}
		for k, want := range checks {
			if r.Inputs[k] != want {
				t.Errorf("%s: %s = %v, want %v", f.Path, k, r.Inputs[k], want)
			}
		}
		if problems := workflowcheck.Check(f.Path, f.Content, params); len(problems) > 0 {
			t.Errorf("%s breaks the hardening rules:\n%s", f.Path, strings.Join(problems, "\n"))
		}
		if head := f.Content[:min(len(f.Content), 200)]; !bytes.Contains(head, []byte("Managed by slipway")) {
			t.Errorf("%s: first lines %q, want a \"Managed by slipway\" header", f.Path, head)
		}
	}
}

func TestWorkflowFilesDoNotDependOnTheSHA(t *testing.T) {
	a, b := workflowFiles(t, synthProd(t, sha1, nil)), workflowFiles(t, synthProd(t, sha2, nil))
	for path, ra := range a {
		rb, ok := b[path]
		if !ok || !cmp.Equal(ra.Inputs, rb.Inputs) {
			t.Errorf("%s differs between two image SHAs: a deploy would rewrite the workflow file", path)
		}
		if strings.Contains(ra.Inputs["content"].(string), sha1) {
			t.Errorf("%s contains the image SHA", path)
		}
	}
}

// variables are the Actions variables the program sets for a stack: name
// → value, scoped by environment ("" for the repository's own).
func variables(res synth.Result) map[string]map[string]interface{} {
	out := map[string]map[string]interface{}{}
	add := func(env string, r synth.Resource) {
		if out[env] == nil {
			out[env] = map[string]interface{}{}
		}
		out[env][r.Inputs["variableName"].(string)] = r.Inputs["value"]
	}
	for _, r := range res.Find("github:index/actionsVariable:ActionsVariable") {
		add("", r)
	}
	for _, r := range res.Find("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable") {
		add(r.Inputs["environment"].(string), r)
	}
	return out
}

// Every variable the workflows read is set by exactly one stack, in the
// scope of the jobs that read it: each deploy environment's on it, the
// image job's on image-push, the previews' and drift checks' per stack on
// the repository. No two stacks set the same variable in the same scope.
func TestActionsVariablesAreWhatTheWorkflowsRead(t *testing.T) {
	_, params := prodParams(t)
	set := map[string]string{} // scope/name → stack
	var got []string
	values := map[string]map[string]map[string]interface{}{}
	for _, stack := range stacks {
		values[stack] = variables(synthStack(t, stack, sha1, nil))
		for env, vars := range values[stack] {
			for name := range vars {
				if other, ok := set[env+"/"+name]; ok {
					t.Errorf("stacks %s and %s both set variable %s (environment %q)", other, stack, name, env)
				}
				set[env+"/"+name] = stack
				got = append(got, name)
			}
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(workflows.Variables(params), slices.Compact(got)); diff != "" {
		t.Errorf("Actions variables (-read by the workflows +set by the stacks):\n%s", diff)
	}
	for _, tc := range []struct {
		stack, env string
		names      []string
	}{
		{"prod", "production", workflows.DeployVariables()},
		{"staging", "staging", workflows.DeployVariables()},
		{"prod", workflows.ImageEnvironment, workflows.ImageVariables()},
	} {
		if diff := cmp.Diff(tc.names, sortedKeys(values[tc.stack][tc.env])); diff != "" {
			t.Errorf("%s's variables on environment %s (-want +got):\n%s", tc.stack, tc.env, diff)
		}
	}
	for _, stack := range stacks {
		res := synthStack(t, stack, sha1, nil)
		env := map[string]string{"prod": "production", "staging": "staging"}[stack]
		want := map[string]map[string]interface{}{
			env: {
				workflows.DeployRoleVar: mustGet(t, res, "aws:iam/role:Role", "deploy-role").Outputs["arn"],
				"AWS_REGION":            "us-east-1",
				"ECS_CLUSTER":           stack + "-cluster",
				"ECS_SERVICE":           "api-service",
				"SLIPWAY_STACK":         stack,
				"PULUMI_BACKEND_URL":    "s3://example-org-slipway-state",
			},
			"": {
				workflows.StackVariable(workflows.PreviewRoleVar, stack): mustGet(t, res, "aws:iam/role:Role", "preview-role").Outputs["arn"],
				workflows.StackVariable("AWS_REGION", stack):             "us-east-1",
				workflows.StackVariable("PULUMI_BACKEND_URL", stack):     "s3://example-org-slipway-state",
			},
		}
		for scope, vars := range want {
			for k, w := range vars {
				if got := values[stack][scope][k]; got != w {
					t.Errorf("%s: variable %s (environment %q) = %v, want %v", stack, k, scope, got, w)
				}
			}
		}
	}
	image := values["prod"][workflows.ImageEnvironment]
	if image["ECR_REPOSITORY"] != synth.AccountID+".dkr.ecr.us-east-1.amazonaws.com/api-service" {
		t.Errorf("ECR_REPOSITORY = %v, want prod's repository", image["ECR_REPOSITORY"])
	}
	imageRole := mustGet(t, synthProd(t, sha1, nil), "aws:iam/role:Role", "image-role").Outputs["arn"]
	if image[workflows.ImageRoleVar] != imageRole {
		t.Errorf("%s = %v, want the image role's own ARN %v", workflows.ImageRoleVar, image[workflows.ImageRoleVar], imageRole)
	}
}

func sortedKeys(m map[string]interface{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The image job's environment: from main only and without reviewers, who
// approve the deploy.
func TestImageEnvironmentPushesFromMainOnly(t *testing.T) {
	res := synthProd(t, sha1, nil)
	var env *synth.Resource
	for _, r := range res.Find("github:index/repositoryEnvironment:RepositoryEnvironment") {
		if r.Inputs["environment"] == workflows.ImageEnvironment {
			env = &r
		}
	}
	if env == nil {
		t.Fatalf("the program creates no %s environment: GitHub would create it on the first run, without branch rules", workflows.ImageEnvironment)
	}
	policy, _ := env.Inputs["deploymentBranchPolicy"].(map[string]interface{})
	if policy["customBranchPolicies"] != true || policy["protectedBranches"] != false {
		t.Errorf("%s branch policy %v, want custom branch policies", workflows.ImageEnvironment, policy)
	}
	if reviewers, ok := env.Inputs["reviewers"].([]interface{}); ok && len(reviewers) > 0 {
		t.Errorf("%s has reviewers %v, want none: reviewers approve the deploy", workflows.ImageEnvironment, reviewers)
	}
	var branches []interface{}
	for _, r := range res.Find("github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy") {
		if r.Inputs["environment"] == workflows.ImageEnvironment {
			branches = append(branches, r.Inputs["branchPattern"])
		}
	}
	if len(branches) != 1 || branches[0] != "main" {
		t.Errorf("%s deploys from %v, want [main]", workflows.ImageEnvironment, branches)
	}
}

func TestProductionEnvironmentDeploysFromMainOnly(t *testing.T) {
	res := synthProd(t, sha1, nil)
	env := mustGet(t, res, "github:index/repositoryEnvironment:RepositoryEnvironment", "production-environment")
	policy := env.Inputs["deploymentBranchPolicy"].(map[string]interface{})
	if env.Inputs["environment"] != "production" || policy["customBranchPolicies"] != true || policy["protectedBranches"] != false {
		t.Errorf("environment %v with branch policy %v, want %s limited by custom branch policies", env.Inputs["environment"], policy, "production")
	}
	if !contains(env.IgnoreChanges, "reviewers") {
		t.Errorf("environment ignores %v, want reviewers left to the repository's owners", env.IgnoreChanges)
	}
	rule := mustGet(t, res, "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy", "production-from-main")
	if rule.Inputs["branchPattern"] != "main" || rule.Inputs["environment"] != "production" {
		t.Errorf("deployment policy %v, want branch main on %s", rule.Inputs, "production")
	}
}

// The OIDC subject each role-assuming job emits, in every environment it
// can run in, is one its role trusts; and no deploy role trusts a job of
// another environment, nor the image job, nor a preview: the templates and
// the trust policies of both stacks cannot drift apart. A deploy job's
// role is its environment's stack's (the variable lives on that
// environment).
func TestJobSubjectsMatchRoleTrust(t *testing.T) {
	for _, ids := range []map[string]string{nil, {"githubOwnerId": "111", "githubRepoId": "222"}} {
		cfg, params := prodParams(t)
		if ids != nil {
			cfg.GitHubOwnerID, cfg.GitHubRepoID = ids["githubOwnerId"], ids["githubRepoId"]
		}
		deployTrust := map[string]policyDoc{} // GitHub environment → its stack's deploy role trust
		previewTrust := map[string]policyDoc{}
		var imageTrust policyDoc
		for _, e := range params.Environments {
			res := synthStack(t, e.Stack, sha1, ids)
			deployTrust[e.GitHubEnvironment] = trustPolicy(t, res, "deploy-role")
			previewTrust["${{ vars."+workflows.StackVariable(workflows.PreviewRoleVar, e.Stack)+" }}"] = trustPolicy(t, res, "preview-role")
			if e.Stack == params.Owner {
				imageTrust = trustPolicy(t, res, "image-role")
			}
		}
		files, err := workflows.Render(params)
		if err != nil {
			t.Fatal(err)
		}
		jobs := 0
		for _, f := range files {
			assuming, err := workflowcheck.JobsAssumingRole(f.Content)
			if err != nil {
				t.Fatal(err)
			}
			triggers, err := workflowcheck.Events(f.Content)
			if err != nil {
				t.Fatal(err)
			}
			for job, roleExprs := range assuming {
				for _, event := range triggers {
					subs, err := workflowcheck.JobSubjects(f.Content, job, infra.SubjectPrefix(cfg), event, params.DefaultBranch)
					if err != nil {
						t.Fatalf("%s job %s on %s: %v", f.Path, job, event, err)
					}
					for i, sub := range subs {
						jobs++
						claims := map[string]string{
							"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
							"token.actions.githubusercontent.com:sub": sub,
						}
						// The environment the job runs in: a rollback's i-th choice.
						env := ""
						for _, e := range params.Environments {
							if strings.Contains(sub, ":environment:"+e.GitHubEnvironment+":") || strings.HasSuffix(sub, ":environment:"+e.GitHubEnvironment) {
								env = e.GitHubEnvironment
							}
						}
						for _, roleExpr := range roleExprs {
							var trust policyDoc
							switch {
							case roleExpr == "${{ vars."+workflows.DeployRoleVar+" }}":
								trust = deployTrust[env]
							case roleExpr == "${{ vars."+workflows.ImageRoleVar+" }}":
								trust = imageTrust
							default:
								trust = previewTrust[roleExpr]
							}
							if !assumes(t, trust, providerArn, claims) {
								t.Errorf("%s job %s (%d) on %s emits %q, which its role %s (environment %q) does not trust", f.Path, job, i, event, sub, roleExpr, env)
							}
						}
						for other, trust := range deployTrust {
							deploys := roleExprs[0] == "${{ vars."+workflows.DeployRoleVar+" }}"
							if (!deploys || other != env) && assumes(t, trust, providerArn, claims) {
								t.Errorf("%s job %s on %s emits %q, which %s's deploy role trusts", f.Path, job, event, sub, other)
							}
						}
					}
				}
			}
		}
		if jobs < 9 {
			t.Errorf("checked %d job subjects, want at least 9 (image, two deploys, two rollbacks, two previews, two drift checks)", jobs)
		}
	}
}

// Trust isolation for every pair of environments (image-push too), for
// mutable and immutable subjects, with and without the subject template:
// a job in environment A can assume A's deploy role and no other
// environment's; the image job can assume no deploy role.
func TestDeployRolesTrustTheirEnvironmentOnly(t *testing.T) {
	envOf := map[string]string{"staging": "staging", "prod": "production"}
	for _, overrides := range []map[string]string{
		nil,
		{"githubOwnerId": "111", "githubRepoId": "222"},
		{"oidcSubjectTemplate": "false"},
		{"oidcSubjectTemplate": "false", "githubOwnerId": "111", "githubRepoId": "222"},
	} {
		trusts := map[string]policyDoc{}
		var cfg contract.Config
		for _, stack := range stacks {
			res := synthStack(t, stack, sha1, overrides)
			trusts[envOf[stack]] = trustPolicy(t, res, "deploy-role")
			c, err := contract.ParseMap(stack, stackConfig(t, stack, sha1, overrides))
			if err != nil {
				t.Fatal(err)
			}
			cfg = c
		}
		ref := ""
		if cfg.OIDCSubjectTemplate {
			ref = ":ref:refs/heads/main"
		}
		for _, jobEnv := range []string{"staging", "production", workflows.ImageEnvironment} {
			sub := infra.SubjectPrefix(cfg) + ":environment:" + jobEnv + ref
			claims := map[string]string{"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": sub}
			for roleEnv, trust := range trusts {
				if got, want := assumes(t, trust, providerArn, claims), roleEnv == jobEnv; got != want {
					t.Errorf("%v: a job in %s (%s) assumes %s's deploy role: %v, want %v", overrides, jobEnv, sub, roleEnv, got, want)
				}
			}
		}
	}
}

// The files the program pushes are byte for byte the golden files the
// workflows package checks (rendered with the goldens' tool ref).
func TestWorkflowFilesEqualTheGoldens(t *testing.T) {
	const goldenToolRef = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c" // workflows/golden_test.go
	files := workflowFiles(t, synthProd(t, sha1, map[string]string{"slipwayRef": goldenToolRef}))
	golden, err := filepath.Glob(filepath.Join(root(t), "workflows", "testdata", "golden", "*.yml"))
	if err != nil || len(golden) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	for _, g := range golden {
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		path := workflows.WorkflowDir + filepath.Base(g)
		r, ok := files[path]
		if !ok {
			t.Errorf("the program pushes no %s", path)
			continue
		}
		if got := r.Inputs["content"].(string); got != string(want) {
			t.Errorf("%s differs from %s:\n%s", path, g, cmp.Diff(string(want), got))
		}
	}
	if len(files) != len(golden) {
		t.Errorf("the program pushes %d workflow files, the goldens hold %d", len(files), len(golden))
	}
}

// The CD the program commits deploys staging first and production only
// after it: deploy-prod needs deploy-staging (and the tests and the
// image), promotes the SHA staging verified, and each deploy job is in
// its environment, with its group.
func TestCDPromotesStagingToProduction(t *testing.T) {
	cd := workflowFiles(t, synthProd(t, sha1, nil))[".github/workflows/cd.yml"]
	var w struct {
		Jobs map[string]struct {
			Needs       []string  `yaml:"needs"`
			Environment yaml.Node `yaml:"environment"`
			Concurrency struct {
				Group  string `yaml:"group"`
				Cancel bool   `yaml:"cancel-in-progress"`
			} `yaml:"concurrency"`
			Steps []struct {
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(cd.Inputs["content"].(string)), &w); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job, env, group, run string
		needs                []string
	}{
		{"deploy-staging", "staging", "deploy-staging", `up --stack staging --sha "$GITHUB_SHA"`, []string{"test", "tool", "image"}},
		{"deploy-prod", "production", "deploy-production", `promote --from staging --to prod --sha "$GITHUB_SHA"`, []string{"test", "tool", "image", "deploy-staging"}},
	} {
		j, ok := w.Jobs[tc.job]
		if !ok {
			t.Fatalf("cd.yml has no job %s (jobs: %v)", tc.job, sortedKeys(toAny(w.Jobs)))
		}
		runs := false
		for _, s := range j.Steps {
			runs = runs || strings.Contains(s.Run, tc.run)
		}
		var env struct {
			Name string `yaml:"name"`
		}
		if err := j.Environment.Decode(&env); err != nil {
			t.Fatalf("job %s: environment: %v", tc.job, err)
		}
		if !slices.Equal(j.Needs, tc.needs) || env.Name != tc.env || j.Concurrency.Group != tc.group || j.Concurrency.Cancel || !runs {
			t.Errorf("job %s: needs %v, environment %q, group %q (cancel %v), runs %q: %v; want %v, %q, %q (never cancelled), true",
				tc.job, j.Needs, env.Name, j.Concurrency.Group, j.Concurrency.Cancel, tc.run, runs, tc.needs, tc.env, tc.group)
		}
	}
}

func toAny[V any](m map[string]V) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
