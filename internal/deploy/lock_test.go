package deploy_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// lockFiles lists the stack's lock files in the file:// backend.
func lockFiles(t *testing.T, p deploytest.Project) []string {
	t.Helper()
	root := strings.TrimPrefix(p.Backend, "file://")
	matches, err := filepath.Glob(filepath.Join(root, ".pulumi", "locks", "*", "*", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(root, ".pulumi", "locks", "*", "*.json"))
	return append(matches, more...)
}

// waitForLock polls until the running update holds the stack's lock.
func waitForLock(t *testing.T, p deploytest.Project, done <-chan error) {
	t.Helper()
	for len(lockFiles(t, p)) == 0 {
		select {
		case err := <-done:
			t.Fatalf("the slow update ended before it took the lock: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func slowProject(t *testing.T, sleep string) deploytest.Project {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	cfg := deploytest.BaseConfig()
	cfg["test:sleep"] = sleep
	p.WriteConfig(t, cfg)
	return p
}

func TestConcurrentUpGetsLocked(t *testing.T) {
	p := slowProject(t, "8s")
	first := open(t, p)
	second := open(t, p) // opened while the stack file still has the sleep
	done := make(chan error, 1)
	go func() {
		_, err := first.Up(context.Background(), shaA, deploy.DeployMessage(shaA))
		done <- err
	}()
	waitForLock(t, p, done)
	_, err := second.Up(context.Background(), shaB, deploy.DeployMessage(shaB))
	if !errors.Is(err, deploy.ErrLocked) {
		t.Errorf("second up while the first runs: %v, want ErrLocked", err)
	}
	if err := <-done; err != nil {
		t.Errorf("first up: %v", err)
	}
	if locks := lockFiles(t, p); len(locks) != 0 {
		t.Errorf("locks left after both ended: %v", locks)
	}
}

func TestInterruptedUpLeavesNoLock(t *testing.T) {
	p := slowProject(t, "60s")
	s := open(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.Up(ctx, shaA, deploy.DeployMessage(shaA))
		done <- err
	}()
	waitForLock(t, p, done)
	cancel() // what SIGINT/SIGTERM does through signal.NotifyContext
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted up: %v, want context.Canceled", err)
	}
	if locks := lockFiles(t, p); len(locks) != 0 {
		t.Fatalf("interrupted up left locks behind: %v", locks)
	}
	p.WriteConfig(t, deploytest.BaseConfig())
	if _, err := open(t, p).Up(context.Background(), shaB, deploy.DeployMessage(shaB)); err != nil {
		t.Errorf("up after the interrupted one: %v", err)
	}
}
