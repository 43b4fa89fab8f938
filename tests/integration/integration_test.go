//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/slipway-dev/slipway/infra"
	"github.com/slipway-dev/slipway/internal/cli"
	"github.com/slipway-dev/slipway/internal/contract"
	deployer "github.com/slipway-dev/slipway/internal/deploy"
)

// The suite's environment. Every variable is required; the suite skips,
// naming what is missing, when one is not set.
//
//	SLIPWAY_IT_STACK        a stack name for the sandbox, with its Pulumi.<stack>.yaml in the project
//	                        (aws:region, github:owner, slipway:githubOwner/githubRepo of a scratch
//	                        repository, slipway:stateBucket, slipway:slipwayRef)
//	PULUMI_BACKEND_URL      the sandbox state backend (s3://...)
//	PULUMI_CONFIG_PASSPHRASE
//	AWS_PROFILE or AWS_ACCESS_KEY_ID/...  administrator credentials of the sandbox account
//	GITHUB_TOKEN            a token with repo and workflow scopes on the scratch repository
//	SLIPWAY_IT_SHA1, SLIPWAY_IT_SHA2  two image SHAs to deploy
//	SLIPWAY_IT_BAD_SHA      a third SHA, whose image exits 1 at start (ECS's circuit breaker rolls it back)
//	SLIPWAY_IT_PUSH         a shell command that pushes the image $SHA to $REPOSITORY_URL
//	                        (e.g. docker pull/tag/push of a small HTTP server answering /health);
//	                        with BAD=1 in its environment, an image whose container exits 1
//	SLIPWAY_IT_CI_CREDENTIALS  a shell command that prints the deploy role's credentials
//	                        (AWS_ACCESS_KEY_ID=..., AWS_SECRET_ACCESS_KEY=..., AWS_SESSION_TOKEN=...,
//	                        one per line) for the role ARN in $ROLE_ARN: the deploys after the
//	                        bootstrap run with the CI role, not the administrator. In a GitHub
//	                        Actions job of the scratch repository (environment: production,
//	                        permissions: id-token: write) that is
//	                        aws sts assume-role-with-web-identity --role-arn "$ROLE_ARN" \
//	                          --role-session-name it --web-identity-token "$(curl -sH \
//	                          "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
//	                          "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com" | jq -r .value)" \
//	                          --query Credentials --output json | jq -r '"AWS_ACCESS_KEY_ID=\(.AccessKeyId)",
//	                          "AWS_SECRET_ACCESS_KEY=\(.SecretAccessKey)", "AWS_SESSION_TOKEN=\(.SessionToken)"'
var required = []string{"SLIPWAY_IT_STACK", "PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "GITHUB_TOKEN",
	"SLIPWAY_IT_SHA1", "SLIPWAY_IT_SHA2", "SLIPWAY_IT_BAD_SHA", "SLIPWAY_IT_PUSH", "SLIPWAY_IT_CI_CREDENTIALS"}

