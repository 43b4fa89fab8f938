// Package deploytest gives the deploy tool's tests a real Pulumi engine to
// run against: a stand-in for infra.Program whose ECS resources are served
// by a fake "aws" provider in the test process (the engine attaches to it
// through PULUMI_DEBUG_PROVIDERS; no provider plugin is installed), and a
// project with a stack in a local file:// backend.
package deploytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Passphrase encrypts the test stacks' secrets.
const Passphrase = "slipway-test"

// Region and account of the stand-in's outputs and of MemoryECS.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// RepositoryURL is the repository the stand-in reports; its images are
// RepositoryURL:<sha>.
const RepositoryURL = Account + ".dkr.ecr." + Region + ".amazonaws.com/api-service"

type cluster struct {
	pulumi.CustomResourceState
	Name pulumi.StringOutput `pulumi:"name"`
	Arn  pulumi.StringOutput `pulumi:"arn"`
}

type taskDefinition struct {
	pulumi.CustomResourceState
	Arn pulumi.StringOutput `pulumi:"arn"`
}

type service struct {
	pulumi.CustomResourceState
	Name pulumi.StringOutput `pulumi:"name"`
}

type securityGroup struct {
	pulumi.CustomResourceState
}

// Program stands in for infra.Program. It loads and validates the same
// config (contract.Load) and registers, under a slipway:infra:Service
// component as the real program does, real custom resources of the fake
// "aws" provider: the cluster, the task definition "task" (its container
// runs RepositoryURL:<imageTag>; skipDestroy as in the real program) and
// the service running it, with the same outputs (the task definition ARN
// is ECS's answer). A new image tag therefore replaces the task
// definition and updates the service in place, as for the real program.
// Test-only keys in the "test" namespace make it create a platform
// resource, a security group task-sg-<value> (test:platform), fail
// (test:fail) or hold an update (test:hold, see Hold; previews do not
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
	parent := pulumi.Parent(&svc)
	var c cluster
	if err := ctx.RegisterResource("aws:ecs/cluster:Cluster", "cluster", pulumi.Map{
		"name": pulumi.String(cfg.ClusterName),
	}, &c, parent); err != nil {
		return err
	}
	containers, err := json.Marshal([]map[string]any{{
		"name":         contract.ContainerName,
		"image":        RepositoryURL + ":" + cfg.ImageTag,
		"essential":    true,
		"portMappings": []map[string]any{{"containerPort": cfg.ContainerPort, "protocol": "tcp"}},
		"environment":  []map[string]string{{"name": "APP_VERSION", "value": cfg.ImageTag}},
	}})
	if err != nil {
		return err
	}
	var task taskDefinition
	if err := ctx.RegisterResource("aws:ecs/taskDefinition:TaskDefinition", "task", pulumi.Map{
		"family":                  pulumi.String(cfg.ServiceName),
		"requiresCompatibilities": pulumi.StringArray{pulumi.String("FARGATE")},
		"networkMode":             pulumi.String("awsvpc"),
		"cpu":                     pulumi.String(strconv.Itoa(cfg.CPU)),
		"memory":                  pulumi.String(strconv.Itoa(cfg.Memory)),
		"containerDefinitions":    pulumi.String(containers),
		"skipDestroy":             pulumi.Bool(true),
	}, &task, parent); err != nil {
		return err
	}
	var s service
	if err := ctx.RegisterResource("aws:ecs/service:Service", "service", pulumi.Map{
		"name":           pulumi.String(cfg.ServiceName),
		"cluster":        c.Arn,
		"taskDefinition": task.Arn,
		"desiredCount":   pulumi.Int(cfg.DesiredCount),
		"launchType":     pulumi.String("FARGATE"),
		// As the real program: the circuit breaker on, with rollback.
		"circuitBreakerEnable":   pulumi.Bool(true),
		"circuitBreakerRollback": pulumi.Bool(true),
	}, &s, parent); err != nil {
		return err
	}
	if p := test.Get("platform"); p != "" {
		var sg securityGroup
		if err := ctx.RegisterResource("aws:ec2/securityGroup:SecurityGroup", "task-sg-"+p, pulumi.Map{
			"description": pulumi.String("tasks of " + cfg.ServiceName),
		}, &sg); err != nil {
			return err
		}
	}
	ctx.Export(contract.OutRepositoryURL, pulumi.String(RepositoryURL))
	ctx.Export(contract.OutClusterName, c.Name)
	ctx.Export(contract.OutServiceName, s.Name)
	ctx.Export(contract.OutServiceURL, pulumi.String("http://alb.example.com"))
	ctx.Export(contract.OutTaskDefinitionArn, task.Arn)
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

