package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
	"github.com/slipway-dev/slipway/internal/pins"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC = "cccccccccccccccccccccccccccccccccccccccc"
	shaD = "dddddddddddddddddddddddddddddddddddddddd"
)

// world is a stack in a file:// backend, the stand-in program, a fake
// ECS/ECR, and the environment a CI job would give the tool.
type world struct {
	t            testing.TB
	p            deploytest.Project
	aws          *awsfake.Server
	env          map[string]string
	summary      string
	environments []string // Command.Environments
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w, _ := stackWorld(t, "dev")
	return w
}

// stackWorld is newWorld's world for a stack of another name, and a use
// func that points the process environment (the Pulumi backend, the fake
// provider, the fake AWS) back at it: one test can then run two stacks,
// as the CI job's steps do, one after the other.
func stackWorld(t testing.TB, stack string) (*world, func()) {
	t.Helper()
	w := &world{t: t, p: deploytest.NewProject(t, stack, deploytest.BaseConfig()), aws: awsfake.NewAt(time.Now())}
	t.Cleanup(w.aws.Close)
	w.aws.CreateRepository("api-service", awsfake.Immutable)
	w.summary = filepath.Join(t.TempDir(), "summary.md")
	w.env = map[string]string{"GITHUB_STEP_SUMMARY": w.summary}
	use := func() {
		for _, env := range []map[string]string{w.aws.Env(), w.p.Env} {
			for k, v := range env {
				t.Setenv(k, v)
			}
		}
	}
	use()
	return w, use
}

// run runs the tool on the world's stack.
func (w *world) run(args ...string) (int, string, string) {
	w.t.Helper()
	return w.runCtx(context.Background(), args...)
}

// runCtx runs the tool until ctx ends, as a Ctrl-C or SIGTERM would end it
// (cmd/deploy's signal.NotifyContext).
func (w *world) runCtx(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	c := &Command{
		Stdout: &out, Stderr: &errb,
		Getenv:         func(k string) string { return w.env[k] },
		Program:        deploytest.Program,
		Plugins:        []pins.Plugin{},
		VerifyInterval: 1,
	}
	if w.environments != nil {
		c.Environments = func(contract.Config) []string { return w.environments }
	}
	args = append(args, "--dir", w.p.Dir, "--stack", w.p.Stack)
	code := c.Main(ctx, args)
	return code, out.String(), errb.String()
}

func (w *world) mustRun(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, out, errs := w.run(args...)
	if code != want {
		t.Fatalf("deploy %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, tail(errs))
	}
	return out, errs
}

// wantStderr fails t for each of wants that the stderr errs lacks.
func wantStderr(t *testing.T, errs string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, tail(errs))
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

func (w *world) history(t *testing.T) []historyRow {
	t.Helper()
	out, _ := w.mustRun(t, ExitOK, "history", "--output", "json")
	var rows []historyRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("history --output json: %v\n%s", err, out)
	}
	return rows
}

// readSummary is the job summary the runs wrote ($GITHUB_STEP_SUMMARY).
func (w *world) readSummary(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(w.summary)
	if err != nil {
		t.Fatalf("job summary: %v", err)
	}
	return string(b)
}

// push pushes the image of sha to the stack's repository, as CI does.
func (w *world) push(sha string) { w.aws.PushImage("api-service", sha) }

// image is the container image the stand-in's task definition runs for sha.
func image(sha string) string { return deploytest.RepositoryURL + ":" + sha }

// failsToStart scripts ECS's rollouts of sha's image: every task exits 1,
// so the circuit breaker fails the deployment and rolls it back.
func (w *world) failsToStart(sha string) {
	w.aws.SetRollout(image(sha), awsfake.Rollout{Outcome: awsfake.CircuitBreaks, Failure: awsfake.ContainerExited(1)})
}

// outcome decodes up's or rollback's --output json.
func outcome(t *testing.T, out string) deploy.Outcome {
	t.Helper()
	var o deploy.Outcome
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return o
}

