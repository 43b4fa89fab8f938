package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
	"github.com/slipway-dev/slipway/internal/pins"
)

// toolEnv makes the test binary the deploy tool: TestMain runs it as
// cmd/deploy does (Command.Run: until SIGINT or SIGTERM), on the stand-in
// program, when the variable is set.
const toolEnv = "SLIPWAY_CLI_TEST_TOOL"

func TestMain(m *testing.M) {
	if os.Getenv(toolEnv) == "1" {
		os.Exit((&Command{
			Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
			Program: deploytest.Program, Plugins: []pins.Plugin{}, VerifyInterval: 10 * time.Millisecond,
		}).Run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// The runner cancels a step by signalling its entry process (SIGINT, then
// SIGTERM 7.5 s later): the rendered deploy step of cd.yml, run by bash as
// the runner runs it, execs the tool, so the tool itself gets the SIGINT
// while it waits for ECS. It stops at once, says it was interrupted,
// leaves no lock, and the next deploy runs.
func TestRunnerCancelReachesTheTool(t *testing.T) {
	w, _ := stackWorld(t, "staging")
	w.push(shaA)
	w.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	w.push(shaB)
	w.aws.SetRollout(image(shaB), awsfake.Rollout{Outcome: awsfake.Stalls})

	script := renderedStep(t, "deploy-staging", "deploy")
	if !strings.Contains(script, "up --stack staging") {
		t.Fatalf("the rendered step does not deploy staging:\n%s", script)
	}
	// The tool at $RUNNER_TEMP/slipway, as the job's tool check installs it.
	runnerTemp := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(runnerTemp, "slipway")); err != nil {
		t.Fatal(err)
	}
	stepFile := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(stepFile, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", stepFile)
	cmd.Dir = w.p.Dir
	cmd.Env = append(os.Environ(), toolEnv+"=1", "RUNNER_TEMP="+runnerTemp, "GITHUB_SHA="+shaB,
		"COMMIT_TIME=2026-12-01T10:00:00Z", "GITHUB_STEP_SUMMARY="+w.summary)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first progress line: the update is done, the tool
	// follows the rollout.
	var errs strings.Builder
	waiting := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		signalled := false
		for sc.Scan() {
			errs.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), "new tasks running") {
				signalled = true
				close(waiting)
			}
		}
	}()
	select {
	case <-waiting:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-read
		t.Fatalf("the tool never waited for ECS:\n%s", tail(errs.String()))
	}
	if locks := w.p.LockFiles(t); len(locks) != 0 {
		t.Errorf("the stack is locked while the tool waits for ECS: %v", locks)
	}
	// What the runner does first: SIGINT to the step's entry process.
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { <-read; exited <- cmd.Wait() }()
	select {
	case err = <-exited:
	case <-time.After(7500 * time.Millisecond):
		// The runner's SIGTERM would come now: the SIGINT was not enough.
		cmd.Process.Kill()
		t.Fatalf("the tool was still running 7.5 s after the SIGINT:\n%s", tail(errs.String()))
	}
	if code := cmd.ProcessState.ExitCode(); code != ExitFailure {
		t.Errorf("exit %d (%v), want %d", code, err, ExitFailure)
	}
	wantStderr(t, errs.String(), "interrupted while waiting for ECS", "holds no lock", "deploy status --stack staging")
	if locks := w.p.LockFiles(t); len(locks) != 0 {
		t.Errorf("locks left after the cancel: %v", locks)
	}
	// The next deploy runs: nothing was left behind.
	w.push(shaC)
	w.mustRun(t, ExitOK, "up", "--sha", shaC)
}

// renderedStep is the run: script of a step of cd.yml as the golden file
// holds it (the render of the templates).
func renderedStep(t *testing.T, job, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deploytest.Root(), "workflows", "testdata", "golden", "cd.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				ID  string `yaml:"id"`
				Run string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	for _, s := range wf.Jobs[job].Steps {
		if s.ID == id {
			return s.Run
		}
	}
	t.Fatalf("cd.yml has no step %s in job %s", id, job)
	return ""
}
