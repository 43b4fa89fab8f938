package workflowcheck

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/workflows"
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
	checkoutPin  = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
	otherSHA     = "1111111111111111111111111111111111111111"
	runTool      = `exec "$RUNNER_TEMP/slipway"`
	readToken    = "GITHUB_TOKEN: ${{ secrets.SLIPWAY_GITHUB_READ_TOKEN }}"
	gateStep     = "      - name: Check the workflow files\n        working-directory: .slipway\n        run: |\n          " + `exec "$RUNNER_TEMP/slipway" workflows --check --stack prod --repo-dir "$GITHUB_WORKSPACE"` + "\n"
	rustCachePin = "Swatinem/rust-cache@6323deb102c322ba6fcbdcafc7e3dddab59af2b6 # v2.9.2"
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
		{"action not pinned in the table", "ci.yml", rustCachePin, "evil/cache@" + otherSHA + " # v1",
			"action evil/cache is not in the pin table"},
		{"top-level permissions", "rollback.yml", "\npermissions: {}\n", "\npermissions: write-all\n",
			`top-level permissions: want {} (each job declares its own), got "write-all"`},
		{"id-token without a role", "ci.yml", "      contents: read\n    # The integration tests", "      contents: read\n      id-token: write\n    # The integration tests",
			"job test: permissions: id-token: write without a aws-actions/configure-aws-credentials step"},
		{"role without id-token", "drift.yml", "      id-token: write\n", "",
			"job drift-staging: permissions: assumes an AWS role, so it needs id-token: write"},
		{"extra scope", "cd.yml", "      contents: read\n    # The integration tests", "      contents: read\n      packages: write\n    # The integration tests",
			"job test: permissions: packages: write is not needed"},
		{"contents write", "cd.yml", "      contents: read\n    # The integration tests", "      contents: write\n    # The integration tests",
			`job test: permissions: want contents: read, got "write"`},
		{"pull-requests write outside the preview", "rollback.yml", "      id-token: write\n", "      id-token: write\n      pull-requests: write\n",
			"job rollback: permissions: pull-requests: write is not needed"},
		{"event expression in run", "ci.yml", `--pr "$PR_NUMBER"`, `--pr "${{ github.event.pull_request.number }}"`,
			"job preview, step 8 (Preview staging): run: contains a ${{ }} expression"},
		{"input expression in run", "rollback.yml", `--to "$TARGET_SHA"`, `--to "${{ inputs.sha }}"`,
			"job rollback, step 10 (Roll back): run: contains a ${{ }} expression"},
		{"deploy without environment", "cd.yml", "    environment:\n      name: production\n      url: ${{ steps.deploy.outputs.service-url }}\n", "",
			`job deploy-prod: assumes the deploy role of its environment's stack, so it needs environment: production (the role trusts that subject only), got ""`},
		{"image with the preview role", "cd.yml", "role-to-assume: ${{ vars.SLIPWAY_IMAGE_ROLE_ARN }}", "role-to-assume: ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}",
			"job image: role-to-assume: want ${{ vars.SLIPWAY_IMAGE_ROLE_ARN }}"},
		{"image with the deploy role", "cd.yml", "role-to-assume: ${{ vars.SLIPWAY_IMAGE_ROLE_ARN }}", "role-to-assume: ${{ vars.SLIPWAY_DEPLOY_ROLE_ARN }}",
			"job image: role-to-assume: want ${{ vars.SLIPWAY_IMAGE_ROLE_ARN }}"},
		{"image in the deploy environment", "cd.yml", "environment: image-push\n", "environment: production\n",
			`job image: assumes the image role, so it needs environment: image-push (the role trusts that subject only), got "production"`},
		{"image without environment", "cd.yml", "    environment: image-push\n", "",
			`job image: assumes the image role, so it needs environment: image-push`},
		{"image job runs up", "cd.yml", runTool + " workflows --check", runTool + " up --check",
			`job image: runs the deploy tool with "up" under the image role: only [workflows]`},
		{"deploy job builds an image", "cd.yml", "      - name: Deploy\n", "      - run: docker build -t x .\n      - name: Deploy\n",
			"job deploy-staging, step 9 (): builds or pushes an image with ${{ vars.SLIPWAY_DEPLOY_ROLE_ARN }}: only the image job does, with the image role"},
		{"rollback pushes with build-push-action", "rollback.yml", "      - name: Roll back\n", "      - uses: docker/build-push-action@" + otherSHA + " # v7\n      - name: Roll back\n",
			"job rollback, step 10 (): builds or pushes an image with ${{ vars.SLIPWAY_DEPLOY_ROLE_ARN }}"},
		{"preview pushes an image", "ci.yml", "      - name: Preview staging\n", "      - run: docker image push x\n      - name: Preview staging\n",
			"job preview, step 8 (): builds or pushes an image with ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}"},
		{"drift with the deploy role", "drift.yml", "vars.SLIPWAY_PREVIEW_ROLE_ARN_STAGING", "vars.SLIPWAY_DEPLOY_ROLE_ARN",
			"job drift-staging: role-to-assume: want ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}"},
		{"preview with the deploy role", "ci.yml", "vars.SLIPWAY_PREVIEW_ROLE_ARN_PROD", "vars.SLIPWAY_DEPLOY_ROLE_ARN",
			"job preview: assumes two kinds of role"},
		{"unknown role", "rollback.yml", "vars.SLIPWAY_DEPLOY_ROLE_ARN", "vars.AWS_REGION",
			`job rollback: role-to-assume "${{ vars.AWS_REGION }}": want`},
		{"drift in an environment", "drift.yml", "    timeout-minutes: 30\n", "    timeout-minutes: 30\n    environment: production\n",
			`job drift-staging: assumes the preview role, so it must have no environment`},
		{"drift calls up", "drift.yml", runTool + " drift", runTool + " up",
			`job drift-staging: runs the deploy tool with "up" under the read-only preview role`},
		{"preview calls up with go run", "ci.yml", runTool + " preview", "go run ./cmd/deploy up",
			`job preview: runs the deploy tool with "up" under the read-only preview role`},
		{"preview verb not written out", "ci.yml", runTool + " preview", runTool + ` "$VERB"`,
			`job preview: runs the deploy tool with "$VERB" under the read-only preview role`},

		// The tool runs as the binary the tool setup built, in ToolPath.
		{"deploy with go run", "cd.yml", runTool + " up", "go run ./cmd/deploy up",
			"job deploy-staging, step 9 (Deploy): runs the deploy tool with go run: build it once in the tool setup (go build -trimpath -o \"$RUNNER_TEMP/slipway\" ./cmd/deploy)"},
		{"drift with go run", "drift.yml", runTool + " drift", "go run ./cmd/deploy drift",
			"job drift-staging, step 8 (Check for drift): runs the deploy tool with go run"},
		{"tool outside ToolPath", "drift.yml", "        working-directory: .slipway\n        env:\n          PULUMI_BACKEND_URL", "        env:\n          PULUMI_BACKEND_URL",
			`job drift-staging, step 8 (Check for drift): runs the deploy tool in ".": want working-directory: .slipway (the tool finds Pulumi.yaml in its working directory)`},
		{"tool in a ToolPath subfolder", "rollback.yml", "        working-directory: .slipway\n        env:\n          PULUMI_BACKEND_URL", "        working-directory: .slipway/cmd\n        env:\n          PULUMI_BACKEND_URL",
			`job rollback, step 10 (Roll back): runs the deploy tool in ".slipway/cmd": want working-directory: .slipway`},

		// The tool is exec'd, as the step's last command, so a cancel reaches it.
		{"deploy without exec", "cd.yml", runTool + " up", `"$RUNNER_TEMP/slipway" up`,
			`job deploy-staging, step 9 (Deploy): runs the deploy tool without exec as the script's last command`},
		{"rollback run, then a command", "rollback.yml", `"${to[@]}"` + "\n", `"${to[@]}"` + "\n          echo done\n",
			`job rollback, step 10 (Roll back): runs the deploy tool without exec as the script's last command`},
		{"exec in a pipeline", "cd.yml", `--commit-time "$COMMIT_TIME"}` + "\n", `--commit-time "$COMMIT_TIME"} | tee log` + "\n",
			`job deploy-staging, step 9 (Deploy): runs the deploy tool without exec as the script's last command`},
		{"exec in the background", "drift.yml", "drift --stack staging\n", "drift --stack staging &\n",
			`runs the deploy tool without exec as the script's last command`},
		{"two calls in a step", "ci.yml", runTool + " preview", `"$RUNNER_TEMP/slipway" drift --stack prod` + "\n          " + runTool + " preview",
			`job preview, step 8 (Preview staging): runs the deploy tool 2 times`},

		// Jobs that can assume a role restore no build cache and build the tool only.
		{"setup-go caching in the tool job", "cd.yml", "          cache: false\n", "",
			"job tool, step 2 (Set up Go): the job builds the deploy tool the jobs that assume a role run, so actions/setup-go needs cache: false (it would restore a build cache that any run can write and Go trusts as it is), got nothing"},
		{"setup-go caching in a preview-role job", "drift.yml", "cache: false", "cache: true",
			`job drift-staging, step 4 (Set up Go): the job can assume a role, so actions/setup-go needs cache: false`},
		{"rust-cache in a role job", "rollback.yml", "      - name: Build the deploy tool\n", "      - uses: " + rustCachePin + "\n      - name: Build the deploy tool\n",
			"job rollback, step 6 (): the job can assume a role, so it restores no build cache: Swatinem/rust-cache restores build outputs"},
		{"the Go build cache restored", "ci.yml", "      - name: Build the deploy tool\n", "      - uses: actions/cache@" + otherSHA + " # v5\n        with:\n          path: |\n            ~/go/pkg/mod\n            ~/.cache/go-build\n          key: go\n      - name: Build the deploy tool\n",
			"job preview, step 5 (): the job can assume a role, so actions/cache may restore the Go module cache only (path: ~/go/pkg/mod), got path"},
		{"module cache without go mod verify", "cd.yml", "      - name: Build the deploy tool\n", "      - uses: actions/cache/restore@" + otherSHA + " # v5\n        with:\n          path: ~/go/pkg/mod\n          key: go\n      - name: Build the deploy tool\n",
			"job tool, step 4 (Build the deploy tool): builds from the module cache step 3 restored, with no go mod verify (in .slipway, GOWORK \"off\") between them"},
		{"module cache verified elsewhere", "cd.yml", "      - name: Build the deploy tool\n", "      - uses: actions/cache/restore@" + otherSHA + " # v5\n        with:\n          path: ~/go/pkg/mod\n          key: go\n      - run: go mod verify\n      - name: Build the deploy tool\n",
			"job tool, step 5 (Build the deploy tool): builds from the module cache step 3 restored, with no go mod verify"},
		{"build without -trimpath", "rollback.yml", "go build -trimpath -o", "go build -o",
			`job rollback, step 6 (Build the deploy tool): the job can assume a role, so it builds the deploy tool only, with -trimpath: want run: go build -trimpath -o "$RUNNER_TEMP/slipway" ./cmd/deploy, got "go build -o \"$RUNNER_TEMP/slipway\" ./cmd/deploy"`},
		{"build of more than the tool", "drift.yml", `-o "$RUNNER_TEMP/slipway" ./cmd/deploy`, `-o "$RUNNER_TEMP/slipway" ./cmd/deploy && go install ./...`,
			"job drift-staging, step 5 (Build the deploy tool): the job can assume a role, so it builds the deploy tool only, with -trimpath"},

		// CD and rollback jobs check the workflow files before they assume a role.
		{"rollback without the gate", "rollback.yml", gateStep, "",
			"job rollback: assumes a role without the workflow-integrity gate first: want a step with run: " + gateCmd(p) + " before the aws-actions/configure-aws-credentials step"},
		{"gate without --repo-dir", "cd.yml", ` --repo-dir "$GITHUB_WORKSPACE"`, "",
			"job image: assumes a role without the workflow-integrity gate first"},
		{"gate skipped", "cd.yml", "      - name: Check the workflow files\n", "      - name: Check the workflow files\n        if: github.actor == 'me'\n",
			"job image, step 6 (Check the workflow files): the workflow-integrity gate has if: github.actor == 'me': it must always run"},
		{"gate ignored", "rollback.yml", "      - name: Check the workflow files\n", "      - name: Check the workflow files\n        continue-on-error: true\n",
			`job rollback, step 8 (Check the workflow files): the workflow-integrity gate has continue-on-error: "true": its failure must stop the job`},

		// The image push: one platform, no attestations, skipped when the
		// tag exists, the layer cache in the cache repository only; the
		// deploy waits for the tests and the image.
		{"image with provenance", "cd.yml", "          provenance: false\n", "",
			`job image, step 11 (Build and push the image): needs provenance: false and sbom: false, got "" and "false"`},
		{"image with an SBOM", "cd.yml", "sbom: false", "sbom: true",
			`needs provenance: false and sbom: false, got "false" and "true"`},
		{"image for two platforms", "cd.yml", "platforms: linux/amd64", "platforms: linux/amd64,linux/arm64",
			"job image, step 11 (Build and push the image): needs exactly one platform, got [linux/amd64 linux/arm64]"},
		{"image push every run", "cd.yml", "      - name: Build and push the image\n        if: steps.image.outputs.exists == 'false'\n", "      - name: Build and push the image\n",
			"job image, step 11 (Build and push the image): pushes an image on every run"},
		{"image not pushed", "cd.yml", "          push: true\n", "",
			`docker/build-push-action needs push: true, got ""`},
		{"image tagged in the cache repository", "cd.yml", "tags: ${{ vars.ECR_REPOSITORY }}:", "tags: ${{ vars.ECR_CACHE_REPOSITORY }}:",
			"tag \"${{ vars.ECR_CACHE_REPOSITORY }}:${{ github.sha }}\": want ${{ vars.ECR_REPOSITORY }}:<sha>"},
		{"cache in the service's repository", "cd.yml", "cache-to: type=registry,ref=${{ vars.ECR_CACHE_REPOSITORY }}", "cache-to: type=registry,ref=${{ vars.ECR_REPOSITORY }}",
			"cache-to \"type=registry,ref=${{ vars.ECR_REPOSITORY }}:buildcache,mode=max,image-manifest=true,oci-mediatypes=true\": want type=registry,ref=${{ vars.ECR_CACHE_REPOSITORY }}:<tag>"},
		{"cache from the Actions cache", "cd.yml", "cache-from: type=registry,ref=${{ vars.ECR_CACHE_REPOSITORY }}:buildcache", "cache-from: type=gha",
			`cache-from "type=gha": want type=registry,ref=${{ vars.ECR_CACHE_REPOSITORY }}:<tag>`},
		{"cache in Docker's format", "cd.yml", ",image-manifest=true,oci-mediatypes=true", "",
			"ECR needs image-manifest=true,oci-mediatypes=true (moby/buildkit #3776, #876)"},
		{"deploy before the tests", "cd.yml", "needs: [test, tool, image]", "needs: image",
			"job deploy-staging: needs [image], want [test image]: it must wait for the tests, the image and the environment before it"},
		{"deploy without needs", "cd.yml", "    needs: [test, tool, image]\n", "",
			"job deploy-staging: needs [], want [test image]"},

		// Pinned service containers and toolchain; Cargo.lock decides.
		{"service on latest", "ci.yml", "softwaremill/elasticmq:1.7.1", "softwaremill/elasticmq:latest",
			`job test: service elasticmq: image "softwaremill/elasticmq:latest": want a version tag`},
		{"service without a tag", "cd.yml", "amazon/dynamodb-local:3.3.1@sha256:ff89bd48ff32cd8d9be5fee8873b65b8854dc408f1afe881be6eb00247bc0dab", "amazon/dynamodb-local",
			`job test: service dynamodb: image "amazon/dynamodb-local": want a version tag`},
		{"service with a short digest", "ci.yml", "@sha256:ff89bd48ff32cd8d9be5fee8873b65b8854dc408f1afe881be6eb00247bc0dab", "@sha256:ff89bd48",
			`service dynamodb: image "amazon/dynamodb-local:3.3.1@sha256:ff89bd48": want a version tag`},
		{"stable toolchain", "ci.yml", `toolchain: "1.95.0"`, "toolchain: stable",
			`job test, step 2 (Install Rust): dtolnay/rust-toolchain: want toolchain: "1.95.0" (Params.RustToolchain), got "stable"`},
		{"clippy without --locked", "ci.yml", "cargo clippy --locked", "cargo clippy",
			`job test, step 5 (Lint): "cargo clippy --all-targets -- -D warnings": want --locked`},
		{"test without --locked", "cd.yml", "cargo test --locked --workspace", "cargo test --workspace",
			`job test, step 6 (Test): "cargo test --workspace": want --locked`},
		{"build with --locked-ish flag", "ci.yml", "cargo build --release --locked", "cargo build --release --locked-not",
			`job test, step 7 (Build): "cargo build --release --locked-not": want --locked`},

		// The tool is built from its own go.mod only.
		{"build without GOWORK=off", "cd.yml", "          GOWORK: \"off\"\n", "",
			`job tool, step 3 (Build the deploy tool): builds the deploy tool, so it needs env GOWORK: "off"`},
		{"build with GOWORK=on", "drift.yml", "GOWORK: \"off\"", "GOWORK: ../go.work",
			`builds the deploy tool, so it needs env GOWORK: "off" (a go.work in the application repository, above the tool's checkout, would decide its dependencies), got "../go.work"`},
		{"build without -mod=readonly", "rollback.yml", "          GOFLAGS: -mod=readonly\n", "",
			`builds the deploy tool, so it needs env GOFLAGS: -mod=readonly`},

		// Drift refreshes the stack's GitHub resources with the read token.
		{"drift with github.token", "drift.yml", readToken, "GITHUB_TOKEN: ${{ github.token }}",
			`job drift-staging, step 8 (Check for drift): runs drift, so it needs env GITHUB_TOKEN: ${{ secrets.SLIPWAY_GITHUB_READ_TOKEN }} (a fine-grained read-only token: the refresh reads the stack's GitHub resources, and github.token cannot read Actions variables), got "${{ github.token }}"`},
		{"drift without GITHUB_TOKEN", "drift.yml", "          " + readToken + "\n", "",
			`runs drift, so it needs env GITHUB_TOKEN: ${{ secrets.SLIPWAY_GITHUB_READ_TOKEN }}`},
		{"drift falls back to github.token", "drift.yml", readToken, "GITHUB_TOKEN: ${{ secrets.SLIPWAY_GITHUB_READ_TOKEN || github.token }}",
			`got "${{ secrets.SLIPWAY_GITHUB_READ_TOKEN || github.token }}"`},
		{"drift with another secret", "drift.yml", readToken, "GITHUB_TOKEN: ${{ secrets.SLIPWAY_REPO_TOKEN }}",
			`got "${{ secrets.SLIPWAY_REPO_TOKEN }}"`},

		// Deploy-role jobs that run the tool: time and session for a slow deploy.
		{"deploy with too short a timeout", "cd.yml", "timeout-minutes: 75\n", "timeout-minutes: 45\n",
			"job deploy-staging: runs the deploy tool with the deploy role and --deadline 60m, so it needs timeout-minutes of at least 75 (the deadline plus 15 minutes of setup), got 45"},
		{"rollback just under", "rollback.yml", "timeout-minutes: 75\n", "timeout-minutes: 74\n",
			"job rollback: runs the deploy tool with the deploy role and --deadline 60m, so it needs timeout-minutes of at least 75"},
		{"deploy with a longer deadline than the job allows", "cd.yml", "--deadline 60m", "--deadline 70m",
			"job deploy-staging: runs the deploy tool with the deploy role and --deadline 70m, so it needs timeout-minutes of at least 85"},
		{"deploy without a deadline", "cd.yml", " --deadline 60m", "",
			"job deploy-staging, step 9 (Deploy): runs deploy up without --deadline 60m: the tool must know how long it may run"},
		{"rollback outlasts the session", "rollback.yml", "timeout-minutes: 75\n", "timeout-minutes: 121\n",
			"job rollback: timeout-minutes 121 outlasts the AWS session of 7200 seconds"},
		{"deploy with the default session", "cd.yml", "          role-duration-seconds: 7200\n", "",
			"job deploy-staging, step 8 (Assume the AWS role): runs the deploy tool with the deploy role, so it needs role-duration-seconds: 7200 (a deploy can outlast one hour; the role's MaxSessionDuration allows it), got nothing (the action's default, one hour)"},
		{"rollback with a one-hour session", "rollback.yml", "          role-duration-seconds: 7200\n", "          role-duration-seconds: 3600\n",
			`job rollback, step 9 (Assume the AWS role): runs the deploy tool with the deploy role, so it needs role-duration-seconds: 7200 (a deploy can outlast one hour; the role's MaxSessionDuration allows it), got "3600"`},
		{"deploy cancels in progress", "cd.yml", "group: deploy-production\n      cancel-in-progress: false", "group: deploy-production\n      cancel-in-progress: true",
			`job deploy-prod concurrency: group "deploy-production" needs cancel-in-progress: false, got "true"`},
		{"deploy in another environment's group", "cd.yml", "group: deploy-production\n", "group: deploy-staging\n",
			`job deploy-prod: assumes the deploy role, so it needs concurrency group "deploy-production" (its environment's, shared by [cd.yml rollback.yml]), got "deploy-staging"`},
		{"deploys under one workflow group", "cd.yml", "\ndefaults:\n", "\nconcurrency:\n  group: deploy\n  cancel-in-progress: false\n\ndefaults:\n",
			`workflow concurrency group "deploy": want none: each deploy job has its environment's group`},
		{"rollback in its own group", "rollback.yml", "group: deploy-${{ inputs.environment }}", "group: rollback-${{ inputs.environment }}",
			`job rollback: assumes the deploy role, so it needs concurrency group "deploy-${{ inputs.environment }}"`},
		{"rollback in a fixed environment", "rollback.yml", "name: ${{ inputs.environment }}", "name: production",
			`job rollback: assumes the deploy role of its environment's stack, so it needs environment: ${{ inputs.environment }}`},
		{"rollback choice misses an environment", "rollback.yml", "          - staging\n", "",
			`workflow_dispatch input environment: want a required choice of [staging production], got type "choice", required "true", options [production]`},
		{"rollback environment typed in", "rollback.yml", "        type: choice\n", "        type: string\n",
			`workflow_dispatch input environment: want a required choice of [staging production], got type "string"`},
		{"promotion before staging verified", "cd.yml", "needs: [test, tool, image, deploy-staging]", "needs: [test, image]",
			`job deploy-prod: needs [test image], want [test image deploy-staging]`},
		{"image built from the workspace", "cd.yml", "          push: true\n", "          push: true\n          context: .\n",
			`has context: .: the image is built from the Git context of this commit`},
		{"BuildKit's moving default", "cd.yml", "          driver-opts: image=moby/buildkit:v0.32.2\n", "",
			"docker/setup-buildx-action needs driver-opts: image=moby/buildkit:v0.32.2 (a BuildKit release), got nothing"},
		{"buildx from the Actions cache", "cd.yml", "          cache-binary: false\n", "",
			`docker/setup-buildx-action needs cache-binary: false, got nothing`},
		{"the application checked out in the tool job", "cd.yml", "      - name: Hash the deploy tool\n", "      - name: Check out the app\n        uses: " + checkoutPin + "\n      - name: Hash the deploy tool\n",
			`job tool, step 4 (Check out the app): checks out  at "" into "": the tool job checks out slipway alone`},
		{"a script in the tool job", "cd.yml", "      - name: Hash the deploy tool\n", "      - name: Warm up\n        run: ./build.sh\n      - name: Hash the deploy tool\n",
			`job tool, step 4 (Warm up): runs "./build.sh": the tool job runs the tool's build and its hash only`},
		{"another action in the tool job", "cd.yml", "      - name: Hash the deploy tool\n", "      - name: Cache\n        uses: " + rustCachePin + "\n      - name: Hash the deploy tool\n",
			`job tool, step 4 (Cache): uses Swatinem/rust-cache: the tool job uses actions/checkout, actions/setup-go and actions/upload-artifact only`},
		{"the role's credentials into the build", "cd.yml", "          push: true\n", "          push: true\n          secret-envs: AWS=AWS_SECRET_ACCESS_KEY\n",
			`docker/build-push-action has input secret-envs: want only [cache-from cache-to labels platforms provenance push sbom tags]`},
		{"build args", "cd.yml", "          push: true\n", "          push: true\n          build-args: KEY=${{ env.AWS_SESSION_TOKEN }}\n",
			`docker/build-push-action has input build-args`},
		{"BuildKit with extra entitlements", "cd.yml", "          cache-binary: false\n", "          cache-binary: false\n          buildkitd-flags: --allow-insecure-entitlement security.insecure\n",
			`docker/setup-buildx-action has input buildkitd-flags: want only [cache-binary driver-opts]`},
		{"tool built without the checksum database", "cd.yml", "          GOWORK: \"off\"\n", "          GOWORK: \"off\"\n          GOSUMDB: \"off\"\n",
			`builds the deploy tool with env GOSUMDB: "off": of what go build reads, only GOWORK and GOFLAGS may be set`},
		{"tool built with a C compiler of the job's", "cd.yml", "          GOWORK: \"off\"\n", "          GOWORK: \"off\"\n          CC: /tmp/cc\n",
			`builds the deploy tool with env CC: "/tmp/cc"`},
		{"a module proxy in the tool job's env", "cd.yml", "  tool:\n    runs-on: ubuntu-latest\n", "  tool:\n    runs-on: ubuntu-latest\n    env:\n      GOPROXY: https://proxy.example\n",
			`job tool, step 3 (Build the deploy tool): builds the deploy tool with env GOPROXY: "https://proxy.example"`},
		{"the toolchain setup-go picks", "cd.yml", "          go-version-file: .slipway/go.mod\n", "          go-version: stable\n",
			`job tool, step 2 (Set up Go): the job builds the deploy tool the jobs that assume a role run, so actions/setup-go takes go-version-file: .slipway/go.mod and cache: false only, got go-version: "stable"`},
		{"the tool job's slipway at another commit", "cd.yml", "          ref: \"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c\"\n", "          ref: \"" + otherSHA + "\"\n",
			`job tool, step 1 (Check out slipway): checks out slipway-dev/slipway at "` + otherSHA + `" into ".slipway": the tool job checks out slipway alone`},
		{"no checkout in the tool job", "cd.yml", "      - name: Check out slipway\n        uses: " + checkoutPin + "\n        with:\n          repository: slipway-dev/slipway\n          ref: \"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c\"\n          path: .slipway\n          token: ${{ secrets.SLIPWAY_REPO_TOKEN || github.token }}\n          persist-credentials: false\n", "",
			`job tool: has 0 checkouts`},
		{"two checkouts in the tool job", "cd.yml", "      - name: Hash the deploy tool\n", "      - name: Check out the app\n        uses: " + checkoutPin + "\n        with:\n          persist-credentials: false\n      - name: Hash the deploy tool\n",
			`job tool: has 2 checkouts: the tool job checks out one repository, slipway's`},
		{"tool built with another toolchain", "drift.yml", "GOWORK: \"off\"\n", "GOWORK: \"off\"\n          GOTOOLCHAIN: go1.99.0\n",
			`builds the deploy tool with env GOTOOLCHAIN: "go1.99.0"`},
		{"promotion after a failure", "cd.yml", "needs: [test, tool, image, deploy-staging]\n", "needs: [test, tool, image, deploy-staging]\n    if: always()\n",
			`job deploy-prod: has if: always(): a deploy must run only when every job it needs succeeded`},
		{"staging deploy's failure ignored", "cd.yml", "      - name: Deploy\n        id: deploy\n", "      - name: Deploy\n        continue-on-error: true\n        id: deploy\n",
			`job deploy-staging, step 9 (Deploy): has continue-on-error: "true": a failed step must fail the deploy`},
		{"deploy job's failure ignored", "cd.yml", "needs: [test, tool, image, deploy-staging]\n", "needs: [test, tool, image, deploy-staging]\n    continue-on-error: true\n",
			`job deploy-prod: has continue-on-error: "true": a failed deploy must fail the run`},
		{"drift in the deploy group", "drift.yml", "group: drift\n  cancel-in-progress: true", "group: deploy-staging\n  cancel-in-progress: false",
			`workflow concurrency: group "deploy-staging" belongs to [cd.yml rollback.yml] only`},
		{"persisted credentials", "cd.yml", "persist-credentials: false", "persist-credentials: true",
			"actions/checkout needs persist-credentials: false"},
		{"no timeout", "drift.yml", "    timeout-minutes: 30\n", "",
			"job drift-staging: timeout-minutes: want a positive number of minutes, got nothing"},
		{"unknown variable", "ci.yml", "vars.AWS_REGION_STAGING", "vars.AWS_DEFAULT_REGION",
			"variable vars.AWS_DEFAULT_REGION is not one of Variables()"},
		{"deploy reads a repository variable", "cd.yml", "PULUMI_BACKEND_URL: ${{ vars.PULUMI_BACKEND_URL }}", "PULUMI_BACKEND_URL: ${{ vars.PULUMI_BACKEND_URL_STAGING }}",
			"job deploy-staging reads vars.PULUMI_BACKEND_URL_STAGING, which is not among environment staging's variables"},
		{"preview reads an environment's variable", "ci.yml", "aws-region: ${{ vars.AWS_REGION_STAGING }}", "aws-region: ${{ vars.AWS_REGION }}",
			"job preview reads vars.AWS_REGION, which is not among the repository's (no environment) variables"},
		{"image job reads a deploy variable", "cd.yml", "ECR_REPOSITORY: ${{ vars.ECR_REPOSITORY }}", "ECR_REPOSITORY: ${{ vars.ECS_CLUSTER }}",
			"job image reads vars.ECS_CLUSTER, which is not among environment image-push's variables"},
		{"unknown secret", "cd.yml", "secrets.PULUMI_CONFIG_PASSPHRASE", "secrets.AWS_SECRET_ACCESS_KEY",
			"secret secrets.AWS_SECRET_ACCESS_KEY is not one of Secrets()"},
		{"no header", "drift.yml", "# Managed by slipway", "# Generated",
			"missing the header comment"},
		{"preview without the fork guard", "ci.yml", "if: github.event.pull_request.head.repo.full_name == github.repository && ", "if: ",
			"job preview: assumes a role on pull_request, so it needs if: github.event.pull_request.head.repo.full_name == github.repository"},
		{"role job renamed", "ci.yml", "\n  preview:\n", "\n  plan:\n",
			"job plan: assumes ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}: only [preview] may assume a role in this file"},
		{"two roles", "rollback.yml", "      - name: Roll back\n", "      - uses: aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c # v6.2.3\n        with:\n          role-to-assume: ${{ vars.SLIPWAY_PREVIEW_ROLE_ARN }}\n          aws-region: ${{ vars.AWS_REGION }}\n      - name: Roll back\n",
			"job rollback: assumes two kinds of role"},
		// The jobs that assume a role run the tool the tool job built, by its
		// artifact ID and checked against its hash.
		{"tool fetched by name", "cd.yml", "          artifact-ids: ${{ needs.tool.outputs.artifact-id }}\n", "          name: slipway-tool\n",
			"job image, step 4 (Fetch the deploy tool): fetches an artifact: want artifact-ids: ${{ needs.tool.outputs.artifact-id }} and no name:"},
		{"tool checked against another hash", "cd.yml", "          WANT: ${{ needs.tool.outputs.sha256 }}\n", "          WANT: ${{ needs.test.outputs.sha256 }}\n",
			"job image, step 5 (Check the deploy tool): checks the fetched tool: want env WANT: ${{ needs.tool.outputs.sha256 }}"},
		{"tool run unchecked", "cd.yml", "          set -euo pipefail\n          if ! [[ $WANT", "          set -euo pipefail\n          true\n          if ! [[ $WANT",
			"job image, step 5 (Check the deploy tool): runs the deploy tool, which no step before built"},
		{"tool fetched without the tool job", "cd.yml", "    needs: [tool]\n", "",
			"job image, step 4 (Fetch the deploy tool): fetches the deploy tool, so the job needs the tool job, which builds it, got needs []"},
		{"tool job outputs another hash", "cd.yml", "      sha256: ${{ steps.hash.outputs.sha256 }}\n", "      sha256: ${{ steps.upload.outputs.artifact-digest }}\n",
			"job tool: builds the deploy tool for the jobs that assume a role, so its outputs must be exactly"},
		{"tool job uploads another file", "cd.yml", "          path: ${{ runner.temp }}/slipway\n", "          path: ${{ github.workspace }}\n",
			"job tool, step 5 (Upload the deploy tool): the step upload uploads the tool: want uses: actions/upload-artifact with path: ${{ runner.temp }}/slipway"},
		{"role assumed after a failed gate", "rollback.yml", "      - name: Assume the AWS role\n", "      - name: Assume the AWS role\n        if: always()\n",
			"the credentials step has if: always(): it must run only when every step before it, the gate's too, succeeded"},
		{"tests' failure ignored", "cd.yml", "      - name: Test\n", "      - name: Test\n        continue-on-error: true\n",
			`job test, step 6 (Test): has continue-on-error: "true": job deploy-staging deploys only after it succeeded`},
		{"image built with other contexts", "cd.yml", "          push: true\n", "          push: true\n          build-contexts: tool=.slipway\n",
			"has build-contexts: tool=.slipway: the image is built from the Git context of this commit only"},
		{"tool fetched elsewhere", "cd.yml", "          path: ${{ runner.temp }}/tool\n", "          path: ${{ github.workspace }}\n",
			"fetches the deploy tool to \"${{ github.workspace }}\": want path: ${{ runner.temp }}/tool"},
		{"tool replaced after the check", "cd.yml", "      - name: Check the workflow files\n", "      - run: curl -fsSL -o \"$RUNNER_TEMP/slipway\" https://example.com/t\n      - name: Check the workflow files\n",
			"writes $RUNNER_TEMP/slipway, which only the tool build"},
		{"tool built outside its checkout", "cd.yml", "      - name: Build the deploy tool\n        working-directory: .slipway\n", "      - name: Build the deploy tool\n",
			`job tool, step 3 (Build the deploy tool): builds the deploy tool in ".": want working-directory: .slipway`},
		{"tool job hashes something else", "cd.yml", `sum=$(sha256sum "$RUNNER_TEMP/slipway"`, `sum=$(sha256sum "$GITHUB_WORKSPACE/slipway"`,
			"job tool, step 4 (Hash the deploy tool): the step hash outputs the tool's hash: want run:"},
		{"tool fetched by name as well", "cd.yml", "          artifact-ids: ${{ needs.tool.outputs.artifact-id }}\n", "          artifact-ids: ${{ needs.tool.outputs.artifact-id }}\n          name: slipway-tool\n",
			"fetches an artifact: want artifact-ids: ${{ needs.tool.outputs.artifact-id }} and no name:"},
		{"image job's failure ignored", "cd.yml", "  image:\n    needs: [tool]\n", "  image:\n    needs: [tool]\n    continue-on-error: true\n",
			`job image: has continue-on-error: "true": job deploy-staging deploys only after it succeeded`},
		{"slipway commit named outside its checkout", "rollback.yml",
			"      - name: Name the slipway commit\n        working-directory: .slipway\n", "      - name: Name the slipway commit\n",
			`names the commit of slipway in ".": want working-directory: .slipway`},
		// The tool renders the files with the commit of slipway checked out.
		{"rollback without naming the slipway commit", "rollback.yml",
			"      - name: Name the slipway commit\n        working-directory: .slipway\n        run: |\n          set -euo pipefail\n          ref=$(git rev-parse --verify HEAD)\n          echo \"SLIPWAY_TOOL_REF=$ref\" >>\"$GITHUB_ENV\"\n", "",
			"runs the deploy tool before a step names the commit of slipway checked out"},
		{"the slipway commit set by hand", "rollback.yml", "        env:\n", "        env:\n          SLIPWAY_TOOL_REF: 0123456789abcdef0123456789abcdef01234567\n",
			`sets env SLIPWAY_TOOL_REF: "0123456789abcdef0123456789abcdef01234567"`},
		{"reusable workflow", "drift.yml", "  drift-staging:\n", "  called:\n    uses: octo/wf/.github/workflows/x.yml@main\n  drift-staging:\n",
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

// Where slipway lives in the application repository, the tool job checks
// out that repository alone, at the run's commit.
func TestCheckInRepoToolCheckout(t *testing.T) {
	p := paramSets[1].p
	var cd string
	for _, f := range mustRender(t, p) {
		if filepath.Base(f.Path) == "cd.yml" {
			cd = string(f.Content)
		}
	}
	const old = "      - name: Check out\n        uses: " + checkoutPin + "\n        with:\n          persist-credentials: false\n"
	head, toolJob, ok := strings.Cut(cd, "\n  tool:\n")
	if !ok || !strings.Contains(toolJob, old) {
		t.Fatalf("cd.yml has no tool job with %q: update the test", old)
	}
	for _, tc := range []struct{ name, with, want string }{
		{"another ref", "          ref: attacker-branch\n", "checks out with ref: attacker-branch"},
		{"another repository", "          repository: evil/slipway\n", "checks out with repository: evil/slipway"},
		{"another path", "          path: elsewhere\n", "checks out with path: elsewhere"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mutated := head + "\n  tool:\n" + strings.Replace(toolJob, old, old+tc.with, 1)
			problems := Check(".github/workflows/cd.yml", []byte(mutated), p)
			if !slices.ContainsFunc(problems, func(s string) bool { return strings.Contains(s, "job tool, step 1 (Check out): "+tc.want) }) {
				t.Errorf("Check = %q, want the tool job's checkout %s", problems, tc.want)
			}
		})
	}
}

