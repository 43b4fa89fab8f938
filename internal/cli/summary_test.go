package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
)

// update rewrites the golden files of this package's tests from what the
// code renders now: go test ./internal/cli/ -run Golden -update.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or writes it there with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what is rendered (run with -update if the change is intended):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// summaryT0 is when the fixed outcomes' first phase starts.
var summaryT0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

// step is a phase's name, result and length.
type step = struct {
	name, result string
	d            time.Duration
}

// phases are consecutive phases, from summaryT0.
func phases(steps ...step) []deploy.Phase {
	var out []deploy.Phase
	at := summaryT0
	for _, s := range steps {
		out = append(out, deploy.Phase{Name: s.name, Start: at, End: at.Add(s.d), Result: s.result})
		at = at.Add(s.d)
	}
	return out
}

func verifiedOutcome() deploy.Outcome {
	o := deploy.Outcome{Kind: deploy.Verified, Stack: "prod", Verb: "deploy", ImageTag: shaB, Previous: shaA,
		TaskDefinitionArn: awsfake.TaskDefinitionARN("api-service", 2), ServiceURL: "https://api.example.com",
		Changes: map[string]int{"same": 40, "update": 1, "create": 1},
		Phases: phases(step{deploy.PhaseImageCheck, "ok", 812 * time.Millisecond}, step{deploy.PhaseGuard, "ok", 6200 * time.Millisecond},
			step{deploy.PhaseUpdate, "ok", 48500 * time.Millisecond}, step{deploy.PhaseVerify, "ok", 72 * time.Second},
			step{deploy.PhaseTag, "ok", 310 * time.Millisecond})}
	// The lifecycle stages ECS reported during the rollout follow it.
	rollout := o.Phases[3]
	stages := []deploy.Phase{
		{Name: deploy.PhaseStagePrefix + "SCALE_UP", Start: rollout.Start.Add(2 * time.Second), End: rollout.Start.Add(38 * time.Second), Result: "ok"},
		{Name: deploy.PhaseStagePrefix + "BAKE_TIME", Start: rollout.Start.Add(38 * time.Second), End: rollout.Start.Add(68 * time.Second), Result: "ok"},
		{Name: deploy.PhaseStagePrefix + "CLEAN_UP", Start: rollout.Start.Add(68 * time.Second), End: rollout.End, Result: "ok"},
	}
	o.Phases = slices.Insert(o.Phases, 4, stages...)
	return o
}

func rolledBackOutcome() deploy.Outcome {
	exit := int32(1)
	o := deploy.Outcome{Kind: deploy.RolledBackReconciled, Stack: "prod", Verb: "deploy", ImageTag: shaC, Previous: shaB, Reconciled: shaB, RunningImageTag: shaB,
		TaskDefinitionArn: awsfake.TaskDefinitionARN("api-service", 3), ServiceURL: "https://api.example.com",
		Reason: "circuit breaker: rolling back to deployment ecs-svc/2", Changes: map[string]int{"same": 40, "update": 1, "create": 1},
		Phases: phases(step{deploy.PhaseImageCheck, "ok", 790 * time.Millisecond}, step{deploy.PhaseGuard, "ok", 5900 * time.Millisecond},
			step{deploy.PhaseUpdate, "ok", 47 * time.Second}, step{deploy.PhaseVerify, "rolled-back", 3*time.Minute + 10*time.Second},
			step{deploy.PhaseMarkRejected, "ok", 4 * time.Second}, step{deploy.PhaseReconcileCheck, "ok", 600 * time.Millisecond},
			step{deploy.PhaseReconcile, "ok", 95 * time.Second}, step{deploy.PhaseTag, "ok", 280 * time.Millisecond}),
		Diagnostics: &deploy.Diagnostics{
			Headline: "ECS ROLLED BACK THE DEPLOY: circuit breaker: rolling back to deployment ecs-svc/2",
			StoppedTasks: []awsx.StoppedTask{{
				Arn: "arn:aws:ecs:us-east-1:123456789012:task/prod-cluster/0a1b", TaskDefinition: awsfake.TaskDefinitionARN("api-service", 3),
				StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited",
				StoppedAt:  summaryT0.Add(2 * time.Minute),
				Containers: []awsx.ContainerStop{{Name: "app", ExitCode: &exit, Reason: "panic: config | missing\n<script>alert(1)</script> [x](http://evil)"}},
			}},
			Events: []awsx.Event{
				{At: summaryT0.Add(3 * time.Minute), Message: "(service api-service) deployment ecs-svc/3 deployment failed: tasks failed to start | rolling back"},
				{At: summaryT0.Add(2 * time.Minute), Message: "(service api-service) has started 2 tasks: (task 0a1b) (task 2c3d)."},
			},
		},
	}
	o.Err = errors.New("ECS rolled back the deploy of " + shaC + "; the stack is reconciled to " + shaB)
	o.Error = o.Err.Error()
	return o
}

