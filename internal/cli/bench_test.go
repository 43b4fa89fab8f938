package cli

import (
	"context"
	"fmt"
	"github.com/slipway-dev/slipway/internal/contract"
	"io"
	"os"
	"os/exec"
	"testing"

	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
	"github.com/slipway-dev/slipway/internal/pins"
)

// benchSHA is the i-th deploy's SHA.
func benchSHA(i int) string { return fmt.Sprintf("%040x", i+1) }

// deployedProject is a stack with n real deploys in a file:// backend.
func deployedProject(b *testing.B, n int) deploytest.Project {
	b.Helper()
	p := deploytest.NewProject(b, "bench", deploytest.BaseConfig())
	for k, v := range p.Env {
		b.Setenv(k, v)
	}
	s, err := deploy.Open(context.Background(), deploy.Options{
		ProjectDir: p.Dir, Stack: p.Stack, Program: deploytest.Program, ImageTagKey: imageTagKey(),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < n; i++ {
		if _, err := s.Up(context.Background(), benchSHA(i), contract.DeployMessage(benchSHA(i)).String()); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkHistory compares the tool's history (and rollback --dry-run,
// which reads the same history) with the raw CLI's `pulumi stack history
// --json` on the same stack, at 10 and 200 past deploys. Report the ratio
// of ns/op (tool / raw).
func BenchmarkHistory(b *testing.B) {
	for _, n := range []int{10, 200} {
		p := deployedProject(b, n)
		c := &Command{Stdout: io.Discard, Stderr: io.Discard, Getenv: os.Getenv, Program: deploytest.Program, Plugins: []pins.Plugin{}}
		b.Run(fmt.Sprintf("deploys=%d/raw-cli", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cmd := exec.Command("pulumi", "stack", "history", "--json", "--show-secrets", "--stack", p.Stack)
				cmd.Dir = p.Dir
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
			}
		})
		for _, verb := range [][]string{{"history", "--output", "json"}, {"rollback", "--dry-run"}} {
			b.Run(fmt.Sprintf("deploys=%d/tool-%s", n, verb[0]), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if code := c.Main(context.Background(), append(verb, "--dir", p.Dir, "--stack", p.Stack)); code != ExitOK {
						b.Fatalf("exit %d", code)
					}
				}
			})
		}
	}
}
