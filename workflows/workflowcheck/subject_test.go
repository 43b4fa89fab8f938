package workflowcheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/workflows"
)

const prefix = "repo:octo/api"

func TestJobsAssumingRole(t *testing.T) {
	deploy, image := roleExpr(workflows.DeployRoleVar), roleExpr(workflows.ImageRoleVar)
	preview := func(stack string) string { return roleExpr(workflows.StackVariable(workflows.PreviewRoleVar, stack)) }
	for _, set := range paramSets {
		want := map[string]map[string][]string{
			"cd.yml":       {"image": {image}},
			"ci.yml":       {"preview": nil},
			"drift.yml":    {},
			"rollback.yml": {"rollback": {deploy}},
		}
		for _, e := range set.p.Environments {
			want["cd.yml"][workflows.JobID(e.Stack)] = []string{deploy}
			want["ci.yml"]["preview"] = append(want["ci.yml"]["preview"], preview(e.Stack))
			want["drift.yml"][DriftJobID(e.Stack)] = []string{preview(e.Stack)}
		}
		for name, content := range renderedByName(t, set.p) {
			got, err := JobsAssumingRole(content)
			if err != nil {
				t.Fatalf("%s: JobsAssumingRole(%s): %v", set.name, name, err)
			}
			if diff := cmp.Diff(want[name], got); diff != "" {
				t.Errorf("%s: JobsAssumingRole(%s) (-want +got):\n%s", set.name, name, diff)
			}
		}
	}
}

func TestEvents(t *testing.T) {
	want := map[string][]string{
		"cd.yml":       {"push"},
		"ci.yml":       {"pull_request"},
		"drift.yml":    {"schedule", "workflow_dispatch"},
		"rollback.yml": {"workflow_dispatch"},
	}
	for name, content := range renderedByName(t, paramSets[0].p) {
		got, err := Events(content)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("Events(%s) = %v, want %v", name, got, want[name])
		}
	}
}

func TestJobSubject(t *testing.T) {
	files := renderedByName(t, paramSets[0].p)
	const (
		main = ":ref:refs/heads/main"
		pr   = ":ref:" + PullRequestRef
	)
	cases := []struct {
		file, job, event  string
		want, wantDefault string // with slipway's template, with GitHub's default one
		wantErr           string
	}{
		{file: "ci.yml", job: "preview", event: "pull_request", want: prefix + ":pull_request" + pr, wantDefault: prefix + ":pull_request"},
		{file: "ci.yml", job: "test", event: "pull_request", want: prefix + ":pull_request" + pr, wantDefault: prefix + ":pull_request"},
		{file: "cd.yml", job: "image", event: "push", want: prefix + ":environment:" + workflows.ImageEnvironment + main, wantDefault: prefix + ":environment:" + workflows.ImageEnvironment},
		{file: "cd.yml", job: "deploy-staging", event: "push", want: prefix + ":environment:staging" + main, wantDefault: prefix + ":environment:staging"},
		{file: "cd.yml", job: "deploy-prod", event: "push", want: prefix + ":environment:production" + main, wantDefault: prefix + ":environment:production"},
		{file: "cd.yml", job: "test", event: "push", want: prefix + main + main, wantDefault: prefix + main},
		{file: "drift.yml", job: "drift-prod", event: "schedule", want: prefix + main + main, wantDefault: prefix + main},
		{file: "drift.yml", job: "drift-staging", event: "workflow_dispatch", want: prefix + main + main, wantDefault: prefix + main},
		{file: "ci.yml", job: "nope", event: "pull_request", wantErr: `no job "nope" (jobs: [preview test])`},
		{file: "cd.yml", job: "deploy-prod", event: "pull_request", wantErr: `event "pull_request" does not trigger this workflow (on: [push])`},
		{file: "rollback.yml", job: "rollback", event: "workflow_dispatch", wantErr: `environment "${{ inputs.environment }}" is an expression, not one subject`},
	}
	for _, tc := range cases {
		for _, f := range []struct {
			name    string
			subject func(content []byte, job, repoPrefix, event, defaultBranch string) (string, error)
			want    string
		}{{"JobSubject", JobSubject, tc.want}, {"DefaultJobSubject", DefaultJobSubject, tc.wantDefault}} {
			got, err := f.subject(files[tc.file], tc.job, prefix, tc.event, "main")
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("%s(%s, %s, %s) = %q, %v; want error containing %q", f.name, tc.file, tc.job, tc.event, got, err, tc.wantErr)
			case tc.wantErr == "" && (err != nil || got != f.want):
				t.Errorf("%s(%s, %s, %s) = %q, %v; want %q", f.name, tc.file, tc.job, tc.event, got, err, f.want)
			}
		}
	}
}