// The whole life of a stack, in order: first deploy, deploys, a missing
// image, an ECS rollback and its reconciliation, rollbacks, the guard.
// ECS reacts to what the stack does: each update registers a task
// definition revision and starts a deployment in the fake, whose outcome
// is scripted per image; nothing is arranged before an up.
func TestDeployLifecycle(t *testing.T) {
	w := newWorld(t)
	stackFile, err := os.ReadFile(w.p.StackFile())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("first deploy needs an administrator", func(t *testing.T) {
		_, errs := w.mustRun(t, ExitRefused, "up", "--sha", shaA)
		if !strings.Contains(errs, "up --all") {
			t.Errorf("stderr does not say how to bootstrap:\n%s", errs)
		}
		// README bootstrap: the registry's own update first (its outputs
		// name no service), then up --all, which checks the image.
		w.p.UpRegistryOnly(t, shaA)
		if _, errs := w.mustRun(t, ExitRefused, "up", "--sha", shaA); !strings.Contains(errs, "up --all") {
			t.Errorf("up after the registry's update: stderr does not say how to bootstrap:\n%s", errs)
		}
		if _, errs := w.mustRun(t, ExitNoImage, "up", "--all", "--sha", shaA); !strings.Contains(errs, "not in ECR") {
			t.Errorf("up --all before the image is pushed: stderr does not say it is missing:\n%s", errs)
		}
		w.push(shaA)
		w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	})

	t.Run("deploy a new SHA: verified", func(t *testing.T) {
		w.push(shaB)
		out, _ := w.mustRun(t, ExitOK, "up", "--sha", shaB, "--output", "json")
		o := outcome(t, out)
		if o.Kind != deploy.Verified || o.ImageTag != shaB || o.Previous != shaA || o.TaskDefinitionArn != awsfake.TaskDefinitionARN("api-service", 2) {
			t.Errorf("up outcome %+v, want verified %s after %s on revision 2", o, shaB, shaA)
		}
		if o.VerdictSource != awsx.SourceServiceDeployment {
			t.Errorf("verdict from %q, want the service deployment the update started", o.VerdictSource)
		}
		var phases []string
		for _, p := range o.Phases {
			phases = append(phases, p.Name)
		}
		if want := []string{deploy.PhaseImageCheck, deploy.PhaseGuard, deploy.PhaseUpdate, deploy.PhaseVerify, deploy.PhaseTag}; !slices.Equal(phases, want) {
			t.Errorf("phases %v, want %v", phases, want)
		}
		if summary := w.readSummary(t); !strings.Contains(summary, "verified: ECS runs it") {
			t.Errorf("job summary does not report the verified deploy:\n%s", summary)
		}
		// Each verified image is tagged for the lifecycle policy to keep,
		// and as verified in this stack, for promote.
		want := []string{contract.DeployedTagPrefix + shaA, contract.VerifiedTag("dev", shaA), contract.DeployedTagPrefix + shaB, contract.VerifiedTag("dev", shaB)}
		if got := w.aws.TagsPut("api-service"); !slices.Equal(got, want) {
			t.Errorf("tags added in ECR %v, want %v", got, want)
		}
	})

	t.Run("image missing: refused before anything", func(t *testing.T) {
		before := len(w.history(t))
		_, errs := w.mustRun(t, ExitNoImage, "up", "--sha", shaC)
		if !strings.Contains(errs, "api-service:"+shaC) || !strings.Contains(errs, "not in ECR") {
			t.Errorf("stderr does not name the missing image:\n%s", errs)
		}
		if after := len(w.history(t)); after != before {
			t.Errorf("history grew from %d to %d: a refused deploy ran", before, after)
		}
	})

	t.Run("ECS rolls back: detected, reported, reconciled", func(t *testing.T) {
		w.push(shaC)
		w.failsToStart(shaC)
		out, errs := w.mustRun(t, ExitRolledBack, "up", "--sha", shaC, "--output", "json")
		wantStderr(t, errs, "ECS ROLLED BACK", "Essential container in task exited", "rolling back to deployment", "reconciled to "+shaB)
		o := outcome(t, out)
		// The reconcile registers a revision of its own (4) and waits for
		// its rollout: ECS had gone back to revision 2.
		if o.Kind != deploy.RolledBackReconciled || o.Reconciled != shaB || o.RunningImageTag != shaB {
			t.Errorf("outcome %+v, want reconciled to %s", o, shaB)
		}
		h := w.history(t)
		if h[0].ImageTag != shaB || h[0].Message != contract.ReconcileMessage(shaB, shaC).String() || h[0].Result != "succeeded" {
			t.Errorf("newest update %+v, want the reconciliation to %s", h[0], shaB)
		}
		if h[1].ImageTag != shaC || h[1].Message != contract.RejectedMessage(shaC).String() || h[1].Result != "succeeded" {
			t.Errorf("update before it %+v, want the rejection marker of %s", h[1], shaC)
		}
		if got := w.aws.TagsPut("api-service"); slices.Contains(got, contract.DeployedTagPrefix+shaC) {
			t.Errorf("tags added in ECR %v: the image ECS rolled back is tagged as deployed", got)
		}
		out, _ = w.mustRun(t, ExitOK, "status")
		if !strings.Contains(out, "OK: ECS runs the stack's task definition") || !strings.Contains(out, "running image "+image(shaB)) || !strings.Contains(out, "api-service:4") {
			t.Errorf("after reconciling, status does not agree with ECS (revision 4 running %s):\n%s", shaB, out)
		}
	})

	t.Run("rollback dry run reads history only", func(t *testing.T) {
		calls := len(w.aws.Calls())
		before := len(w.history(t))
		out, _ := w.mustRun(t, ExitOK, "rollback", "--dry-run", "--output", "json")
		var r map[string]string
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		// C was rolled back by ECS: never a rollback target.
		if r["current"] != shaB || r["target"] != shaA {
			t.Errorf("dry run %v, want current %s target %s", r, shaB, shaA)
		}
		if got := len(w.aws.Calls()); got != calls {
			t.Errorf("dry run made %d AWS calls, want 0", got-calls)
		}
		if after := len(w.history(t)); after != before {
			t.Errorf("dry run changed the history (%d → %d)", before, after)
		}
	})

	t.Run("rollback deploys the previous good SHA", func(t *testing.T) {
		w.mustRun(t, ExitOK, "rollback")
		h := w.history(t)
		if h[0].ImageTag != shaA || h[0].Message != contract.RollbackMessage(shaA, shaB).String() {
			t.Errorf("newest update %+v, want the rollback to %s", h[0], shaA)
		}
	})

	t.Run("rollback --to must be a known good SHA", func(t *testing.T) {
		for _, to := range []string{shaC, shaD} {
			_, errs := w.mustRun(t, ExitBadInput, "rollback", "--to", to)
			if !strings.Contains(errs, to+" never ran successfully on this stack") {
				t.Errorf("rollback --to %s: stderr %s", to, errs)
			}
		}
		w.mustRun(t, ExitOK, "rollback", "--to", shaB)
	})

	t.Run("status disagrees when ECS runs something else", func(t *testing.T) {
		// Someone points the service at revision 1 (image A) by hand.
		w.updateService(awsfake.TaskDefinitionARN("api-service", 1))
		_, errs := w.mustRun(t, ExitMismatch, "status")
		wantStderr(t, errs, "differs from the stack", "ECS runs image "+image(shaA)+", the stack deployed "+shaB)
		out, _ := w.mustRun(t, ExitOK, "history", "--output", "json", "--limit", "1")
		w.updateService(w.stackTaskDefinition(t))
		w.aws.Advance(3 * awsfake.Tick) // ECS completes the rollout back
		w.mustRun(t, ExitOK, "status")
		if !strings.Contains(out, shaB) {
			t.Errorf("history changed by a change in ECS: %s", out)
		}
	})

	t.Run("rollback refuses an expired image", func(t *testing.T) {
		w.aws.ArchiveImage("api-service", shaA)
		before := len(w.history(t))
		_, errs := w.mustRun(t, ExitNoImage, "rollback", "--to", shaA)
		if !strings.Contains(errs, "api-service:"+shaA+" is ARCHIVED") {
			t.Errorf("stderr does not name the archived image:\n%s", errs)
		}
		if after := len(w.history(t)); after != before {
			t.Errorf("history grew from %d to %d: a refused rollback ran", before, after)
		}
	})

	t.Run("history", func(t *testing.T) {
		out, _ := w.mustRun(t, ExitOK, "history", "--output", "json")
		var rows []map[string]interface{}
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) < 6 {
			t.Fatalf("%d history rows, want every update", len(rows))
		}
		for _, key := range []string{"imageTag", "result", "startTime", "durationSeconds", "kind"} {
			if _, ok := rows[0][key]; !ok {
				t.Errorf("history JSON rows have no %q: %v", key, rows[0])
			}
		}
		if rows[0]["imageTag"] != shaB {
			t.Errorf("newest row %v, want the rollback to %s first", rows[0], shaB)
		}
		table, _ := w.mustRun(t, ExitOK, "history")
		if !strings.Contains(table, "START") || !strings.Contains(table, shaB[:12]) {
			t.Errorf("history table:\n%s", table)
		}
	})

	t.Run("deploys and rollbacks left Pulumi.dev.yaml as it was", func(t *testing.T) {
		after, err := os.ReadFile(w.p.StackFile())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stackFile, after) {
			t.Errorf("Pulumi.dev.yaml was modified:\nbefore:\n%s\nafter:\n%s", stackFile, after)
		}
	})

	t.Run("guard refuses platform changes", func(t *testing.T) {
		cfg := deploytest.BaseConfig()
		cfg["test:platform"] = "v2"
		w.p.WriteConfig(t, cfg)
		defer w.p.WriteConfig(t, deploytest.BaseConfig())
		before := len(w.history(t))
		w.push(shaD)
		_, errs := w.mustRun(t, ExitRefused, "up", "--sha", shaD)
		wantStderr(t, errs, "refused before touching anything", "aws:ec2/securityGroup:SecurityGroup", "task-sg-v2", "--all")
		if after := len(w.history(t)); after != before {
			t.Errorf("the guard let an update run (history %d → %d)", before, after)
		}
		code, _, _ := w.run("drift")
		if code != ExitDrift {
			t.Errorf("drift with a platform change pending: exit %d, want %d", code, ExitDrift)
		}
	})

	t.Run("drift: none", func(t *testing.T) {
		out, _ := w.mustRun(t, ExitOK, "drift")
		if !strings.Contains(out, "no drift") {
			t.Errorf("stdout: %s", out)
		}
	})
}

