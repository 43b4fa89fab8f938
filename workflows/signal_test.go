package workflows

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// How the runner cancels a step (actions/runner #1309): SIGINT to the
// step's entry process, the shell, then SIGTERM after a grace, then a kill
// of the process tree. The runner waits 7.5 s before SIGTERM and 2.5 s
// before the kill; the test waits less, as the stand-in answers at once.
const (
	cancelGrace = 2 * time.Second
	exitWait    = 5 * time.Second // for the stand-in to start, and for output to end
)

// runnerShell is how the runner starts a run: step under shell: bash.
var runnerShell = []string{"bash", "--noprofile", "--norc", "-eo", "pipefail"}

// The steps that run the deploy tool with the deploy role, by file and
// step id (every job's): cancelling one must reach the tool, which stops
// waiting and leaves no lock (the engine tests check that part with the
// real tool).
var deploySteps = []struct{ file, id string }{
	{"cd.yml", "deploy"},
	{"rollback.yml", "rollback"},
}

type signalStep struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Env  map[string]string `yaml:"env"`
	Run  string            `yaml:"run"`
}

type signalWorkflow struct {
	Defaults struct {
		Run struct {
			Shell string `yaml:"shell"`
		} `yaml:"run"`
	} `yaml:"defaults"`
	Jobs map[string]struct {
		Steps []signalStep `yaml:"steps"`
	} `yaml:"jobs"`
}

// buildStandin builds testdata/standin, which blocks until SIGINT or
// SIGTERM and then prints "interrupted" and exits 1, as the tool at
// "$RUNNER_TEMP/slipway".
func buildStandin(t *testing.T) (runnerTemp string) {
	t.Helper()
	runnerTemp = t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(runnerTemp, "slipway"), "./testdata/standin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the stand-in: %v\n%s", err, out)
	}
	return runnerTemp
}

func TestCancelSignalsTheTool(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatalf("bash not found (%v): the runner runs these steps with bash", err)
	}
	runnerTemp := buildStandin(t)
	for _, set := range paramSets {
		rendered := renderedByName(t, set.p)
		for _, d := range deploySteps {
			var w signalWorkflow
			if err := yaml.Unmarshal(rendered[d.file], &w); err != nil {
				t.Fatal(err)
			}
			if w.Defaults.Run.Shell != "bash" {
				t.Fatalf("%s: defaults.run.shell = %q, want bash (the shell this test runs the step with)", d.file, w.Defaults.Run.Shell)
			}
			found := 0
			for job, j := range w.Jobs {
				for _, s := range j.Steps {
					if s.ID != d.id {
						continue
					}
					found++
					t.Run(set.name+"/"+d.file+"/"+job, func(t *testing.T) { cancelStep(t, s, runnerTemp) })
				}
			}
			if found == 0 {
				t.Errorf("%s: %s has no step with id %q", set.name, d.file, d.id)
			}
		}
	}
}

// cancelStep runs the step's script as the runner does, cancels it as the
// runner does once the tool has started, and checks that the tool got the
// signal, said so, exited 1, and left no process behind.
func cancelStep(t *testing.T, s signalStep, runnerTemp string) {
	script := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(script, []byte(s.Run), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "RUNNER_TEMP=" + runnerTemp,
		"GITHUB_SHA=" + strings.Repeat("a", 40), "GITHUB_WORKSPACE=" + t.TempDir()}
	for k := range s.Env {
		// The values are expressions the runner would expand; any
		// stand-in value will do, the empty one for the optional inputs.
		v := "x"
		if strings.Contains(s.Env[k], "inputs.") {
			v = ""
		}
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(runnerShell[0], append(runnerShell[1:], script)...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	// Its own process group, so the test can find and kill whatever it
	// leaves behind, as the runner kills the tree.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A pipe of the test's own, not StdoutPipe: Wait then waits for the
	// shell only, not for a process left holding the pipe.
	stdout, stdoutW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	cmd.Stdout = stdoutW
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdoutW.Close()
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })

	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out []string
	select {
	case l, ok := <-lines:
		if !ok || !strings.HasPrefix(l, "started ") {
			t.Fatalf("the tool did not start: stdout %q, stderr %q", l, stderr.String())
		}
		out = append(out, l)
	case <-time.After(exitWait):
		t.Fatalf("the tool did not start within %v; stderr %q", exitWait, stderr.String())
	}

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	killed := false
	select {
	case waitErr = <-done:
	case <-time.After(cancelGrace):
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		select {
		case waitErr = <-done:
		case <-time.After(cancelGrace):
			// The runner's last resort: it kills the tree.
			killed = true
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			waitErr = <-done
		}
	}

	// Whatever the shell started and left is still in its process group;
	// the runner would now kill the tree.
	leftover := !killed && syscall.Kill(-pgid, 0) == nil
	if leftover {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	drained := time.After(exitWait)
read:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break read
			}
			out = append(out, l)
		case <-drained:
			t.Fatalf("the step's output did not end after its process group was killed; output %q", out)
		}
	}

	var exit *exec.ExitError
	code := -1
	if errors.As(waitErr, &exit) {
		code = exit.ExitCode()
	}
	joined := strings.Join(out, "\n")
	if !strings.Contains(joined, "interrupted") {
		t.Errorf("the tool never got the cancel signal (it did not print \"interrupted\"): output %q, shell %v", joined, waitErr)
	}
	if code != 1 {
		t.Errorf("the step exited %v, want exit 1 from the interrupted tool", waitErr)
	}
	if killed {
		t.Errorf("the step outlived SIGINT and SIGTERM and was killed, as the runner kills the tree: the tool ran on until then")
	}
	if leftover {
		t.Errorf("a process of the step outlived the step's shell: the tool was left running, orphaned")
	}
}