// The job summary of a verified deploy and of an ECS rollback with its
// reconcile, from fixed outcomes.
func TestGoldenDeploySummary(t *testing.T) {
	tests := []struct {
		file string
		o    deploy.Outcome
	}{
		{"summary-verified.md", verifiedOutcome()},
		{"summary-rolled-back.md", rolledBackOutcome()},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			golden(t, tt.file, deploySummaryMarkdown(tt.o))
		})
	}
}

// The job summary of deploy metrics, from fixed metrics.
func TestGoldenMetricsSummary(t *testing.T) {
	until := summaryT0.AddDate(0, 0, 30)
	m := deploy.DeliveryMetrics{Since: summaryT0, Until: until, Deploys: 7, RolledBackByECS: 2, DeploysPerDay: 7.0 / 30, FailedChanges: 3,
		ChangeFailureRate: 3.0 / 7, Restored: 2, Unrestored: 1, MedianTimeToRestore: 66 * time.Minute, LongestTimeToRestore: 2*time.Hour + 2*time.Minute,
		MedianDeployDuration: 4 * time.Minute,
		Failures: []deploy.FailedChange{
			{Version: 3, SHA: shaC, Start: summaryT0.Add(time.Hour), By: "ecs", Restored: summaryT0.Add(time.Hour + 10*time.Minute)},
			{Version: 7, SHA: shaD, Start: summaryT0.Add(24 * time.Hour), By: "rollback", Restored: summaryT0.Add(26*time.Hour + 2*time.Minute)},
			{Version: 11, SHA: shaA, Start: summaryT0.Add(48 * time.Hour), By: "ecs"},
		}}
	golden(t, "metrics.md", metricsMarkdown("prod", m))
}

