package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

const (
	shaA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	shaB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	shaC = "cccccccccccccccccccccccccccccccccccccccc"
)

func open(t *testing.T, p deploytest.Project) *deploy.Session {
	t.Helper()
	return openWithPlugins(t, p, nil)
}

func TestUpHistoryAndStackFileUntouched(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	before, err := os.ReadFile(p.StackFile())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, sha := range []string{shaA, shaB} {
		res, err := open(t, p).Up(ctx, sha, contract.DeployMessage(sha).String())
		if err != nil {
			t.Fatalf("up %s: %v", sha, err)
		}
		// Each SHA registers the family's next revision in ECS.
		if got, want := res.Outputs["taskDefinitionArn"], deploytest.TaskDefinitionArn("api-service", i+1); got != want {
			t.Errorf("taskDefinitionArn = %v, want %s", got, want)
		}
	}
	after, err := os.ReadFile(p.StackFile())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("Pulumi.dev.yaml changed by up:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	hist, err := deploy.Recent(ctx, open(t, p), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Fatalf("%d history entries, want 2", len(hist))
	}
	for i, want := range []string{shaB, shaA} {
		if hist[i].ImageTag != want || !hist[i].Deployed() || hist[i].Message != contract.DeployMessage(want).String() {
			t.Errorf("history[%d] = %+v, want a succeeded deploy of %s", i, hist[i], want)
		}
		if hist[i].Start.IsZero() || hist[i].End.Before(hist[i].Start) {
			t.Errorf("history[%d] times %v..%v", i, hist[i].Start, hist[i].End)
		}
	}
	if cur, _, err := deploy.Running(ctx, open(t, p)); err != nil || cur != shaB {
		t.Errorf("Running = %q, %v; want %s", cur, err, shaB)
	}
}

