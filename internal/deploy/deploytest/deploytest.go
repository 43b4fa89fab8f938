// Package deploytest gives the deploy tool's tests a real Pulumi engine to
// run against: a provider-free stand-in for infra.Program, and a project
// with a stack in a local file:// backend.
package deploytest

import (
	"context"
	"errors"
	"fmt"
	"github.com/slipway-dev/slipway/internal/contract"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

// Passphrase encrypts the test stacks' secrets.
const Passphrase = "slipway-test"

// Region and account of the stand-in's outputs.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// TaskDefinitionArn is the task definition the stand-in reports for sha.
func TaskDefinitionArn(sha string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/api-service:%s", Region, Account, sha[:7])
}

// RepositoryURL is the repository the stand-in reports.
const RepositoryURL = Account + ".dkr.ecr." + Region + ".amazonaws.com/api-service"

// Program stands in for infra.Program without cloud providers. It loads and
// validates the same config (contract.Load), registers resources shaped like
// the real ones (a task definition per SHA under a service, platform
// resources) as components, and exports the same outputs. Test-only keys in
// the "test" namespace make it change platform resources (test:platform),
// fail (test:fail) or hold an update (test:hold, see Hold; previews do not
// hold, so that a second deploy reaches the lock while the first holds it).
func Program(ctx *pulumi.Context) error {
	cfg, err := contract.Load(ctx)
	if err != nil {
		return err
	}
	test := config.New(ctx, "test")
	if dir := test.Get("hold"); dir != "" && !ctx.DryRun() {
		if err := Hold(dir).wait(ctx.Context()); err != nil {
			return err
		}
	}
	if msg := test.Get("fail"); msg != "" {
		return fmt.Errorf("test:fail: %s", msg)
	}
	var svc struct{ pulumi.ResourceState }
	if err := ctx.RegisterComponentResource("slipway:infra:Service", "service", &svc); err != nil {
		return err
	}
	var task struct{ pulumi.ResourceState }
	if err := ctx.RegisterComponentResource("aws:ecs/taskDefinition:TaskDefinition", "task-"+cfg.ImageTag[:7], &task, pulumi.Parent(&svc)); err != nil {
		return err
	}
	if p := test.Get("platform"); p != "" {
		var sg struct{ pulumi.ResourceState }
		if err := ctx.RegisterComponentResource("aws:ec2/securityGroup:SecurityGroup", "task-sg-"+p, &sg); err != nil {
			return err
		}
	}
	ctx.Export(contract.OutRepositoryURL, pulumi.String(RepositoryURL))
	ctx.Export(contract.OutClusterName, pulumi.String(cfg.ClusterName))
	ctx.Export(contract.OutServiceName, pulumi.String(cfg.ServiceName))
	ctx.Export(contract.OutServiceURL, pulumi.String("http://alb.example.com"))
	ctx.Export(contract.OutTaskDefinitionArn, pulumi.String(TaskDefinitionArn(cfg.ImageTag)))
	ctx.Export(contract.OutRegion, pulumi.String(cfg.Region))
	ctx.Export(contract.OutImageTag, pulumi.String(cfg.ImageTag))
	return nil
}

// Hold is a folder through which a test holds an update of the stand-in
// in the middle of its run (and so holding the stack's lock) for as long
// as it needs, with no timing: the update creates "holding" in it, then
// waits until the test creates "release", or until it is cancelled.
type Hold string

// HoldConfig is BaseConfig with updates held by a new Hold, which the end
// of the test releases.
func HoldConfig(t testing.TB) (map[string]string, Hold) {
	t.Helper()
	h := Hold(t.TempDir())
	t.Cleanup(func() { h.Release(t) })
	cfg := BaseConfig()
	cfg["test:hold"] = string(h)
	return cfg, h
}

func (h Hold) wait(ctx context.Context) error {
	if err := os.WriteFile(filepath.Join(string(h), "holding"), nil, 0o644); err != nil {
		return err
	}
	for {
		if _, err := os.Stat(filepath.Join(string(h), "release")); err == nil {
			return nil
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitLocked waits until an update of p is held, and so holds the
// stack's lock, which it checks; it fails the test when done reports that
// the update ended first.
func WaitLocked[T any](t testing.TB, p Project, h Hold, done <-chan T) {
	t.Helper()
	for {
		if _, err := os.Stat(filepath.Join(string(h), "holding")); err == nil {
			if len(p.LockFiles(t)) == 0 {
				t.Fatal("the update is held but the stack has no lock file")
			}
			return
		}
		select {
		case v := <-done:
			t.Fatalf("the update ended (%v) before it was held", v)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Release lets a held update finish.
func (h Hold) Release(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(string(h), "release"), nil, 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Error(err)
	}
}

// LockFiles lists the stack's lock files in the file:// backend.
func (p Project) LockFiles(t testing.TB) []string {
	t.Helper()
	root := filepath.Join(strings.TrimPrefix(p.Backend, "file://"), ".pulumi", "locks")
	var all []string
	for _, pattern := range []string{filepath.Join(root, "*", "*", "*", "*.json"), filepath.Join(root, "*", "*.json")} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, matches...)
	}
	return all
}

// Root is the slipway project folder.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Project is a project folder with one stack in a file:// backend.
type Project struct {
	Dir     string
	Stack   string
	Backend string
	Env     map[string]string
}

// StackFile is the stack's settings file.
func (p Project) StackFile() string { return filepath.Join(p.Dir, "Pulumi."+p.Stack+".yaml") }

// UsePulumiCLI puts the project's pinned Pulumi CLI (bin/pulumi, built by
// make tools) first on PATH, failing the test when it is missing.
func UsePulumiCLI(t testing.TB) {
	t.Helper()
	bin := filepath.Join(Root(), "bin")
	if _, err := os.Stat(filepath.Join(bin, "pulumi")); err != nil {
		t.Fatalf("the pinned Pulumi CLI is missing (%v): run `make tools` (or `make test`, which builds it)", err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	t.Setenv("PULUMI_HOME", filepath.Join(t.TempDir(), "pulumi-home"))
}

// NewProject makes a project with the real Pulumi.yaml, a stack file with
// config (key: value lines under config:), and the stack created in a
// fresh file:// backend, as an administrator's bootstrap would.
func NewProject(t testing.TB, stack string, config map[string]string) Project {
	t.Helper()
	UsePulumiCLI(t)
	p := Project{Dir: t.TempDir(), Stack: stack, Backend: "file://" + t.TempDir()}
	p.Env = map[string]string{"PULUMI_CONFIG_PASSPHRASE": Passphrase, "PULUMI_BACKEND_URL": p.Backend}
	b, err := os.ReadFile(filepath.Join(Root(), "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Dir, "Pulumi.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	p.WriteConfig(t, config)
	if _, err := auto.UpsertStackLocalSource(context.Background(), stack, p.Dir, auto.Program(Program), auto.EnvVars(p.Env)); err != nil {
		t.Fatalf("creating stack %s: %v", stack, err)
	}
	return p
}

// BaseConfig is a valid stack config for the stand-in.
func BaseConfig() map[string]string {
	return map[string]string{
		"aws:region":          Region,
		"slipway:githubOwner": "acme",
		"slipway:githubRepo":  "api",
		"github:owner":        "acme",
		"slipway:stateBucket": "acme-slipway-state",
		"slipway:slipwayRef":  "1111111111111111111111111111111111111111",
	}
}

// WriteConfig rewrites the stack file's config, keeping its encryption salt.
func (p Project) WriteConfig(t testing.TB, config map[string]string) {
	t.Helper()
	var salt string
	if b, err := os.ReadFile(p.StackFile()); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "encryptionsalt:") {
				salt = l + "\n"
			}
		}
	}
	var sb strings.Builder
	sb.WriteString(salt + "config:\n")
	for k, v := range config {
		fmt.Fprintf(&sb, "  %s: %q\n", k, v)
	}
	if err := os.WriteFile(p.StackFile(), []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
