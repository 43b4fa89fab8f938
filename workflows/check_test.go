package workflows

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckPassesRendered(t *testing.T) {
	for _, set := range paramSets {
		for _, f := range mustRender(t, set.p) {
			for _, problem := range Check(f.Path, f.Content, set.p) {
				t.Errorf("%s: %s", set.name, problem)
			}
		}
	}
}

const (
	checkoutPin = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
	otherSHA    = "1111111111111111111111111111111111111111"
)

// Every rule can fail: each case mutates one rendered file and expects
// Check to name the problem.
func TestCheckReportsEachRule(t *testing.T) {
	p := paramSets[0].p
	rendered := map[string]string{}
	for _, f := range mustRender(t, p) {
		rendered[filepath.Base(f.Path)] = string(f.Content)
	}
	cases := []struct {
		name, file, old, new, want string
	}{
		{"pull_request_target", "ci.yml", "on:\n  pull_request:\n", "on:\n  pull_request_target:\n",
			"trigger pull_request_target is not allowed"},
		{"workflow_run", "drift.yml", "  workflow_dispatch:\n", "  workflow_run:\n    workflows: [CD]\n",
			"trigger workflow_run is not allowed"},
		{"tag instead of SHA", "ci.yml", checkoutPin, "actions/checkout@v7",
			"uses actions/checkout@v7: want owner/repo@<40-hex commit SHA>"},
		{"SHA not in the pin table", "cd.yml", checkoutPin, "actions/checkout@" + otherSHA + " # v7.0.1",
			"the pin table has actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"},
		{"wrong version comment", "drift.yml", "setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e # v7.0.0", "setup-go@b7ad1dad31e06c5925ef5d2fc7ad053ef454303e # v7",
			`want the line comment "# v7.0.0", got "# v7"`},
		{"action not pinned in the table", "ci.yml", "Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6 # v2.9.2", "evil/cache@" + otherSHA + " # v1",
			"action evil/cache is not in the pin table"},
		{"top-level permissions", "rollback.yml", "\npermissions: {}\n", "\npermissions: write-all\n",
			`top-level permissions: want {} (each job declares its own), got "write-all"`},
		{"id-token without a role", "ci.yml", "      contents: read\n    # The integration tests", "      contents: read\n      id-token: write\n    # The integration tests",
			"job test: permissions: id-token: write without a aws-actions/configure-aws-credentials step"},
		{"role without id-token", "drift.yml", "      id-token: write\n", "",
			"job drift: permissions: assumes an AWS role, so it needs id-token: write"},
		{"extra scope", "cd.yml", "      contents: read\n    # The integration tests", "      contents: read\n      packages: write\n    # The integration tests",
			"job test: permissions: packages: write is not needed"},
		{"contents write", "cd.yml", "      contents: read\n    # The integration tests", "      contents: write\n    # The integration tests",
			`job test: permissions: want contents: read, got "write"`},
		{"pull-requests write outside the preview", "rollback.yml", "      id-token: write\n", "      id-token: write\n      pull-requests: write\n",
			"job rollback: permissions: pull-requests: write is not needed"},
		{"event expression in run", "ci.yml", `--pr "$PR_NUMBER"`, `--pr "${{ github.event.pull_request.number }}"`,
			"job preview, step 6 (Preview): run: contains a ${{ }} expression"},
		{"input expression in run", "rollback.yml", `--to "$TARGET_SHA"`, `--to "${{ inputs.sha }}"`,
			"job rollback, step 7 (Roll back): run: contains a ${{ }} expression"},
		{"deploy without environment", "cd.yml", "timeout-minutes: 45\n    environment: production\n", "timeout-minutes: 45\n",
			`job deploy: assumes the deploy role, so it needs environment: production (the role trusts that subject only), got ""`},
		{"image with the preview role", "cd.yml", "role-to-assume: ${{ vars.SLIPWAY_DEPLOY_ROLE_ARN }}", "role-to-assume: ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}",
			"job image: role-to-assume: want ${{ vars.SLIPWAY_DEPLOY_ROLE_ARN }}"},
		{"drift with the deploy role", "drift.yml", "vars.SLIPWAY_PREVIEW_ROLE_ARN", "vars.SLIPWAY_DEPLOY_ROLE_ARN",
			"job drift: role-to-assume: want ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}"},
		{"unknown role", "rollback.yml", "vars.SLIPWAY_DEPLOY_ROLE_ARN", "vars.AWS_REGION",
			`job rollback: role-to-assume "${{ vars.AWS_REGION }}": want`},
		{"drift in an environment", "drift.yml", "    timeout-minutes: 30\n", "    timeout-minutes: 30\n    environment: production\n",
			`job drift: assumes the preview role, so it must have no environment`},
		{"drift calls up", "drift.yml", "./cmd/deploy drift", "./cmd/deploy up",
			"job drift: runs the deploy tool with up under the read-only preview role"},
		{"deploy cancels in progress", "cd.yml", "group: deploy-prod\n  cancel-in-progress: false", "group: deploy-prod\n  cancel-in-progress: true",
			`workflow concurrency: group "deploy-prod" needs cancel-in-progress: false, got "true"`},
		{"rollback in its own group", "rollback.yml", "group: deploy-prod", "group: rollback-prod",
			`concurrency group: want "deploy-prod"`},
		{"drift in the deploy group", "drift.yml", "group: drift-prod\n  cancel-in-progress: true", "group: deploy-prod\n  cancel-in-progress: false",
			`workflow concurrency: group "deploy-prod" belongs to [cd.yml rollback.yml] only`},
		{"persisted credentials", "cd.yml", "persist-credentials: false", "persist-credentials: true",
			"actions/checkout needs persist-credentials: false"},
		{"no timeout", "drift.yml", "    timeout-minutes: 30\n", "",
			"job drift: timeout-minutes: want a positive number of minutes, got nothing"},
		{"unknown variable", "ci.yml", "vars.AWS_REGION", "vars.AWS_DEFAULT_REGION",
			"variable vars.AWS_DEFAULT_REGION is not one of Variables()"},
		{"unknown secret", "cd.yml", "secrets.PULUMI_CONFIG_PASSPHRASE", "secrets.AWS_SECRET_ACCESS_KEY",
			"secret secrets.AWS_SECRET_ACCESS_KEY is not one of Secrets()"},
		{"no header", "drift.yml", "# Managed by slipway", "# Generated",
			"missing the header comment"},
		{"preview without the fork guard", "ci.yml", "if: github.event.pull_request.head.repo.full_name == github.repository && ", "if: ",
			"job preview: assumes a role on pull_request, so it needs if: github.event.pull_request.head.repo.full_name == github.repository"},
		{"role job renamed", "ci.yml", "\n  preview:\n", "\n  plan:\n",
			"job plan: assumes ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}: only [preview] may assume a role in this file"},
		{"two roles", "rollback.yml", "      - name: Roll back\n", "      - uses: aws-actions/configure-aws-credentials@e1253824e5c10ff9df46874f81ed3ec929e19cfd # v6.3.0\n        with:\n          role-to-assume: ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}\n          aws-region: ${{ vars.AWS_REGION }}\n      - name: Roll back\n",
			"job rollback: assumes two roles"},
		{"reusable workflow", "drift.yml", "  drift:\n", "  called:\n    uses: octo/wf/.github/workflows/x.yml@main\n  drift:\n",
			"job called: calls reusable workflow octo/wf/.github/workflows/x.yml@main: not allowed"},
		{"not YAML", "ci.yml", "jobs:\n", "jobs: [\n",
			"workflows: parse:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			content, ok := rendered[tc.file]
			if !ok || !strings.Contains(content, tc.old) {
				t.Fatalf("%s does not contain %q: update the mutation", tc.file, tc.old)
			}
			mutated := strings.Replace(content, tc.old, tc.new, 1)
			problems := Check(".github/workflows/"+tc.file, []byte(mutated), p)
			for _, got := range problems {
				if strings.Contains(got, tc.want) {
					return
				}
			}
			t.Errorf("Check(%s mutated) = %q\nwant a problem containing %q", tc.file, problems, tc.want)
		})
	}
}
