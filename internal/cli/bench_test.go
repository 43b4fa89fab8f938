package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
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

// outcomeOf runs an up or rollback with --output json on w.
func outcomeOf(b *testing.B, w *world, args ...string) deploy.Outcome {
	b.Helper()
	code, out, errs := w.run(append(args, "--output", "json")...)
	var o deploy.Outcome
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		b.Fatalf("deploy %v: exit %d, %v\n%s", args, code, err, tail(errs))
	}
	return o
}

// phaseTime is how long the named phases of o took, in real time.
func phaseTime(o deploy.Outcome, names ...string) time.Duration {
	var d time.Duration
	for _, p := range o.Phases {
		if slices.Contains(names, p.Name) {
			d += p.End.Sub(p.Start)
		}
	}
	return d
}

// ecsSteps counts the fake's simulated steps (polls) in calls from the
// first call named from (after skipping start calls) up to the first
// call named to after it ("" for the end).
func ecsSteps(calls []string, start int, from, to string) int {
	steps, counting := 0, false
	for _, c := range calls[start:] {
		switch {
		case !counting && c == from:
			counting = true
		case counting && c == to:
			return steps
		case counting && (c == "DescribeServices" || c == "DescribeServiceDeployments"):
			steps++
		}
	}
	return steps
}

// ecsClient is an ECS client on the environment (the world's fake).
func ecsClient(b *testing.B) *ecs.Client {
	b.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return ecs.NewFromConfig(cfg)
}

// serviceDeployment is ECS's description of the service deployment arn.
func serviceDeployment(b *testing.B, arn string) ecstypes.ServiceDeployment {
	b.Helper()
	out, err := ecsClient(b).DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		b.Fatalf("DescribeServiceDeployments %s: %v", arn, err)
	}
	return out.ServiceDeployments[0]
}

// newestServiceDeployment is the newest service deployment of the
// world's service.
func newestServiceDeployment(b *testing.B, w *world) ecstypes.ServiceDeployment {
	b.Helper()
	out, err := ecsClient(b).ListServiceDeployments(context.Background(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String(w.p.Stack + "-cluster"), Service: aws.String("api-service")})
	if err != nil || len(out.ServiceDeployments) == 0 {
		b.Fatalf("ListServiceDeployments: %v", err)
	}
	return serviceDeployment(b, aws.ToString(out.ServiceDeployments[0].ServiceDeploymentArn))
}

