package deploy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// heldProject is a project whose updates are held until released.
func heldProject(t *testing.T) (deploytest.Project, deploytest.Hold) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	cfg, hold := deploytest.HoldConfig(t)
	p.WriteConfig(t, cfg)
	return p, hold
}

func TestConcurrentUpGetsLocked(t *testing.T) {
	p, hold := heldProject(t)
	first := open(t, p)
	second := open(t, p) // opened while the stack file still has the hold
	done := make(chan error, 1)
	go func() {
		_, err := first.Up(context.Background(), shaA, contract.DeployMessage(shaA).String())
		done <- err
	}()
	deploytest.WaitLocked(t, p, hold, done)
	_, err := second.Up(context.Background(), shaB, contract.DeployMessage(shaB).String())
	if !errors.Is(err, deploy.ErrLocked) {
		t.Errorf("second up while the first runs: %v, want ErrLocked", err)
	}
	hold.Release(t)
	if err := <-done; err != nil {
		t.Errorf("first up: %v", err)
	}
	if locks := p.LockFiles(t); len(locks) != 0 {
		t.Errorf("locks left after both ended: %v", locks)
	}
}

func TestInterruptedUpLeavesNoLock(t *testing.T) {
	p, hold := heldProject(t)
	s := open(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Up(ctx, shaA, contract.DeployMessage(shaA).String())
		done <- err
	}()
	deploytest.WaitLocked(t, p, hold, done)
	cancel() // what SIGINT/SIGTERM does through signal.NotifyContext
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted up: %v, want context.Canceled", err)
	}
	if locks := p.LockFiles(t); len(locks) != 0 {
		t.Fatalf("interrupted up left locks behind: %v", locks)
	}
	p.WriteConfig(t, deploytest.BaseConfig())
	if _, err := open(t, p).Up(context.Background(), shaB, contract.DeployMessage(shaB).String()); err != nil {
		t.Errorf("up after the interrupted one: %v", err)
	}
}