func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// copyProject copies Pulumi.yaml and the stack's file into a folder of
// the test, so that the bootstrap's config changes never touch the work
// tree, even when the run is killed.
func copyProject(t *testing.T, stack string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"Pulumi.yaml", "Pulumi." + stack + ".yaml"} {
		b, err := os.ReadFile(filepath.Join(root(), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func deploy(t *testing.T, dir string, args ...string) int {
	t.Helper()
	code, _ := deployOutput(t, dir, args...)
	return code
}

// deployOutput runs the deploy tool and returns its exit code and its
// stdout, which it also prints.
func deployOutput(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	c := &cli.Command{Stdout: io.MultiWriter(os.Stdout, &out), Stderr: os.Stderr, Getenv: os.Getenv, Program: infra.Program}
	return c.Main(context.Background(), append(args, "--dir", dir, "--stack", os.Getenv("SLIPWAY_IT_STACK"))), out.String()
}

func TestRealCloud(t *testing.T) {
	var missing []string
	for _, k := range required {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Skipf("real-cloud suite skipped: set %s (see the comment at the top of this file)", strings.Join(missing, ", "))
	}
	ctx := context.Background()
	stackName := os.Getenv("SLIPWAY_IT_STACK")
	sha1, sha2, bad := os.Getenv("SLIPWAY_IT_SHA1"), os.Getenv("SLIPWAY_IT_SHA2"), os.Getenv("SLIPWAY_IT_BAD_SHA")

	dir := copyProject(t, stackName)
	if code := deploy(t, dir, "synth", "--sha", sha1, "--out", t.TempDir()); code != cli.ExitOK {
		t.Fatalf("synth: exit %d", code)
	}

	// Bootstrap as an administrator would: the repository first, then the images.
	stack, err := auto.UpsertStackLocalSource(ctx, stackName, dir, auto.Program(infra.Program))
	if err != nil {
		t.Fatal(err)
	}
	if err := stack.SetConfig(ctx, "slipway:imageTag", auto.ConfigValue{Value: sha1}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Leave the account as empty as the program allows: the repository
		// and the OIDC provider are retained on delete, and the table has
		// deletion protection on (turn it off with aws dynamodb
		// update-table --no-deletion-protection-enabled before the destroy
		// can remove it). Remove what stays by hand.
		if out, err := exec.Command("pulumi", "state", "unprotect", "--all", "--yes", "--stack", stackName, "--cwd", dir).CombinedOutput(); err != nil {
			t.Errorf("unprotect: %v\n%s", err, out)
		}
		if _, err := stack.Destroy(ctx, optdestroy.ProgressStreams(os.Stderr)); err != nil {
			t.Errorf("destroy: %v", err)
		}
	}()
	// A target's parent component must be a target too.
	registryURN := fmt.Sprintf("urn:pulumi:%s::%s::slipway:infra:Registry::registry", stackName, contract.Project)
	repoURN := fmt.Sprintf("urn:pulumi:%s::%s::slipway:infra:Registry$aws:ecr/repository:Repository::repo", stackName, contract.Project)
	if _, err := stack.Up(ctx, optup.Target([]string{registryURN, repoURN}), optup.ProgressStreams(os.Stderr)); err != nil {
		t.Fatal(err)
	}
	outputs, err := stack.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	repoURL, _ := outputs[contract.OutRepositoryURL].Value.(string)
	for sha, badImage := range map[string]string{sha1: "", sha2: "", bad: "1"} {
		push := exec.Command("bash", "-c", os.Getenv("SLIPWAY_IT_PUSH"))
		push.Env = append(os.Environ(), "SHA="+sha, "REPOSITORY_URL="+repoURL, "BAD="+badImage)
		if out, err := push.CombinedOutput(); err != nil {
			t.Fatalf("pushing %s: %v\n%s", sha, err, out)
		}
	}

	// The administrator's first deploy creates the roles; every later
	// step runs with the deploy role's credentials, as CD does.
	if got := deploy(t, dir, "up", "--all", "--sha", sha1); got != cli.ExitOK {
		t.Fatalf("deploy up --all --sha %s: exit %d, want %d", sha1, got, cli.ExitOK)
	}
	outputs, err = stack.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	restore := useCICredentials(t, outputs[contract.OutDeployRoleArn].Value.(string))
	steps := []struct {
		args []string
		want int
		kind deployer.Kind // the outcome of an up or a rollback (--output json)
	}{
		{[]string{"up", "--sha", sha2}, cli.ExitOK, deployer.Verified},
		{[]string{"status"}, cli.ExitOK, ""},
		// ECS's circuit breaker rolls the exiting image back: exit 4, and
		// the stack is reconciled to sha2, which status then confirms.
		{[]string{"up", "--sha", bad}, cli.ExitRolledBack, deployer.RolledBackReconciled},
		{[]string{"status"}, cli.ExitOK, ""},
		{[]string{"rollback"}, cli.ExitOK, deployer.Verified},
		{[]string{"status"}, cli.ExitOK, ""},
	}
	for _, s := range steps {
		args := s.args
		if s.kind != "" {
			args = append(args, "--output", "json")
		}
		got, out := deployOutput(t, dir, args...)
		if got != s.want {
			t.Fatalf("deploy %s: exit %d, want %d", strings.Join(args, " "), got, s.want)
		}
		if s.kind == "" {
			continue
		}
		var o deployer.Outcome
		if err := json.Unmarshal([]byte(out), &o); err != nil || o.Kind != s.kind {
			t.Fatalf("deploy %s: outcome %q (%v), want %q", strings.Join(args, " "), o.Kind, err, s.kind)
		}
		if s.kind == deployer.RolledBackReconciled && o.Reconciled != sha2 {
			t.Fatalf("deploy %s: reconciled to %q, want %s", strings.Join(args, " "), o.Reconciled, sha2)
		}
	}
	// Drift refreshes every resource, IAM and GitHub included, which CI
	// does with the preview role: here the administrator checks it.
	restore()
	if got := deploy(t, dir, "drift"); got != cli.ExitOK {
		t.Fatalf("deploy drift: exit %d, want %d", got, cli.ExitOK)
	}
}

// useCICredentials replaces the administrator's AWS credentials with the
// deploy role's, printed by SLIPWAY_IT_CI_CREDENTIALS, until restore.
func useCICredentials(t *testing.T, roleArn string) (restore func()) {
	t.Helper()
	cmd := exec.Command("bash", "-c", os.Getenv("SLIPWAY_IT_CI_CREDENTIALS"))
	cmd.Env = append(os.Environ(), "ROLE_ARN="+roleArn)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("SLIPWAY_IT_CI_CREDENTIALS for %s: %v", roleArn, err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			got[k] = v
		}
	}
	saved := map[string]string{}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} {
		if k != "AWS_PROFILE" && got[k] == "" {
			t.Fatalf("SLIPWAY_IT_CI_CREDENTIALS printed no %s line", k)
		}
		saved[k] = os.Getenv(k)
		t.Setenv(k, got[k])
	}
	return func() {
		for k, v := range saved {
			t.Setenv(k, v)
		}
	}
}