// Text from ECS cannot make HTML, links or table cells in the summary.
func TestMarkdownEscaping(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a | b", `a \| b`},
		{"line\nbreak\r\nand\ttab", "line break  and tab"},
		{"<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"[click](http://evil) ![img](http://evil)", `\[click\](http://evil) \!\[img\](http://evil)`},
		{"`code` *em* _em_ ~del~ \\", "\\`code\\` \\*em\\* \\_em\\_ \\~del\\~ \\\\"},
		{"&amp;", "&amp;amp;"},
	}
	for _, tt := range tests {
		if got := mdText(tt.in); got != tt.want {
			t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"engine update", "engine update"},
		{"a: b; c # d %% e\nf", "a b c  d  e f"},
	} {
		if got := ganttText(tt.in); got != tt.want {
			t.Errorf("ganttText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"https://api.example.com", "[https://api.example.com](https://api.example.com)"},
		{"javascript:alert(1)", "javascript:alert(1)"},
		{"https://x.example.com/a)b", "https://x.example.com/a)b"},
	} {
		if got := link(tt.in); got != tt.want {
			t.Errorf("link(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// hook is a webhook that records what is posted to it and answers with
// status.
type hook struct {
	mu     sync.Mutex
	posted []map[string]interface{}
	status int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var m map[string]interface{}
	json.Unmarshal(b, &m)
	h.mu.Lock()
	h.posted = append(h.posted, m)
	h.mu.Unlock()
	w.WriteHeader(h.status)
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.posted)
}

// renderOutcome writes the service URL to $GITHUB_OUTPUT and posts the
// outcomes a webhook hears of; a webhook that fails only warns, without
// its URL, and the exit stays the outcome's.
func TestRenderOutcomeReports(t *testing.T) {
	refused := deploy.Outcome{Kind: deploy.RefusedNoImage, Stack: "prod", Verb: "deploy", ImageTag: shaD, Previous: shaB, Phases: phases(step{deploy.PhaseImageCheck, "refused", time.Second}),
		Error: "image api-service:" + shaD + " is not in ECR"}
	tests := []struct {
		name       string
		o          deploy.Outcome
		status     int
		wantCode   int
		wantPosts  int
		wantOutput string
		wantWarn   string
	}{
		{name: "verified", o: verifiedOutcome(), status: http.StatusOK, wantCode: ExitOK, wantPosts: 1, wantOutput: "service-url=https://api.example.com\n"},
		{name: "rolled back", o: rolledBackOutcome(), status: http.StatusOK, wantCode: ExitRolledBack, wantPosts: 1, wantOutput: "service-url=https://api.example.com\n"},
		{name: "webhook fails", o: verifiedOutcome(), status: http.StatusInternalServerError, wantCode: ExitOK, wantPosts: 1,
			wantOutput: "service-url=https://api.example.com\n", wantWarn: "warning: the notification was not sent: the webhook of 127.0.0.1 answered 500"},
		{name: "rolled back, webhook fails: the exit is still the rollback's", o: rolledBackOutcome(), status: http.StatusInternalServerError, wantCode: ExitRolledBack, wantPosts: 1,
			wantOutput: "service-url=https://api.example.com\n", wantWarn: "warning: the notification was not sent: the webhook of 127.0.0.1 answered 500"},
		{name: "refused: posted, no URL", o: refused, status: http.StatusOK, wantCode: ExitNoImage, wantPosts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hook{status: tt.status}
			srv := httptest.NewServer(h)
			defer srv.Close()
			webhook := srv.URL + "/services/T000/s3cr3t"
			output := filepath.Join(t.TempDir(), "output")
			env := map[string]string{"SLIPWAY_WEBHOOK_URL": webhook, "GITHUB_OUTPUT": output, "GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "summary.md"),
				"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/api", "GITHUB_RUN_ID": "42"}
			var stdout, stderr bytes.Buffer
			c := &Command{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string { return env[k] }}
			code := ExitOK
			opts := &CommonOptions{Output: "json", cfg: contract.Config{GitHubEnvironment: "production"}}
			if err := c.renderOutcome(opts, tt.o); err != nil {
				var e exitError
				if !errors.As(err, &e) {
					t.Fatalf("renderOutcome: %v, want an exit code with it", err)
				}
				code = e.code
			}
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if got := h.count(); got != tt.wantPosts {
				t.Errorf("%d posts, want %d", got, tt.wantPosts)
			}
			if tt.wantPosts > 0 {
				p := h.posted[0]
				want := map[string]interface{}{"stack": "prod", "environment": "production", "sha": tt.o.ImageTag, "previous": tt.o.Previous, "outcome": string(tt.o.Kind),
					"runUrl": "https://github.com/acme/api/actions/runs/42"}
				for k, v := range want {
					if p[k] != v {
						t.Errorf("posted %s = %v, want %v", k, p[k], v)
					}
				}
				if text, _ := p["text"].(string); !strings.Contains(text, "slipway deploy "+tt.o.ImageTag[:7]+" to prod: "+string(tt.o.Kind)) {
					t.Errorf("posted text %q", text)
				}
				if secs, _ := p["durationSeconds"].(float64); secs <= 0 {
					t.Errorf("posted durationSeconds %v, want the deploy's", p["durationSeconds"])
				}
			}
			got, _ := os.ReadFile(output)
			if string(got) != tt.wantOutput {
				t.Errorf("$GITHUB_OUTPUT %q, want %q", got, tt.wantOutput)
			}
			if tt.wantWarn != "" && !strings.Contains(stderr.String(), tt.wantWarn) {
				t.Errorf("stderr does not warn %q:\n%s", tt.wantWarn, stderr.String())
			}
			if all := stdout.String() + stderr.String(); strings.Contains(all, "s3cr3t") {
				t.Errorf("the webhook URL is in the output:\n%s", all)
			}
		})
	}
}

// A real deploy's job summary holds the gantt chart of its phases and
// the step output the service URL; an ECS rollback's summary says what
// ECS said; the webhook hears of both; metrics counts them.
func TestDeployReportsEngine(t *testing.T) {
	w := newWorld(t)
	h := &hook{status: http.StatusOK}
	srv := httptest.NewServer(h)
	defer srv.Close()
	output := filepath.Join(t.TempDir(), "output")
	w.env["GITHUB_OUTPUT"], w.env["SLIPWAY_WEBHOOK_URL"] = output, srv.URL+"/hook"
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	w.push(shaB)
	w.mustRun(t, ExitOK, "up", "--sha", shaB)
	summary := w.readSummary(t)
	for _, want := range []string{"### slipway deploy `" + shaB[:7] + "` to " + w.p.Stack, "```mermaid\ngantt\n", "dateFormat x", "section deploy " + shaB[:7],
		deploy.PhaseUpdate + " :done, p3, ", "| " + deploy.PhaseVerify + " | ok |", "| previous | `" + shaA + "` |"} {
		if !strings.Contains(summary, want) {
			t.Errorf("job summary does not contain %q:\n%s", want, summary)
		}
	}
	w.push(shaC)
	w.failsToStart(shaC)
	w.mustRun(t, ExitRolledBack, "up", "--sha", shaC)
	summary = w.readSummary(t)
	for _, want := range []string{"section reconcile to " + shaB[:7], deploy.PhaseVerify + " :crit, ", "#### What ECS said", "Essential container in task exited"} {
		if !strings.Contains(summary, want) {
			t.Errorf("job summary does not contain %q:\n%s", want, summary)
		}
	}
	got, err := os.ReadFile(output)
	if want := strings.Repeat("service-url=http://alb.example.com\n", 3); err != nil || string(got) != want {
		t.Errorf("$GITHUB_OUTPUT %q (%v), want %q", got, err, want)
	}
	if n := h.count(); n != 3 {
		t.Errorf("%d notifications, want 3 (two verified deploys and the rollback)", n)
	} else if h.posted[2]["outcome"] != string(deploy.RolledBackReconciled) {
		t.Errorf("last notification %v, want the rollback", h.posted[2])
	}
	out, _ := w.mustRun(t, ExitOK, "metrics", "--output", "json")
	var m metricsJSON
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// A, B, C (rolled back by ECS) and the reconcile to B; C failed and
	// the reconcile restored it.
	if m.Deploys != 4 || m.RolledBackByECS != 1 || m.FailedChanges != 1 || m.Restored != 1 || len(m.Failures) != 1 || m.Failures[0].SHA != shaC || m.Failures[0].By != "ecs" {
		t.Errorf("metrics %+v, want 4 deploys, C rolled back by ECS and restored", m)
	}
	if strings.Contains(out, `"version"`) {
		t.Errorf("metrics --output json names a failed change's version, which a file:// backend does not number:\n%s", out)
	}
	w.env["GITHUB_STEP_SUMMARY"] = filepath.Join(t.TempDir(), "metrics.md")
	w.summary = w.env["GITHUB_STEP_SUMMARY"]
	table, _ := w.mustRun(t, ExitOK, "metrics", "--since", "1h", "--summary")
	if !strings.Contains(table, "change failure rate     25.0% (1 failed of 4)") {
		t.Errorf("metrics table:\n%s", table)
	}
	if s := w.readSummary(t); !strings.Contains(s, "| change failure rate | 25.0% (1 failed of 4) |") {
		t.Errorf("metrics --summary wrote:\n%s", s)
	}
	if code, _, errs := w.run("metrics", "--since", "0s"); code != ExitBadInput || !strings.Contains(errs, "--since 0s") {
		t.Errorf("metrics --since 0s: exit %d, stderr %s", code, errs)
	}
}

// A deploy that fails before it could be decided (here: a backend it
// cannot open) is reported as a failed outcome, with the job summary and
// the notification; bad input changes nothing and is neither.
func TestFailureBeforeTheDeployIsReported(t *testing.T) {
	w := newWorld(t)
	h := &hook{status: http.StatusOK}
	srv := httptest.NewServer(h)
	defer srv.Close()
	w.env["SLIPWAY_WEBHOOK_URL"] = srv.URL + "/hook"
	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantPosts int
		want      string // in the summary and the stderr; "" for no summary
	}{
		{"bad input: exit 2, no report", []string{"up", "--sha", "nope"}, ExitBadInput, 0, ""},
		{"a backend that cannot be opened: failed, reported", []string{"up", "--sha", shaA, "--backend", "file:///dev/null/state"}, ExitFailure, 1, "/dev/null"},
		{"rollback too", []string{"rollback", "--backend", "file:///dev/null/state"}, ExitFailure, 2, "/dev/null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(w.summary)
			code, out, errs := w.run(append(tt.args, "--output", "json")...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, tail(errs))
			}
			if got := h.count(); got != tt.wantPosts {
				t.Errorf("%d posts in all, want %d", got, tt.wantPosts)
			}
			summary, _ := os.ReadFile(w.summary)
			if tt.want == "" {
				if len(summary) != 0 || out != "" {
					t.Errorf("bad input wrote summary %q, stdout %q; want neither", summary, out)
				}
				return
			}
			if o := outcome(t, out); o.Kind != deploy.Failed || !strings.Contains(o.Error, tt.want) {
				t.Errorf("outcome %s %q, want failed naming %q", o.Kind, o.Error, tt.want)
			}
			if !strings.Contains(string(summary), "❌ failed") || !strings.Contains(string(summary), tt.want) || !strings.Contains(errs, tt.want) {
				t.Errorf("summary:\n%s\nstderr:\n%s\nwant both to report the failure naming %q", summary, errs, tt.want)
			}
		})
	}
}

// failedBefore: an error of the context's end is an interruption, and the
// outcome's phases are an empty list, never null, in --output json.
func TestFailedBefore(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		want deploy.Kind
	}{
		{"an engine error", context.Background(), deploy.Failed},
		{"the context ended", cancelled, deploy.Interrupted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			c := &Command{Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" }}
			err := c.failedBefore(tt.ctx, &CommonOptions{Output: "json"}, deploy.Outcome{Stack: "prod", Verb: "deploy"}, errors.New("opening stack: boom"))
			var e exitError
			if !errors.As(err, &e) || e.code != exitCode(tt.want) {
				t.Fatalf("failedBefore = %v, want exit %d", err, exitCode(tt.want))
			}
			var o struct {
				Kind   deploy.Kind     `json:"outcome"`
				Phases json.RawMessage `json:"phases"`
				Error  string          `json:"error"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &o); err != nil || o.Kind != tt.want || string(o.Phases) != "[]" || o.Error != "opening stack: boom" {
				t.Errorf("--output json %s (%v), want %s with phases [] and the error", stdout.String(), err, tt.want)
			}
		})
	}
	var stdout bytes.Buffer
	c := &Command{Stdout: &stdout, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	var in inputError
	if err := c.failedBefore(context.Background(), &CommonOptions{Output: "json"}, deploy.Outcome{}, badInput("--sha nope")); !errors.As(err, &in) || stdout.Len() != 0 {
		t.Errorf("bad input: %v, stdout %q; want the bad input as it is and nothing rendered", err, stdout.String())
	}
}