// Project is a project folder with a stack in a file:// backend (more
// with AddStack), and the fake "aws" provider its engine runs attach to.
type Project struct {
	Dir     string
	Stack   string
	Backend string
	Env     map[string]string // for the Pulumi CLI: passphrase, backend, PULUMI_DEBUG_PROVIDERS
	// ECS is where the provider's ECS calls go while the environment
	// sets no ECS endpoint (AWS_ENDPOINT_URL_ECS or AWS_ENDPOINT_URL);
	// with one they go to an SDK client for it.
	ECS *MemoryECS
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
// fresh file:// backend, as an administrator's bootstrap would. It serves
// the fake "aws" provider until the test ends.
func NewProject(t testing.TB, stack string, config map[string]string) Project {
	t.Helper()
	UsePulumiCLI(t)
	p := Project{Dir: t.TempDir(), Stack: stack, Backend: "file://" + t.TempDir(), ECS: NewMemoryECS()}
	p.Env = map[string]string{
		"PULUMI_CONFIG_PASSPHRASE": Passphrase,
		"PULUMI_BACKEND_URL":       p.Backend,
		"PULUMI_DEBUG_PROVIDERS":   serveProvider(t, &provider{ecs: envOrMemory(p.ECS)}),
	}
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

// AddStack makes another stack of p's project with config, in the same
// file:// backend and served by the same fake "aws" provider, as an
// administrator creates one stack per environment (staging, then prod):
// the Project it returns is p with Stack set to it.
func (p Project) AddStack(t testing.TB, stack string, config map[string]string) Project {
	t.Helper()
	q := p
	q.Stack = stack
	q.WriteConfig(t, config)
	if _, err := auto.UpsertStackLocalSource(context.Background(), stack, p.Dir, auto.Program(Program), auto.EnvVars(p.Env)); err != nil {
		t.Fatalf("creating stack %s: %v", stack, err)
	}
	return q
}

// UpRegistryOnly runs, with the image tag sha, an update of the
// stand-in's service component alone, none of its resources: the shape
// of README bootstrap step 3's targeted update of the registry, after
// which the stack's outputs computed from resources (clusterName,
// serviceName, taskDefinitionArn) are the engine's unknown sentinel. As
// there, the image tag is set for the update only.
func (p Project) UpRegistryOnly(t testing.TB, sha string) {
	t.Helper()
	ctx := context.Background()
	s, err := auto.SelectStackLocalSource(ctx, p.Stack, p.Dir, auto.Program(Program), auto.EnvVars(p.Env))
	if err != nil {
		t.Fatal(err)
	}
	key := contract.Project + ":" + contract.KeyImageTag
	if err := s.SetConfig(ctx, key, auto.ConfigValue{Value: sha}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.RemoveConfig(ctx, key); err != nil {
			t.Error(err)
		}
	}()
	urn := fmt.Sprintf("urn:pulumi:%s::%s::slipway:infra:Service::service", p.Stack, contract.Project)
	if _, err := s.Up(ctx, optup.Target([]string{urn})); err != nil {
		t.Fatalf("targeted up of %s: %v", urn, err)
	}
}

// PromotedConfig is BaseConfig for a stack that receives the promotions of
// the stack from and uses its repository (the stand-in's api-service), as
// prod does staging's in the one-account layout.
func PromotedConfig(from string) map[string]string {
	cfg := BaseConfig()
	cfg["slipway:registry"] = "api-service"
	cfg["slipway:promoteFrom"] = from
	return cfg
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
