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
	deploy, preview := roleExpr(workflows.DeployRoleVar), roleExpr(workflows.PreviewRoleVar)
	want := map[string]map[string]string{
		"cd.yml":       {"image": deploy, "deploy": deploy},
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
	cases := []struct {
		file, job, event, want, wantErr string
	}{
		{file: "ci.yml", job: "preview", event: "pull_request", want: prefix + ":pull_request"},
		{file: "ci.yml", job: "test", event: "pull_request", want: prefix + ":pull_request"},
		{file: "cd.yml", job: "image", event: "push", want: prefix + ":environment:production"},
		{file: "cd.yml", job: "deploy", event: "push", want: prefix + ":environment:production"},
		{file: "cd.yml", job: "test", event: "push", want: prefix + ":ref:refs/heads/main"},
		{file: "rollback.yml", job: "rollback", event: "workflow_dispatch", want: prefix + ":environment:production"},
		{file: "drift.yml", job: "drift", event: "schedule", want: prefix + ":ref:refs/heads/main"},
		{file: "drift.yml", job: "drift", event: "workflow_dispatch", want: prefix + ":ref:refs/heads/main"},
		{file: "ci.yml", job: "nope", event: "pull_request", wantErr: `no job "nope" (jobs: [preview test])`},
		{file: "cd.yml", job: "deploy", event: "pull_request", wantErr: `event "pull_request" does not trigger this workflow (on: [push])`},
	}
	for _, tc := range cases {
		got, err := JobSubject(files[tc.file], tc.job, prefix, tc.event, "main")
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("JobSubject(%s, %s, %s) = %q, %v; want error containing %q", tc.file, tc.job, tc.event, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("JobSubject(%s, %s, %s) = %q, %v; want %q", tc.file, tc.job, tc.event, got, err, tc.want)
		}
	}
}

func TestJobSubjectUndetermined(t *testing.T) {
	cases := []struct{ name, workflow, event, want string }{
		{"push to every branch", "on: push\njobs:\n  j:\n    steps: []\n", "push", `push runs on branches [], not only "main"`},
		{"push to two branches", "on:\n  push:\n    branches: [main, dev]\njobs:\n  j:\n    steps: []\n", "push", `push runs on branches [main dev]`},
		{"environment expression", "on: push\njobs:\n  j:\n    environment: ${{ inputs.env }}\n", "push", "is an expression"},
		{"environment mapping", "on: [push]\njobs:\n  j:\n    environment:\n      name: staging\n", "push", ""},
		{"no subject rule", "on: release\njobs:\n  j:\n    steps: []\n", "release", `no subject rule for event "release"`},
	}
	for _, tc := range cases {
		got, err := JobSubject([]byte(tc.workflow), "j", prefix, tc.event, "main")
		if tc.want == "" {
			if err != nil || got != prefix+":environment:staging" {
				t.Errorf("%s: JobSubject = %q, %v; want %q", tc.name, got, err, prefix+":environment:staging")
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: JobSubject = %q, %v; want an error containing %q", tc.name, got, err, tc.want)
		}
	}
}

// The subjects that the roles' trust policies admit (see infra/identity.go):
// every job assuming a role emits, for every event of its workflow, a
// subject its role trusts.
func TestRoleJobsEmitTrustedSubjects(t *testing.T) {
	for _, set := range paramSets {
		p := set.p
		trusted := map[string][]string{
			roleExpr(workflows.DeployRoleVar):  {prefix + ":environment:" + p.DeployEnvironment},
			roleExpr(workflows.PreviewRoleVar): {prefix + ":pull_request", prefix + ":ref:refs/heads/" + p.DefaultBranch},
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
			for job, role := range roles {
				for _, event := range events {
					sub, err := JobSubject(content, job, prefix, event, p.DefaultBranch)
					if err != nil {
						t.Errorf("%s: %s job %s on %s: %v", set.name, name, job, event, err)
					} else if !slices.Contains(trusted[role], sub) {
						t.Errorf("%s: %s job %s on %s emits %s; %s trusts only %v", set.name, name, job, event, sub, role, trusted[role])
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
