package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
	"github.com/slipway-dev/slipway/internal/pins"
)

// benchSHA is the i-th deploy's SHA.
func benchSHA(i int) string { return fmt.Sprintf("%040x", i+1) }

// benchProject is a stack whose history holds n deploys, written straight
// into its file:// backend.
func benchProject(b *testing.B, n int) deploytest.Project {
	b.Helper()
	p := deploytest.NewProject(b, "bench", deploytest.BaseConfig())
	for k, v := range p.Env {
		b.Setenv(k, v)
	}
	entries := make([]deploytest.Entry, n)
	for i := range entries {
		entries[i] = deploytest.Entry{ImageTag: benchSHA(i), Message: contract.DeployMessage(benchSHA(i)).String()}
	}
	p.WriteHistory(b, entries)
	return p
}

// BenchmarkVerbs times the tool's read-only verbs as a user runs them
// (the whole command, opening the stack included) side by side with what
// a user would run instead, the raw `pulumi stack history --json`
// (default page, no secrets), alternately in the same process, on stacks
// of 10, 300 and 1000 updates. It reports each mean (ms) and tool/raw.
func BenchmarkVerbs(b *testing.B) {
	for _, n := range []int{10, 300, 1000} {
		p := benchProject(b, n)
		c := &Command{Stdout: io.Discard, Stderr: io.Discard, Getenv: os.Getenv, Program: deploytest.Program, Plugins: []pins.Plugin{}}
		raw := func() error {
			cmd := exec.Command("pulumi", "stack", "history", "--json", "--stack", p.Stack)
			cmd.Dir = p.Dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%w\n%s", err, out)
			}
			return nil
		}
		verbs := [][]string{{"history", "--output", "json"}, {"rollback", "--dry-run"}}
		if n > 250 {
			verbs = append(verbs, []string{"rollback", "--dry-run", "--to", benchSHA(n - 1 - 250)})
		}
		for _, verb := range verbs {
			name := verb[0]
			if len(verb) > 2 && verb[2] == "--to" {
				name += "-to-250-back"
			} else if verb[0] == "rollback" {
				name += "-dry-run"
			}
			tool := func() error {
				if code := c.Main(context.Background(), append(verb, "--dir", p.Dir, "--stack", p.Stack)); code != ExitOK {
					return fmt.Errorf("deploy %v: exit %d", verb, code)
				}
				return nil
			}
			b.Run(fmt.Sprintf("updates=%d/%s", n, name), func(b *testing.B) {
				var rawTime, toolTime time.Duration
				runs := 0
				timed := func(f func() error, total *time.Duration) {
					start := time.Now()
					if err := f(); err != nil {
						b.Fatal(err)
					}
					*total += time.Since(start)
				}
				for b.Loop() {
					if runs%2 == 0 {
						timed(raw, &rawTime)
						timed(tool, &toolTime)
					} else {
						timed(tool, &toolTime)
						timed(raw, &rawTime)
					}
					runs++
				}
				b.ReportMetric(float64(rawTime)/1e6/float64(runs), "raw-ms")
				b.ReportMetric(float64(toolTime)/1e6/float64(runs), "tool-ms")
				b.ReportMetric(float64(toolTime)/float64(rawTime), "tool/raw")
			})
		}
	}
}