// Equivalent ways to write what the tool rules require pass, and a value
// set at one level does not hide an override at a nearer one. Each case
// applies its edits, in order, to a rendered file.
func TestCheckToolRulesAcrossLevels(t *testing.T) {
	p := paramSets[0].p
	rendered := map[string]string{}
	for _, f := range mustRender(t, p) {
		rendered[filepath.Base(f.Path)] = string(f.Content)
	}
	const (
		driftJob   = "  drift-staging:\n    runs-on: ubuntu-latest\n"
		stepToken  = "          " + readToken + "\n"
		toolDir    = "        working-directory: .slipway\n        env:\n          PULUMI_BACKEND_URL"
		deployWait = "timeout-minutes: 75\n"
	)
	cases := []struct {
		name  string
		file  string
		edits [][2]string
		want  string // "" = no problems
	}{
		{"token in the job's env", "drift.yml", [][2]string{
			{stepToken, ""},
			{driftJob, driftJob + "    env:\n      " + readToken + "\n"},
		}, ""},
		{"token in the workflow's env", "drift.yml", [][2]string{
			{stepToken, ""},
			{"\njobs:\n", "\nenv:\n  " + readToken + "\n\njobs:\n"},
		}, ""},
		{"token without spaces", "drift.yml", [][2]string{
			{stepToken, "          GITHUB_TOKEN: ${{secrets.SLIPWAY_GITHUB_READ_TOKEN}}\n"},
		}, ""},
		{"step's github.token overrides the job's token", "drift.yml", [][2]string{
			{stepToken, "          GITHUB_TOKEN: ${{ github.token }}\n"},
			{driftJob, driftJob + "    env:\n      " + readToken + "\n"},
		}, `runs drift, so it needs env GITHUB_TOKEN: ${{ secrets.SLIPWAY_GITHUB_READ_TOKEN }}`},
		{"env as one expression", "drift.yml", [][2]string{
			{"        env:\n          PULUMI_BACKEND_URL", "        env: ${{ fromJSON(vars.SLIPWAY_STACK) }}\n        x-env:\n          PULUMI_BACKEND_URL"},
		}, `runs drift, so it needs env GITHUB_TOKEN: ${{ secrets.SLIPWAY_GITHUB_READ_TOKEN }}`},
		{"working directory from the job's defaults", "drift.yml", [][2]string{
			{toolDir, "        env:\n          PULUMI_BACKEND_URL"},
			{driftJob, driftJob + "    defaults:\n      run:\n        working-directory: .slipway\n"},
		}, ""},
		{"working directory from the workflow's defaults", "drift.yml", [][2]string{
			{toolDir, "        env:\n          PULUMI_BACKEND_URL"},
			{"    shell: bash\n", "    shell: bash\n    working-directory: ./.slipway/\n"},
		}, ""},
		{"step's directory overrides the defaults", "drift.yml", [][2]string{
			{toolDir, "        working-directory: .\n        env:\n          PULUMI_BACKEND_URL"},
			{"    shell: bash\n", "    shell: bash\n    working-directory: .slipway\n"},
		}, `runs the deploy tool in ".": want working-directory: .slipway`},
		{"deploy at the least timeout", "cd.yml", [][2]string{{deployWait, "timeout-minutes: 75\n"}}, ""},
		{"rollback as long as the session", "rollback.yml", [][2]string{{deployWait, "timeout-minutes: 120\n"}}, ""},
		{"session quoted", "rollback.yml", [][2]string{{"role-duration-seconds: 7200\n", "role-duration-seconds: \"7200\"\n"}}, ""},
		{"session longer than the role allows", "cd.yml", [][2]string{{"role-duration-seconds: 7200\n", "role-duration-seconds: 43200\n"}},
			`needs role-duration-seconds: 7200 (a deploy can outlast one hour; the role's MaxSessionDuration allows it), got "43200"`},
		{"gate after the credentials", "rollback.yml", [][2]string{
			{gateStep, ""},
			{"      - name: Roll back\n", gateStep + "      - name: Roll back\n"},
		}, "job rollback: assumes a role without the workflow-integrity gate first"},
		// The image job runs neither up nor rollback:
		// its shorter timeout and default session pass.
		{"image job with a short timeout", "cd.yml", [][2]string{{"    timeout-minutes: 30\n    environment: image-push\n", "    timeout-minutes: 20\n    environment: image-push\n"}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			content := rendered[tc.file]
			for _, e := range tc.edits {
				if !strings.Contains(content, e[0]) {
					t.Fatalf("%s does not contain %q: update the edit", tc.file, e[0])
				}
				content = strings.Replace(content, e[0], e[1], 1)
			}
			problems := Check(".github/workflows/"+tc.file, []byte(content), p)
			if tc.want == "" {
				if len(problems) > 0 {
					t.Errorf("Check(%s edited) = %q, want no problems", tc.file, problems)
				}
				return
			}
			for _, got := range problems {
				if strings.Contains(got, tc.want) {
					return
				}
			}
			t.Errorf("Check(%s edited) = %q\nwant a problem containing %q", tc.file, problems, tc.want)
		})
	}
}