// BenchmarkRollout reports, in the fake's simulated timing (ECS seconds
// are simulated, one awsfake.Tick per poll; the engine's are real):
//   - for a deploy whose rollout takes 60 s (4 steps), how long the
//     stack's lock is held, seen by watching the backend's lock files
//     through the whole command (lock-s), beside the engine update alone
//     (update-s) and the lock a steady-state wait inside pulumi up held
//     (the update plus the rollout: old-lock-s);
//   - the time to a restored service after a bad deploy left in flight,
//     as ECS dates it (the service deployments' startedAt and finishedAt):
//     ECS's rollback of it through StopServiceDeployment, beside a rollback
//     deploy of the previous SHA (plus the engine's guard and update);
//     and the time until the tool is done with each, its reconcile of the
//     stack after ECS's rollback included (done-stop-s, done-deploy-s). The
//     fake models an in-flight rollback as 2 steps (the new tasks drain
//     while the old ones still run) and a new deployment as 4 (start,
//     health checks, drain): the figures follow from that model, not from
//     a measurement of ECS.
func BenchmarkRollout(b *testing.B) {
	const steps, rollbackSteps = 4, 2
	tick := awsfake.Tick.Seconds()
	var lock, update, rollout, stopRestore, deployRestore, stopDone, deployDone float64
	runs := 0
	for b.Loop() {
		w := newWorld(b)
		good, next, bad := benchSHA(3*runs), benchSHA(3*runs+1), benchSHA(3*runs+2)
		for _, sha := range []string{good, next, bad} {
			w.push(sha)
			w.aws.SetRollout(image(sha), awsfake.Rollout{Outcome: awsfake.Completes, Steps: steps, RollbackSteps: rollbackSteps})
		}
		if o := outcomeOf(b, w, "up", "--all", "--sha", good); o.Kind != deploy.Verified {
			b.Fatalf("first deploy: %s %s", o.Kind, o.Error)
		}
		start := len(w.aws.Calls())
		watch := watchLock(b, w)
		o := outcomeOf(b, w, "up", "--sha", next)
		lock += watch().Seconds()
		if o.Kind != deploy.Verified {
			b.Fatalf("deploy: %s %s", o.Kind, o.Error)
		}
		update += phaseTime(o, deploy.PhaseUpdate).Seconds()
		rollout += float64(ecsSteps(w.aws.Calls(), start, "UpdateService", "")) * tick

		// A bad deploy left in flight (its verification cut short, as when
		// CD is cancelled mid-rollout), rolled back by ECS on request.
		w.aws.SetRollout(image(bad), awsfake.Rollout{Outcome: awsfake.Stalls, RollbackSteps: rollbackSteps})
		if o := outcomeOf(b, w, "up", "--sha", bad, "--verify-timeout", "100ms"); o.Kind != deploy.Unverified {
			b.Fatalf("bad deploy: %s %s", o.Kind, o.Error)
		}
		o = outcomeOf(b, w, "rollback")
		if o.Kind != deploy.Verified || o.StoppedDeployment == "" {
			b.Fatalf("rollback in flight: %s %s", o.Kind, o.Error)
		}
		// ECS's own account: from the rollback's start to its finish.
		sd := serviceDeployment(b, o.StoppedDeployment)
		stopRestore += aws.ToTime(sd.FinishedAt).Sub(aws.ToTime(sd.Rollback.StartedAt)).Seconds()
		// Then the tool records the rejection and reconciles the stack: the
		// engine's part, and ECS's rollout of the reconciled revision.
		re := newestServiceDeployment(b, w)
		stopDone += aws.ToTime(sd.FinishedAt).Sub(aws.ToTime(sd.Rollback.StartedAt)).Seconds() +
			phaseTime(o, deploy.PhaseMarkRejected, deploy.PhaseReconcileCheck, deploy.PhaseReconcile).Seconds() +
			aws.ToTime(re.FinishedAt).Sub(aws.ToTime(re.CreatedAt)).Seconds()

		// The same bad deploy, rolled back with a deploy of the SHA before.
		if o := outcomeOf(b, w, "up", "--sha", bad, "--force", "--verify-timeout", "100ms"); o.Kind != deploy.Unverified {
			b.Fatalf("bad deploy again: %s %s", o.Kind, o.Error)
		}
		o = outcomeOf(b, w, "rollback", "--to", next)
		if o.Kind != deploy.Verified {
			b.Fatalf("rollback deploy: %s %s", o.Kind, o.Error)
		}
		// The engine's guard and update, then ECS's account of the new
		// deployment: from its creation to its finish.
		sd = newestServiceDeployment(b, w)
		restore := phaseTime(o, deploy.PhaseGuard, deploy.PhaseUpdate).Seconds() + aws.ToTime(sd.FinishedAt).Sub(aws.ToTime(sd.CreatedAt)).Seconds()
		deployRestore += restore
		// Done once it tagged the verified image: nothing to reconcile.
		deployDone += restore + phaseTime(o, deploy.PhaseTag).Seconds()
		runs++
	}
	n := float64(runs)
	b.ReportMetric(lock/n, "lock-s")
	b.ReportMetric(update/n, "update-s")
	b.ReportMetric((update+rollout)/n, "old-lock-s")
	b.ReportMetric(stopRestore/n, "restore-stop-s")
	b.ReportMetric(deployRestore/n, "restore-deploy-s")
	b.ReportMetric(stopDone/n, "done-stop-s")
	b.ReportMetric(deployDone/n, "done-deploy-s")
}

// watchLock watches the stack's lock files from now until the returned
// function is called, and returns how long a lock was there in all.
func watchLock(b *testing.B, w *world) func() time.Duration {
	stop, done := make(chan struct{}), make(chan time.Duration)
	go func() {
		var held time.Duration
		last := time.Now()
		for {
			select {
			case <-stop:
				done <- held
				return
			case <-time.After(5 * time.Millisecond):
			}
			now := time.Now()
			if len(w.p.LockFiles(b)) > 0 {
				held += now.Sub(last)
			}
			last = now
		}
	}()
	return func() time.Duration { close(stop); return <-done }
}
