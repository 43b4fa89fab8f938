package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
	return cfg, infra.WorkflowParams(cfg, "prod")
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

// roleOfVariable is the IAM role whose ARN the Actions variable holds, so
// the tests need not know the role's resource name.
func roleOfVariable(t *testing.T, res synth.Result, variable string) synth.Resource {
	t.Helper()
	for _, v := range res.Find("github:index/actionsVariable:ActionsVariable") {
		if v.Inputs["variableName"] != variable {
			continue
		}
		for _, r := range res.Find("aws:iam/role:Role") {
			if r.Outputs["arn"] == v.Inputs["value"] {
				return r
			}
		}
		t.Fatalf("variable %s holds %v, the ARN of no role", variable, v.Inputs["value"])
	}
	t.Fatalf("the program sets no variable %s", variable)
	return synth.Resource{}
}

func TestActionsVariablesAreWhatTheWorkflowsRead(t *testing.T) {
	res := synthProd(t, sha1, nil)
	var got []string
	values := map[string]interface{}{}
	for _, r := range res.Find("github:index/actionsVariable:ActionsVariable") {
		name := r.Inputs["variableName"].(string)
		got = append(got, name)
		values[name] = r.Inputs["value"]
	}
	sort.Strings(got)
	if diff := cmp.Diff(workflows.Variables(), got); diff != "" {
		t.Errorf("Actions variables (-read by the workflows +set by the program):\n%s", diff)
	}
	deployRole := mustGet(t, res, "aws:iam/role:Role", "deploy-role").Outputs["arn"]
	previewRole := mustGet(t, res, "aws:iam/role:Role", "preview-role").Outputs["arn"]
	want := map[string]interface{}{
		workflows.DeployRoleVar:  deployRole,
		workflows.PreviewRoleVar: previewRole,
		"AWS_REGION":             "us-east-1",
		"ECR_REPOSITORY":         synth.AccountID + ".dkr.ecr.us-east-1.amazonaws.com/api-service",
		"ECS_CLUSTER":            "prod-cluster",
		"ECS_SERVICE":            "api-service",
		"SLIPWAY_STACK":          "prod",
		"PULUMI_BACKEND_URL":     "s3://example-org-slipway-state",
	}
	for k, w := range want {
		if values[k] != w {
			t.Errorf("variable %s = %v, want %v", k, values[k], w)
		}
	}
	imageRole := roleOfVariable(t, res, workflows.ImageRoleVar)
	if imageRole.Name == "deploy-role" || imageRole.Name == "preview-role" {
		t.Errorf("%s holds the %s's ARN, want the image role's own", workflows.ImageRoleVar, imageRole.Name)
	}
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

// The OIDC subject each role-assuming job emits is one its role trusts,
// and the deploy role trusts no other job's subject: the templates and the
// trust policies cannot drift apart.
func TestJobSubjectsMatchRoleTrust(t *testing.T) {
	for _, ids := range []map[string]string{nil, {"githubOwnerId": "111", "githubRepoId": "222"}} {
		res := synthProd(t, sha1, ids)
		cfg, params := prodParams(t)
		if ids != nil {
			cfg.GitHubOwnerID, cfg.GitHubRepoID = ids["githubOwnerId"], ids["githubRepoId"]
		}
		roles := map[string]policyDoc{
			"${{ vars." + workflows.DeployRoleVar + " }}":  trustPolicy(t, res, "deploy-role"),
			"${{ vars." + workflows.ImageRoleVar + " }}":   parsePolicy(t, roleOfVariable(t, res, workflows.ImageRoleVar), "assumeRolePolicy"),
			"${{ vars." + workflows.PreviewRoleVar + " }}": trustPolicy(t, res, "preview-role"),
		}
		deployTrust := roles["${{ vars."+workflows.DeployRoleVar+" }}"]
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
			for job, roleExpr := range assuming {
				trust, ok := roles[roleExpr]
				if !ok {
					t.Errorf("%s job %s assumes %s, not a role the program creates", f.Path, job, roleExpr)
					continue
				}
				for _, event := range triggers {
					sub, err := workflowcheck.JobSubject(f.Content, job, infra.SubjectPrefix(cfg), event, params.DefaultBranch)
					if err != nil {
						t.Fatalf("%s job %s on %s: %v", f.Path, job, event, err)
					}
					jobs++
					claims := map[string]string{
						"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
						"token.actions.githubusercontent.com:sub": sub,
					}
					if !assumes(t, trust, providerArn, claims) {
						t.Errorf("%s job %s on %s emits %q, which its role %s does not trust", f.Path, job, event, sub, roleExpr)
					}
					if roleExpr != "${{ vars."+workflows.DeployRoleVar+" }}" && assumes(t, deployTrust, providerArn, claims) {
						t.Errorf("%s job %s (not a deploy job) emits %q, which the deploy role trusts", f.Path, job, sub)
					}
				}
			}
		}
		if jobs < 5 {
			t.Errorf("checked %d job subjects, want at least 5 (image, deploy, rollback, preview, drift)", jobs)
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