// updateService points the stack's service at taskDefinition through the
// ECS API, as someone would by hand.
func (w *world) updateService(taskDefinition string) {
	w.t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := ecs.NewFromConfig(cfg).UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: awssdk.String(w.p.Stack + "-cluster"), Service: awssdk.String("api-service"), TaskDefinition: awssdk.String(taskDefinition),
	}); err != nil {
		w.t.Fatal(err)
	}
}

// stackTaskDefinition is the task definition the stack's outputs name.
func (w *world) stackTaskDefinition(t *testing.T) string {
	t.Helper()
	out, _ := w.mustRun(t, ExitMismatch, "status", "--output", "json")
	var st struct{ TaskDefinitionArn string }
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.TaskDefinitionArn == "" {
		t.Fatalf("status --output json: %v\n%s", err, out)
	}
	return st.TaskDefinitionArn
}

func TestPreviewCommentsOnlyOnChanges(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)

	var mu sync.Mutex
	var posted []string
	gh := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/user":
			// A workflow's installation token has no user.
			http.Error(rw, `{"message":"Resource not accessible by integration"}`, http.StatusForbidden)
		case r.Method == http.MethodGet:
			rw.Write([]byte("[]"))
		case r.Method == http.MethodPost:
			var in struct{ Body string }
			json.NewDecoder(r.Body).Decode(&in)
			posted = append(posted, in.Body)
			rw.WriteHeader(http.StatusCreated)
			rw.Write([]byte("{}"))
		}
	}))
	defer gh.Close()
	w.env["GITHUB_API_URL"], w.env["GITHUB_TOKEN"], w.env["GITHUB_REPOSITORY"] = gh.URL, "tok", "acme/api"

	out, _ := w.mustRun(t, ExitOK, "preview", "--comment", "--pr", "7")
	if !strings.Contains(out, "no changes") || len(posted) != 0 {
		t.Errorf("preview without changes: stdout %q, %d comments posted, want no comment", out, len(posted))
	}

	cfg := deploytest.BaseConfig()
	cfg["test:platform"] = "v2"
	w.p.WriteConfig(t, cfg)
	out, _ = w.mustRun(t, ExitOK, "preview", "--comment", "--pr", "7")
	if len(posted) != 1 {
		t.Fatalf("%d comments posted, want 1", len(posted))
	}
	for _, want := range []string{"<!-- slipway-preview -->\n<!-- section:dev -->\n", "1 to change", "`" + shaA[:7] + "`", "platform change", "task-sg-v2"} {
		if !strings.Contains(posted[0], want) {
			t.Errorf("comment does not contain %q:\n%s", want, posted[0])
		}
	}
	if !strings.Contains(out, "PR comment: created") {
		t.Errorf("stdout does not report the comment:\n%s", out)
	}
	if summary := w.readSummary(t); !strings.Contains(summary, "task-sg-v2") {
		t.Errorf("job summary does not name the platform change task-sg-v2:\n%s", summary)
	}
}

