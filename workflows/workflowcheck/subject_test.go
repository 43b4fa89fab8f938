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
	deploy, preview, image := roleExpr(workflows.DeployRoleVar), roleExpr(workflows.PreviewRoleVar), roleExpr(workflows.ImageRoleVar)
	want := map[string]map[string]string{
		"cd.yml":       {"image": image, "deploy": deploy},
		"ci.yml":       {"preview": preview},
		"drift.yml":    {"drift": preview},
		"rollback.yml": {"rollback": deploy},
	}
	for _, set := range paramSets {
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
		{file: "cd.yml", job: "deploy", event: "push", want: prefix + ":environment:production" + main, wantDefault: prefix + ":environment:production"},
		{file: "cd.yml", job: "test", event: "push", want: prefix + main + main, wantDefault: prefix + main},
		{file: "rollback.yml", job: "rollback", event: "workflow_dispatch", want: prefix + ":environment:production" + main, wantDefault: prefix + ":environment:production"},
		{file: "drift.yml", job: "drift", event: "schedule", want: prefix + main + main, wantDefault: prefix + main},
		{file: "drift.yml", job: "drift", event: "workflow_dispatch", want: prefix + main + main, wantDefault: prefix + main},
		{file: "ci.yml", job: "nope", event: "pull_request", wantErr: `no job "nope" (jobs: [preview test])`},
		{file: "cd.yml", job: "deploy", event: "pull_request", wantErr: `event "pull_request" does not trigger this workflow (on: [push])`},
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
// its workflow, a subject its role trusts.
func TestRoleJobsEmitTrustedSubjects(t *testing.T) {
	for _, set := range paramSets {
		p := set.p
		main := ":ref:refs/heads/" + p.DefaultBranch
		for _, tmpl := range []struct {
			name    string
			subject func(content []byte, job, repoPrefix, event, defaultBranch string) (string, error)
			trusted map[string][]string
		}{
			{"slipway's template", JobSubject, map[string][]string{
				roleExpr(workflows.DeployRoleVar):  {prefix + ":environment:" + p.DeployEnvironment + main},
				roleExpr(workflows.ImageRoleVar):   {prefix + ":environment:" + workflows.ImageEnvironment + main},
				roleExpr(workflows.PreviewRoleVar): {prefix + ":pull_request:ref:" + PullRequestRef, prefix + main + main},
			}},
			{"GitHub's default template", DefaultJobSubject, map[string][]string{
				roleExpr(workflows.DeployRoleVar):  {prefix + ":environment:" + p.DeployEnvironment},
				roleExpr(workflows.ImageRoleVar):   {prefix + ":environment:" + workflows.ImageEnvironment},
				roleExpr(workflows.PreviewRoleVar): {prefix + ":pull_request", prefix + main},
			}},
		} {
			for name, content := range renderedByName(t, p) {
				roles, err := JobsAssumingRole(content)
				if err != nil {
					t.Fatal(err)
				}
				events, err := Events(content)
				if err != nil {
					t.Fatal(err)
				}
				for job, role := range roles {
					for _, event := range events {
						sub, err := tmpl.subject(content, job, prefix, event, p.DefaultBranch)
						if err != nil {
							t.Errorf("%s, %s: %s job %s on %s: %v", set.name, tmpl.name, name, job, event, err)
						} else if !slices.Contains(tmpl.trusted[role], sub) {
							t.Errorf("%s, %s: %s job %s on %s emits %s; %s trusts only %v", set.name, tmpl.name, name, job, event, sub, role, tmpl.trusted[role])
						}
					}
				}
			}
		}
	}
}

// Variables() and Secrets() are exactly the names the files read, so the
// program creates nothing unused and nothing is missing.
func TestVariablesAndSecretsMatchTemplates(t *testing.T) {
	vars, secrets := map[string]bool{}, map[string]bool{}
	for _, set := range paramSets {
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
	}
	if diff := cmp.Diff(workflows.Variables(), sortedKeys(vars)); diff != "" {
		t.Errorf("Variables() vs vars.* in the files (-Variables +files):\n%s", diff)
	}
	if diff := cmp.Diff(workflows.Secrets(), sortedKeys(secrets)); diff != "" {
		t.Errorf("Secrets() vs secrets.* in the files (-Secrets +files):\n%s", diff)
	}
	if !slices.IsSorted(workflows.Variables()) || !slices.IsSorted(workflows.Secrets()) {
		t.Errorf("Variables() and Secrets() must be sorted: %v %v", workflows.Variables(), workflows.Secrets())
	}
}
