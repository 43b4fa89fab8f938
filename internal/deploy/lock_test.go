package deploy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// slowProject is a project whose updates sleep for d, and the file an
// update creates as it starts to sleep while holding the lock.
func slowProject(t *testing.T, d string) (deploytest.Project, string) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	cfg, sleeping := deploytest.SlowConfig(t, d)
	p.WriteConfig(t, cfg)
	return p, sleeping
}

// waitForLock waits until the running update sleeps, holding the lock.
func waitForLock(t *testing.T, p deploytest.Project, sleeping string, done <-chan error) {
	t.Helper()
	deploytest.WaitUntilSleeping(t, sleeping, done)
	if len(p.LockFiles(t)) == 0 {
		t.Fatal("the update is running but the stack has no lock file")
	}
}

func TestConcurrentUpGetsLocked(t *testing.T) {
	p, sleeping := slowProject(t, "8s")
	first := open(t, p)
	second := open(t, p) // opened while the stack file still has the sleep
	done := make(chan error, 1)
	go func() {
		_, err := first.Up(context.Background(), shaA, deploy.DeployMessage(shaA))
		done <- err
	}()
	waitForLock(t, p, sleeping, done)
	_, err := second.Up(context.Background(), shaB, deploy.DeployMessage(shaB))
	if !errors.Is(err, deploy.ErrLocked) {
		t.Errorf("second up while the first runs: %v, want ErrLocked", err)
	}
	if err := <-done; err != nil {
		t.Errorf("first up: %v", err)
	}
	if locks := p.LockFiles(t); len(locks) != 0 {
		t.Errorf("locks left after both ended: %v", locks)
	}
}

func TestInterruptedUpLeavesNoLock(t *testing.T) {
	p, sleeping := slowProject(t, "60s")
	s := open(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Up(ctx, shaA, deploy.DeployMessage(shaA))
		done <- err
	}()
	waitForLock(t, p, sleeping, done)
	cancel() // what SIGINT/SIGTERM does through signal.NotifyContext
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted up: %v, want context.Canceled", err)
	}
	if locks := p.LockFiles(t); len(locks) != 0 {
		t.Fatalf("interrupted up left locks behind: %v", locks)
	}
	p.WriteConfig(t, deploytest.BaseConfig())
	if _, err := open(t, p).Up(context.Background(), shaB, deploy.DeployMessage(shaB)); err != nil {
		t.Errorf("up after the interrupted one: %v", err)
	}
}