func TestLockedStack(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	cfg, hold := deploytest.HoldConfig(t)
	w.p.WriteConfig(t, cfg)
	w.push(shaB)

	done := make(chan int, 1)
	go func() {
		code, _, _ := w.run("up", "--sha", shaB)
		done <- code
	}()
	deploytest.WaitLocked(t, w.p, hold, done)
	code, _, errs := w.run("up", "--sha", shaB)
	if code != ExitLocked || !strings.Contains(errs, "pulumi cancel") || !strings.Contains(errs, "never does this on its own") {
		t.Errorf("second deploy: exit %d, want %d with the runbook; stderr:\n%s", code, ExitLocked, tail(errs))
	}
	hold.Release(t)
	if code := <-done; code != ExitOK {
		t.Errorf("first deploy: exit %d", code)
	}
}

func TestDeployVerbsBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"up"}, "--sha is required"},
		{[]string{"up", "--sha", "HEAD"}, `--sha: got "HEAD"`},
		{[]string{"up", "--sha", shaA, "--output", "yaml"}, `--output "yaml"`},
		{[]string{"up", "--sha", shaA, "--verify-timeout", "0s"}, "--verify-timeout"},
		{[]string{"up", "--sha", shaA, "--verify-timeout", "876000h"}, "up to 1h0m0s"},
		{[]string{"rollback", "--deadline", "-1m"}, "--deadline -1m0s"},
		{[]string{"up", "--sha", shaA, "--commit-time", "yesterday"}, `--commit-time "yesterday": want a time in RFC 3339`},
		{[]string{"up", "--sha", shaA, "--allow-destructive", "urn:pulumi:prod::slipway::x"}, "--allow-destructive without --all"},
		{[]string{"up", "--sha", shaA, "--github-bypass"}, "--github-bypass without --all"},
		{[]string{"up", "--sha", strings.Repeat("f", 100000)}, `--sha: got "` + strings.Repeat("f", 77) + `..."`},
		{[]string{"history", "--stack", ".."}, `stack "..": want a name`},
		{[]string{"status", "--stack", "."}, `stack ".": want a name`},
		{[]string{"history", "--backend", "http://state.example.com"}, "in the clear"},
		{[]string{"history", "--backend", "HTTP://STATE.example.com"}, "in the clear"},
		{[]string{"status", "--backend", "s3://acme-state?endpoint=http://minio:9000"}, "in the clear"},
		{[]string{"rollback", "--deadline", "100h"}, "up to 6h0m0s"},
		{[]string{"rollback", "--to", "abc"}, `--to: got "abc"`},
		{[]string{"preview", "--comment"}, "--comment needs --pr"},
		{[]string{"preview", "--pr", "3"}, "without --comment"},
		{[]string{"preview", "--comment", "--pr", "3"}, "--comment needs GITHUB_TOKEN"},
		{[]string{"history", "--limit", "-1"}, "--limit -1"},
		{[]string{"status", "--dir", "/nonexistent-slipway"}, "no Pulumi.yaml"},
	}
	for _, tt := range tests {
		t.Run(contract.Clip(strings.Join(tt.args, " ")), func(t *testing.T) {
			code, _, errs := run(t, tt.args...)
			if code != ExitBadInput || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d stderr %q, want %d and %q", code, tail(errs), ExitBadInput, tt.want)
			}
			if len(errs) > 2000 {
				t.Errorf("stderr is %d bytes: bad input is echoed in full", len(errs))
			}
		})
	}
}