func TestPreviewGuard(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	ctx := context.Background()
	if _, err := open(t, p).Up(ctx, shaA, contract.DeployMessage(shaA).String()); err != nil {
		t.Fatal(err)
	}
	plan, err := open(t, p).Preview(ctx, shaB, deploy.PreviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.HasChanges() {
		t.Fatal("preview of a new SHA shows no changes")
	}
	if pc := deploy.PlatformChanges(plan.Changes); len(pc) != 0 {
		t.Errorf("a SHA change has platform changes %+v, want none", pc)
	}
	same, err := open(t, p).Preview(ctx, shaA, deploy.PreviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if same.HasChanges() {
		t.Errorf("preview of the deployed SHA shows changes %+v", same.Changes)
	}

	cfg := deploytest.BaseConfig()
	cfg["test:platform"] = "v2"
	p.WriteConfig(t, cfg)
	plat, err := open(t, p).Preview(ctx, shaA, deploy.PreviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pc := deploy.PlatformChanges(plat.Changes)
	if len(pc) != 1 || pc[0].Type != "aws:ec2/securityGroup:SecurityGroup" || pc[0].Op != "create" {
		t.Errorf("platform changes %+v, want the security group's create", pc)
	}
}

func TestFailedUpdateIsInHistory(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	ctx := context.Background()
	if _, err := open(t, p).Up(ctx, shaA, contract.DeployMessage(shaA).String()); err != nil {
		t.Fatal(err)
	}
	cfg := deploytest.BaseConfig()
	cfg["test:fail"] = "boom"
	p.WriteConfig(t, cfg)
	_, err := open(t, p).Up(ctx, shaB, contract.DeployMessage(shaB).String())
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("up with a failing program: err %v, want the program's error", err)
	}
	hist, err := deploy.Recent(ctx, open(t, p), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Result != "failed" || hist[0].ImageTag != shaB {
		t.Fatalf("history %+v, want the failed update of %s first", hist, shaB)
	}
	if cur, _, _ := deploy.Running(ctx, open(t, p)); cur != shaA {
		t.Errorf("Running after a failed update = %s, want %s", cur, shaA)
	}
}

// After an update that created none of the service's resources (README
// bootstrap step 3), the engine records their outputs as its unknown
// sentinel: both readers of the outputs leave those out, so the stack
// names no service yet.
func TestOutputsOfAnUpdateOfTheRegistryAlone(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	p.UpRegistryOnly(t, shaA)
	ctx := context.Background()
	readers := map[string]interface {
		Outputs(context.Context) (map[string]interface{}, error)
	}{
		"session":        open(t, p),
		"history reader": deploy.OpenHistory(deploy.Options{ProjectDir: p.Dir, Stack: p.Stack, Env: p.Env}),
	}
	for name, r := range readers {
		t.Run(name, func(t *testing.T) {
			got, err := r.Outputs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{contract.OutImageTag, contract.OutRegion, contract.OutRepositoryURL, contract.OutServiceURL}
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
				t.Errorf("outputs %v, want the known ones only, %v", got, want)
			}
		})
	}
}

func TestOpenMissingStack(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	p.Stack = "prod"
	if err := os.WriteFile(p.StackFile(), []byte("config: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := deploy.Open(context.Background(), deploy.Options{ProjectDir: p.Dir, Stack: "prod", Program: deploytest.Program, ImageTagKey: "slipway:imageTag", Env: p.Env})
	if !errors.Is(err, deploy.ErrNoStack) {
		t.Errorf("Open of a stack that does not exist: %v, want ErrNoStack", err)
	}
}

// Mark records a message with an update that must change nothing: with
// the deployed SHA and config it succeeds and changes nothing; with
// anything to change it fails and applies nothing.
func TestMarkChangesNothing(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	ctx := context.Background()
	if _, err := open(t, p).Up(ctx, shaA, contract.DeployMessage(shaA).String()); err != nil {
		t.Fatal(err)
	}
	if err := open(t, p).Mark(ctx, shaA, contract.RejectedMessage(shaA).String()); err != nil {
		t.Fatalf("Mark with the deployed SHA: %v", err)
	}
	hist, err := deploy.Recent(ctx, open(t, p), 0)
	if err != nil {
		t.Fatal(err)
	}
	if hist[0].Message != contract.RejectedMessage(shaA).String() || hist[0].Result != "succeeded" || hist[0].ImageTag != shaA {
		t.Errorf("newest update %+v, want the succeeded marker of %s", hist[0], shaA)
	}

	if err := open(t, p).Mark(ctx, shaB, contract.RejectedMessage(shaB).String()); err == nil {
		t.Error("Mark with another SHA succeeded, want an error: it would change the task definition")
	}
	cfg := deploytest.BaseConfig()
	cfg["test:platform"] = "v2"
	p.WriteConfig(t, cfg)
	if err := open(t, p).Mark(ctx, shaA, contract.RejectedMessage(shaA).String()); err == nil {
		t.Error("Mark with a platform change pending succeeded, want an error")
	}
	plan, err := open(t, p).Preview(ctx, shaA, deploy.PreviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pc := deploy.PlatformChanges(plan.Changes); len(pc) != 1 || pc[0].Op != "create" {
		t.Errorf("after the failed marks, platform changes %+v, want the security group still to create (nothing applied)", pc)
	}
}

// Options.Config reaches the program for the session's runs (here a
// platform change the stand-in makes of test:platform) and never the
// project's stack file.
func TestOpenConfigForTheRun(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	ctx := context.Background()
	if _, err := open(t, p).Up(ctx, shaA, contract.DeployMessage(shaA).String()); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(p.StackFile())
	if err != nil {
		t.Fatal(err)
	}
	s, err := deploy.Open(ctx, deploy.Options{
		ProjectDir: p.Dir, Stack: p.Stack, Program: deploytest.Program,
		ImageTagKey: "slipway:imageTag", Env: p.Env, Config: map[string]string{"test:platform": "v2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plan, err := s.Preview(ctx, shaA, deploy.PreviewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(deploy.PlatformChanges(plan.Changes)) == 0 {
		t.Errorf("preview with test:platform v2 for the run: changes %+v, want the platform change it makes", plan.Changes)
	}
	if after, _ := os.ReadFile(p.StackFile()); !bytes.Equal(before, after) {
		t.Errorf("the project's stack file changed:\n%s", after)
	}
}
