package deploy

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// benchStack is a stack whose history holds n updates, written straight
// to the backend: deploys of sha(0) (oldest) to sha(n-1), every seventh
// one failed (never the newest two, nor the one 250 updates back).
func benchStack(b *testing.B, n int) (deploytest.Project, *Session) {
	b.Helper()
	p := deploytest.NewProject(b, "bench", deploytest.BaseConfig())
	entries := make([]deploytest.Entry, n)
	for i := range entries {
		entries[i] = deploytest.Entry{ImageTag: sha(i), Message: contract.DeployMessage(sha(i)).String()}
		if i%7 == 3 {
			entries[i].Result = "failed"
		}
	}
	p.WriteHistory(b, entries)
	s, err := Open(context.Background(), Options{ProjectDir: p.Dir, Stack: p.Stack, Program: deploytest.Program, ImageTagKey: "slipway:imageTag", Env: p.Env})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return p, s
}

// rawHistory runs what the tool is compared with: the CLI's own
// `pulumi stack history --json`, default page, no secrets.
func rawHistory(p deploytest.Project) error {
	cmd := exec.Command("pulumi", "stack", "history", "--json", "--stack", p.Stack)
	cmd.Dir = p.Dir
	cmd.Env = os.Environ()
	for k, v := range p.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	return nil
}

// sideBySide runs x and y alternately, each first every other time, so
// that both see the same machine load, and reports the mean time of each
// (ms, as nameX-ms and nameY-ms) and their ratio (nameY/nameX).
func sideBySide(b *testing.B, nameX string, x func() error, nameY string, y func() error) {
	var xTime, yTime time.Duration
	n := 0
	timed := func(f func() error, total *time.Duration) {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		*total += time.Since(start)
	}
	for b.Loop() {
		if n%2 == 0 {
			timed(x, &xTime)
			timed(y, &yTime)
		} else {
			timed(y, &yTime)
			timed(x, &xTime)
		}
		n++
	}
	b.ReportMetric(float64(xTime)/1e6/float64(n), nameX+"-ms")
	b.ReportMetric(float64(yTime)/1e6/float64(n), nameY+"-ms")
	b.ReportMetric(float64(yTime)/float64(xTime), nameY+"/"+nameX)
}

// question is one history question of the tool.
type question struct {
	name string
	ask  func() error
}

// questions are the tool's history questions on s, a benchStack of n
// updates (rollback --dry-run asks RollbackTarget); the one 250 updates
// back only when n is more than 250.
func questions(s *Session, n int) []question {
	ctx := context.Background()
	qs := []question{
		{"newest-20", func() error {
			us, err := Recent(ctx, s, 20)
			if err == nil && len(us) != min(n, 20) {
				err = fmt.Errorf("got %d updates, want %d", len(us), min(n, 20))
			}
			return err
		}},
		{"rollback-target", func() error {
			r, err := RollbackTarget(ctx, s, "")
			if err == nil && r.Target != sha(n-2) {
				err = fmt.Errorf("target %s, want %s", r.Target, sha(n-2))
			}
			return err
		}},
	}
	if n > 250 {
		qs = append(qs, question{"to-250-back", func() error {
			r, err := RollbackTarget(ctx, s, sha(n-1-250))
			if err == nil && r.Target != sha(n-1-250) {
				err = fmt.Errorf("target %s, want %s", r.Target, sha(n-1-250))
			}
			return err
		}})
	}
	return qs
}

// BenchmarkHistory times each history question of the tool on an open
// session side by side with the raw CLI on the same stack, for stacks of
// 10, 300 and 1000 updates.
func BenchmarkHistory(b *testing.B) {
	for _, n := range []int{10, 300, 1000} {
		p, s := benchStack(b, n)
		for _, q := range questions(s, n) {
			b.Run(fmt.Sprintf("updates=%d/%s", n, q.name), func(b *testing.B) {
				sideBySide(b, "raw", func() error { return rawHistory(p) }, "tool", q.ask)
			})
		}
	}
}

// BenchmarkHistoryGrowth times each question on a stack of 1000 updates
// side by side with the same question on a stack of 10, and the raw CLI
// likewise, which shows what the CLI's own listing of a longer history
// adds.
func BenchmarkHistoryGrowth(b *testing.B) {
	p10, s10 := benchStack(b, 10)
	p1000, s1000 := benchStack(b, 1000)
	b.Run("raw-cli", func(b *testing.B) {
		sideBySide(b, "10", func() error { return rawHistory(p10) }, "1000", func() error { return rawHistory(p1000) })
	})
	small := questions(s10, 10)
	for i, q := range questions(s1000, 1000)[:len(small)] {
		b.Run(q.name, func(b *testing.B) {
			sideBySide(b, "10", small[i].ask, "1000", q.ask)
		})
	}
}

// BenchmarkPageSize is what chose nearPage and deepPage: on a stack of
// 1000 updates, one page of each size side by side with the raw CLI, and
// the whole history read as updates reads it with that first page.
func BenchmarkPageSize(b *testing.B) {
	ctx := context.Background()
	p, s := benchStack(b, 1000)
	for _, size := range []int{10, 50, 100, 200, 300, 500, 1000} {
		b.Run(fmt.Sprintf("size=%d/one-page", size), func(b *testing.B) {
			sideBySide(b, "raw", func() error { return rawHistory(p) }, "tool", func() error {
				_, err := s.HistoryPage(ctx, size, 1)
				return err
			})
		})
		b.Run(fmt.Sprintf("size=%d/all", size), func(b *testing.B) {
			for b.Loop() {
				for _, err := range updates(ctx, s, size) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