// A stack file with a bad value, or still holding an example value of
// Pulumi.prod.yaml, stops every verb that runs the program before the
// engine starts: exit 2 naming the key, and no history entry, job summary,
// lock or stack file change.
func TestBadStackConfigChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	w.push(shaB)
	w.mustRun(t, ExitOK, "up", "--sha", shaB)
	before := w.history(t)
	summary := w.readSummary(t)

	configs := []struct {
		name string
		set  map[string]string
		want []string
	}{
		{"invalid cpu", map[string]string{"slipway:cpu": "300"}, []string{"slipway:cpu", `got "300`}},
		{"example owner", map[string]string{"slipway:githubOwner": "example-org", "github:owner": "example-org"},
			[]string{"github:owner, slipway:githubOwner still hold the example values", "bootstrap step 2"}},
	}
	for _, c := range configs {
		cfg := deploytest.BaseConfig()
		for k, v := range c.set {
			cfg[k] = v
		}
		w.p.WriteConfig(t, cfg)
		stackFile, err := os.ReadFile(w.p.StackFile())
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"up", "--sha", shaA},
			{"up", "--all", "--sha", shaA},
			{"rollback"},
			{"rollback", "--dry-run"},
			{"preview"},
			{"drift"},
		} {
			t.Run(c.name+"/"+strings.Join(args, " "), func(t *testing.T) {
				code, _, errs := w.run(args...)
				if code != ExitBadInput {
					t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitBadInput, tail(errs))
				}
				wantStderr(t, errs, c.want...)
			})
		}
		if got, err := os.ReadFile(w.p.StackFile()); err != nil || !bytes.Equal(got, stackFile) {
			t.Errorf("%s: stack file changed (err %v):\n%s\nwant:\n%s", c.name, err, got, stackFile)
		}
	}
	if after := w.history(t); len(after) != len(before) {
		t.Errorf("history has %d entries after the refused runs, want %d", len(after), len(before))
	}
	if got := w.readSummary(t); got != summary {
		t.Errorf("job summary changed:\n%s\nwant:\n%s", got, summary)
	}
	if locks := w.p.LockFiles(t); len(locks) != 0 {
		t.Errorf("locks left: %v", locks)
	}
}