func TestJobSubjectUndetermined(t *testing.T) {
	cases := []struct{ name, workflow, event, want, wantDefault string }{
		{"push to every branch", "on: push\njobs:\n  j:\n    steps: []\n", "push", `push runs on branches [], not only "main"`, `push runs on branches [], not only "main"`},
		{"push to two branches", "on:\n  push:\n    branches: [main, dev]\njobs:\n  j:\n    steps: []\n", "push", `push runs on branches [main dev]`, `push runs on branches [main dev]`},
		{"environment expression", "on: push\njobs:\n  j:\n    environment: ${{ inputs.env }}\n", "push", "is an expression", "is an expression"},
		// GitHub's default subject of an environment job carries no ref;
		// slipway's names the branch, which a push to every branch leaves open.
		{"environment on every branch", "on: [push]\njobs:\n  j:\n    environment:\n      name: staging\n", "push", `push runs on branches [], not only "main"`, ""},
		{"no subject rule", "on: release\njobs:\n  j:\n    steps: []\n", "release", `no subject rule for event "release"`, `no subject rule for event "release"`},
	}
	for _, tc := range cases {
		got, err := JobSubject([]byte(tc.workflow), "j", prefix, tc.event, "main")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: JobSubject = %q, %v; want an error containing %q", tc.name, got, err, tc.want)
		}
		got, err = DefaultJobSubject([]byte(tc.workflow), "j", prefix, tc.event, "main")
		if tc.wantDefault == "" {
			if err != nil || got != prefix+":environment:staging" {
				t.Errorf("%s: DefaultJobSubject = %q, %v; want %q", tc.name, got, err, prefix+":environment:staging")
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantDefault) {
			t.Errorf("%s: DefaultJobSubject = %q, %v; want an error containing %q", tc.name, got, err, tc.wantDefault)
		}
	}
}

// The subjects that the roles' trust policies admit (see infra/identity.go),
// for either template: every job assuming a role emits, for every event of
// its workflow and every environment it can run in, a subject its role
// trusts. The deploy role is each environment's own (its variable lives on
// that GitHub environment): a job in environment E must emit E's subject.
func TestRoleJobsEmitTrustedSubjects(t *testing.T) {
	for _, set := range paramSets {
		p := set.p
		main := ":ref:refs/heads/" + p.DefaultBranch
		for _, tmpl := range []struct {
			name    string
			subject func(content []byte, job, repoPrefix, event, defaultBranch string) ([]string, error)
			ref     string // what the template adds after the context on main
			pr      []string
		}{
			{"slipway's template", JobSubjects, main, []string{prefix + ":pull_request:ref:" + PullRequestRef, prefix + main + main}},
			{"GitHub's default template", DefaultJobSubjects, "", []string{prefix + ":pull_request", prefix + main}},
		} {
			trusted := map[string][]string{
				roleExpr(workflows.ImageRoleVar): {prefix + ":environment:" + workflows.ImageEnvironment + tmpl.ref},
			}
			for _, e := range p.Environments {
				trusted[roleExpr(workflows.DeployRoleVar)] = append(trusted[roleExpr(workflows.DeployRoleVar)], prefix+":environment:"+e.GitHubEnvironment+tmpl.ref)
				trusted[roleExpr(workflows.StackVariable(workflows.PreviewRoleVar, e.Stack))] = tmpl.pr
			}
			for name, content := range renderedByName(t, p) {
				roles, err := JobsAssumingRole(content)
				if err != nil {
					t.Fatal(err)
				}
				events, err := Events(content)
				if err != nil {
					t.Fatal(err)
				}
				for job, jobRoles := range roles {
					for _, role := range jobRoles {
						for _, event := range events {
							subs, err := tmpl.subject(content, job, prefix, event, p.DefaultBranch)
							if err != nil {
								t.Errorf("%s, %s: %s job %s on %s: %v", set.name, tmpl.name, name, job, event, err)
							}
							for _, sub := range subs {
								if !slices.Contains(trusted[role], sub) {
									t.Errorf("%s, %s: %s job %s on %s emits %s; %s trusts only %v", set.name, tmpl.name, name, job, event, sub, role, trusted[role])
								}
							}
						}
					}
				}
			}
		}
	}
}

// The rollback job can run in every environment of the chain, and only
// those: one subject per choice.
func TestRollbackSubjects(t *testing.T) {
	for _, set := range paramSets {
		got, err := JobSubjects(renderedByName(t, set.p)["rollback.yml"], "rollback", prefix, "workflow_dispatch", "main")
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range set.p.Environments {
			want = append(want, prefix+":environment:"+e.GitHubEnvironment+":ref:refs/heads/main")
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: rollback subjects %v, want %v", set.name, got, want)
		}
	}
}

// Variables(p) is exactly the names the files read, and Secrets() the
// secrets, so the program creates nothing unused and nothing is missing.
func TestVariablesAndSecretsMatchTemplates(t *testing.T) {
	secrets := map[string]bool{}
	for _, set := range paramSets {
		vars := map[string]bool{}
		for _, content := range renderedByName(t, set.p) {
			for _, e := range expressionRE.FindAllSubmatch(content, -1) {
				for _, m := range varRE.FindAllSubmatch(e[1], -1) {
					vars[string(m[1])] = true
				}
				for _, m := range secretRE.FindAllSubmatch(e[1], -1) {
					secrets[string(m[1])] = true
				}
			}
		}
		if diff := cmp.Diff(workflows.Variables(set.p), sortedKeys(vars)); diff != "" {
			t.Errorf("%s: Variables() vs vars.* in the files (-Variables +files):\n%s", set.name, diff)
		}
	}
	if diff := cmp.Diff(workflows.Secrets(), sortedKeys(secrets)); diff != "" {
		t.Errorf("Secrets() vs secrets.* in the files (-Secrets +files):\n%s", diff)
	}
	for _, names := range [][]string{workflows.DeployVariables(), workflows.ImageVariables(), workflows.StackVariables(), workflows.Secrets()} {
		if !slices.IsSorted(names) {
			t.Errorf("%v must be sorted", names)
		}
	}
}