// The rendered jobs: the ones that run the tool with the deploy role get
// the long timeout and session; the image job keeps its shorter timeout
// and the action's default session.
func TestRenderedTimeoutsAndSessions(t *testing.T) {
	want := map[string]struct {
		timeout, session string // session "" = no role-duration-seconds
	}{
		"cd.yml/test":             {"30", ""},
		"cd.yml/image":            {"30", ""},
		"cd.yml/tool":             {"20", ""},
		"cd.yml/deploy-staging":   {"75", "7200"},
		"cd.yml/deploy-prod":      {"75", "7200"},
		"ci.yml/test":             {"30", ""},
		"ci.yml/preview":          {"30", ""},
		"drift.yml/drift-staging": {"30", ""},
		"drift.yml/drift-prod":    {"30", ""},
		"rollback.yml/rollback":   {"75", "7200"},
	}
	for _, set := range paramSets {
		got := map[string]struct{ timeout, session string }{}
		for name, content := range renderedByName(t, set.p) {
			w, err := parseWorkflow(content)
			if err != nil {
				t.Fatal(err)
			}
			for id, j := range w.Jobs {
				session := ""
				for _, s := range j.Steps {
					if d, ok := s.With["role-duration-seconds"]; ok {
						session = d.Value
					}
				}
				got[name+"/"+id] = struct{ timeout, session string }{j.TimeoutMinutes.Value, session}
			}
		}
		for _, id := range sortedKeys(got) {
			if got[id] != want[id] {
				t.Errorf("%s: %s: timeout-minutes %q, role-duration-seconds %q; want %q, %q", set.name, id, got[id].timeout, got[id].session, want[id].timeout, want[id].session)
			}
		}
		for _, id := range sortedKeys(want) {
			if _, ok := got[id]; !ok && set.name == "tool-repository" {
				t.Errorf("%s: no job %s", set.name, id)
			}
		}
	}
	if want["cd.yml/deploy-prod"].session != strconv.Itoa(workflows.DeploySessionSeconds) {
		t.Errorf("the table's session %s is not DeploySessionSeconds %d", want["cd.yml/deploy-prod"].session, workflows.DeploySessionSeconds)
	}
}

// A module cache is allowed in a role job where go mod verify checks it,
// in ToolPath with GOWORK off, before the build: the only problem left is
// that actions/cache is not in the pin table.
func TestCheckModuleCacheVerified(t *testing.T) {
	p := paramSets[0].p
	content := string(renderedByName(t, p)["rollback.yml"])
	const build = "      - name: Build the deploy tool\n"
	if !strings.Contains(content, build) {
		t.Fatalf("rollback.yml has no %q step", build)
	}
	content = strings.Replace(content, build, "      - uses: actions/cache/restore@"+otherSHA+" # v5\n        with:\n          path: ~/go/pkg/mod/\n          key: go\n"+
		"      - working-directory: .slipway\n        env:\n          GOWORK: \"off\"\n        run: go mod verify\n"+build, 1)
	problems := Check(".github/workflows/rollback.yml", []byte(content), p)
	if len(problems) != 1 || !strings.Contains(problems[0], "action actions/cache is not in the pin table") {
		t.Errorf("Check(rollback.yml with a verified module cache) = %q, want only the pin table's refusal", problems)
	}
}