// When ECS rolls back an up --all that also changed the platform, the
// image is not blamed: nothing is reconciled (that would redeploy the
// previous SHA with the same platform change) or marked rejected.
func TestRolledBackPlatformChangeIsNotBlamedOnTheImage(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	cfg := deploytest.BaseConfig()
	cfg["test:platform"] = "v2"
	w.p.WriteConfig(t, cfg)
	w.push(shaB)
	w.failsToStart(shaB)
	_, errs := w.mustRun(t, ExitRolledBack, "up", "--all", "--sha", shaB)
	wantStderr(t, errs, "ECS ROLLED BACK", "also applied 1 platform change(s)", "nothing was reconciled or marked rejected", "up --all --force")
	if h := w.history(t); h[0].Message != contract.DeployMessage(shaB).String() {
		t.Errorf("newest update %q, want the deploy of %s and no marker or reconcile", h[0].Message, shaB)
	}
	// What the tool says to do works: the stack records shaB while ECS
	// runs shaA, so only --force goes ahead.
	w.p.WriteConfig(t, deploytest.BaseConfig())
	w.push(shaC)
	_, errs = w.mustRun(t, ExitMismatch, "up", "--all", "--sha", shaC)
	wantStderr(t, errs, "ECS runs image tag \""+shaA+"\"", "--force")
	w.mustRun(t, ExitOK, "up", "--all", "--force", "--sha", shaC)
}

// A verified deploy exits 0 even when the job summary cannot be written:
// the summary is a report, and exit 1 would read as an unverified deploy.
func TestVerifiedDeployWithUnwritableSummary(t *testing.T) {
	w := newWorld(t)
	w.env["GITHUB_STEP_SUMMARY"] = t.TempDir() // a folder: opening it for writing fails
	w.push(shaA)
	_, errs := w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	if !strings.Contains(errs, "warning: writing the job summary") {
		t.Errorf("stderr does not warn about the job summary:\n%s", tail(errs))
	}
}

// A rollout ECS has not finished within --verify-timeout is unverified:
// exit 1, nothing rolled back or reconciled, the image not tagged.
func TestStalledDeployIsUnverified(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	w.push(shaB)
	w.aws.SetRollout(image(shaB), awsfake.Rollout{Outcome: awsfake.Stalls})
	_, errs := w.mustRun(t, ExitFailure, "up", "--sha", shaB, "--verify-timeout", "300ms")
	wantStderr(t, errs, "UNVERIFIED", "IN_PROGRESS", "deploy status")
	if h := w.history(t); h[0].Message != contract.DeployMessage(shaB).String() {
		t.Errorf("newest update %q, want the deploy of %s and no reconcile", h[0].Message, shaB)
	}
	if got := w.aws.TagsPut("api-service"); slices.Contains(got, contract.DeployedTagPrefix+shaB) {
		t.Errorf("tags added in ECR %v: an unverified image is tagged as deployed", got)
	}
}

// When the reconcile itself cannot run (the last good image expired), the
// tool says so and how to recover; history still knows ECS rejected the
// new SHA.
func TestFailedReconcile(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	w.push(shaB)
	w.failsToStart(shaB)
	w.aws.ArchiveImage("api-service", shaA)
	_, errs := w.mustRun(t, ExitRolledBack, "up", "--sha", shaB)
	wantStderr(t, errs, "reconciling the stack to "+shaA+" failed", "deploy up --sha "+shaA)
	// The reconcile never ran, but history knows ECS rejected the new SHA
	// from the marker recorded before it.
	if h := w.history(t); h[0].Message != contract.RejectedMessage(shaB).String() || h[0].ImageTag != shaB || h[0].Result != "succeeded" {
		t.Errorf("newest update %+v, want the rejection marker of %s", h[0], shaB)
	}
	if code, _, errs := w.run("rollback", "--to", shaB, "--dry-run"); code != ExitBadInput || !strings.Contains(errs, "ECS rolled it back") {
		t.Errorf("rollback --to the rejected SHA: exit %d, want %d; stderr:\n%s", code, ExitBadInput, tail(errs))
	}
}

// The tool waits for the rollout itself, after the update released the
// stack's lock: an interrupt while it waits stops it at once, says what
// ECS is doing, leaves no lock, and the next deploy works.
func TestInterruptWhileWaitingLeavesNoLock(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	w.push(shaB)
	w.aws.SetRollout(image(shaB), awsfake.Rollout{Outcome: awsfake.Stalls})
	polls := func() int {
		n := 0
		for _, c := range w.aws.Calls() {
			if c == "DescribeServices" || c == "DescribeServiceDeployments" {
				n++
			}
		}
		return n
	}
	before := polls()
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		code      int
		out, errs string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := w.runCtx(ctx, "up", "--sha", shaB)
		done <- result{code, out, errs}
	}()
	// Waiting: ECS is polled well after the update ended.
	for polls() < before+20 {
		select {
		case r := <-done:
			t.Fatalf("up ended (exit %d) before it waited for ECS:\n%s", r.code, tail(r.errs))
		case <-time.After(10 * time.Millisecond):
		}
	}
	if locks := w.p.LockFiles(t); len(locks) != 0 {
		t.Errorf("while the tool waits for ECS the stack is locked: %v", locks)
	}
	cancel()
	r := <-done
	if r.code != ExitFailure {
		t.Errorf("interrupted up: exit %d, want %d", r.code, ExitFailure)
	}
	wantStderr(t, r.errs, "interrupted while waiting for ECS", "holds no lock", "circuit breaker still guards it", "deploy status --stack "+w.p.Stack)
	if locks := w.p.LockFiles(t); len(locks) != 0 {
		t.Errorf("locks left after the interrupt: %v", locks)
	}
	w.push(shaC)
	w.mustRun(t, ExitOK, "up", "--sha", shaC)
}

// drift reports a deployment branch policy other than main on an
// environment the roles trust: a job of it could run from that ref.
func TestDriftReportsForeignBranchPolicies(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	policies := `{"total_count":1,"branch_policies":[{"id":1,"name":"main","type":"branch"}]}`
	gh := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") == "Bearer no-actions-read":
			http.Error(rw, `{"message":"Resource not accessible by personal access token"}`, http.StatusForbidden)
		case r.URL.Path != "/repos/acme/api/environments/production/deployment-branch-policies":
			http.NotFound(rw, r)
		default:
			rw.Write([]byte(policies))
		}
	}))
	defer gh.Close()
	w.environments = []string{"production"}
	w.env["GITHUB_API_URL"], w.env["GITHUB_TOKEN"] = gh.URL, "tok"
	w.mustRun(t, ExitOK, "drift")
	policies = `{"total_count":2,"branch_policies":[{"id":1,"name":"main","type":"branch"},{"id":2,"name":"*","type":"branch"}]}`
	out, _ := w.mustRun(t, ExitDrift, "drift")
	if !strings.Contains(out, `environment production allows branch "*"`) {
		t.Errorf("drift does not name the foreign policy:\n%s", out)
	}
	// A token that may not read them: the check did not run, which is no
	// "no drift".
	w.env["GITHUB_TOKEN"] = "no-actions-read"
	out, errs := w.mustRun(t, ExitFailure, "drift")
	if out != "" || !strings.Contains(errs, "Actions read") {
		t.Errorf("drift with a token that cannot read the policies: stdout %q, stderr:\n%s\nwant no verdict and the permission named", out, errs)
	}
}

// up --commit-time is recorded in history with the deploy, and deploy
// metrics tells the lead time for changes from it.
func TestCommitTimeGivesLeadTime(t *testing.T) {
	w := newWorld(t)
	w.push(shaA)
	commit := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA, "--commit-time", commit.Format(time.RFC3339))
	out, _ := w.mustRun(t, ExitOK, "metrics", "--output", "json")
	var m struct {
		LeadTimes             int
		MedianLeadTimeSeconds float64
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if m.LeadTimes != 1 || m.MedianLeadTimeSeconds < 3600 || m.MedianLeadTimeSeconds > 3600+600 {
		t.Errorf("metrics: %d lead times, median %.0f s; want 1, about an hour\n%s", m.LeadTimes, m.MedianLeadTimeSeconds, out)
	}
}

// A plain-HTTP backend in the environment is refused like --backend; a
// stack with a file but not in the backend is bad input, also for
// history, which reads the history without opening the stack.
func TestBackendAndMissingStack(t *testing.T) {
	var out, errb bytes.Buffer
	c := &Command{Stdout: &out, Stderr: &errb, Program: deploytest.Program,
		Getenv: func(k string) string {
			if k == "PULUMI_BACKEND_URL" {
				return "http://state.example.com"
			}
			return ""
		}}
	if code := c.Main(context.Background(), []string{"history"}); code != ExitBadInput || !strings.Contains(errb.String(), "PULUMI_BACKEND_URL") {
		t.Errorf("history with an http:// PULUMI_BACKEND_URL: exit %d, stderr %s", code, errb.String())
	}
	w := newWorld(t)
	if err := os.WriteFile(filepath.Join(w.p.Dir, "Pulumi.other.yaml"), []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	c.Getenv = func(k string) string { return w.env[k] }
	if code := c.Main(context.Background(), []string{"history", "--dir", w.p.Dir, "--stack", "other"}); code != ExitBadInput || !strings.Contains(errb.String(), "does not exist") {
		t.Errorf("history of a stack not in the backend: exit %d, stderr:\n%s", code, tail(errb.String()))
	}
}

// The first deploy checks the task's secrets too, though the stack has no
// outputs yet: a missing one is refused before the engine runs.
func TestFirstDeployChecksSecrets(t *testing.T) {
	w := newWorld(t)
	cfg := deploytest.BaseConfig()
	cfg["slipway:secrets"] = `{"API_KEY":"arn:aws:ssm:` + deploytest.Region + `:` + deploytest.Account + `:parameter/api/key"}`
	w.p.WriteConfig(t, cfg)
	w.push(shaA)
	out, errs := w.mustRun(t, exitCode(deploy.RefusedMissingSecret), "up", "--all", "--sha", shaA, "--output", "json")
	if o := outcome(t, out); o.Kind != deploy.RefusedMissingSecret || !strings.Contains(errs, "API_KEY") {
		t.Errorf("outcome %s, stderr:\n%s\nwant refused-missing-secret naming API_KEY", o.Kind, errs)
	}
	if h := w.history(t); len(h) != 0 {
		t.Errorf("history %+v, want no update", h)
	}
	w.aws.PutParameter("/api/key")
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
}
