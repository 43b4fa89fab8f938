package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/infra"
	"github.com/slipway-dev/slipway/internal/project"
	"github.com/slipway-dev/slipway/internal/synth"
)

const testSHA = "0123456789abcdef0123456789abcdef01234567"

func projectRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	c := &Command{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Program: infra.Program}
	code = c.Main(context.Background(), args)
	return code, out.String(), errb.String()
}

// copyProject makes a project folder with Pulumi.yaml and the given stack file.
func copyProject(t *testing.T, stackYAML string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(projectRoot(t), "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.prod.yaml"), []byte(stackYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSynthWritesResources(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := run(t, "synth", "--stack", "prod", "--sha", testSHA, "--out", out, "--dir", projectRoot(t))
	if code != ExitOK {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitOK, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "resources.json"))
	if err != nil {
		t.Fatal(err)
	}
	var resources []map[string]json.RawMessage
	if err := json.Unmarshal(b, &resources); err != nil {
		t.Fatalf("resources.json is not a JSON array of objects: %v", err)
	}
	if len(resources) < 30 {
		t.Errorf("%d resources, want the whole stack (30 or more)", len(resources))
	}
	want := []string{"inputs", "name", "parent", "protect", "retainOnDelete", "type"}
	for _, r := range resources {
		var keys []string
		for k := range r {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != strings.Join(want, ",") {
			t.Fatalf("resource object keys %v, want exactly %v", keys, want)
		}
	}
	for _, w := range []string{
		"aws:ecs/service:Service", "api-service:" + testSHA,
		"modeled rollout time per task batch: 40 s", "AWS defaults: 450 s",
		"deployment alarm bake after the rollout: 180 s", "modeled rollout with the bake: 220 s",
		"NAT gateway  ", "application load balancer  ", "https://aws.amazon.com/vpc/pricing/",
		"note: github:owner, slipway:githubOwner, slipway:githubRepo, slipway:slipwayRef, slipway:stateBucket still hold example values",
	} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout does not contain %q:\n%s", w, stdout)
		}
	}
}

func TestSynthBadInputWritesNothing(t *testing.T) {
	good := "config:\n  aws:region: us-east-1\n  slipway:githubOwner: o\n  slipway:githubRepo: r\n"
	tests := []struct {
		name  string
		stack string
		args  []string
		want  []string
	}{
		{"short SHA", good, []string{"--sha", "abc123"}, []string{`--sha: got "abc123"`, "40 lowercase hex"}},
		{"uppercase SHA", good, []string{"--sha", strings.ToUpper(testSHA)}, []string{"--sha", strings.ToUpper(testSHA)}},
		{"no SHA", good, nil, []string{"--sha is required"}},
		{"bad config", good + "  slipway:desiredCount: 0\n", []string{"--sha", testSHA}, []string{"slipway:desiredCount", `got "0"`}},
		{"missing owner", "config:\n  aws:region: us-east-1\n  slipway:githubRepo: r\n", []string{"--sha", testSHA}, []string{"slipway:githubOwner", "required"}},
		{"unknown stack", good, []string{"--sha", testSHA, "--stack", "staging"}, []string{`stack "staging"`, "Pulumi.staging.yaml"}},
		{"unknown flag", good, []string{"--sha", testSHA, "--force"}, []string{"-force"}},
		{"stray argument", good, []string{"--sha", testSHA, "now"}, []string{`unexpected argument "now"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyProject(t, tt.stack)
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"synth", "--dir", dir, "--out", out}, tt.args...)
			code, _, stderr := run(t, args...)
			if code != ExitBadInput {
				t.Errorf("exit %d, want %d (bad input); stderr:\n%s", code, ExitBadInput, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("bad input created %s (err %v), want nothing written", out, err)
			}
		})
	}
}

// The placeholders the deploy verbs refuse are exactly the example values
// the example stacks (Pulumi.prod.yaml, Pulumi.staging.yaml) ship with.
func TestPlaceholdersAreTheExamples(t *testing.T) {
	proj, err := project.Find(projectRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, stack := range []string{"prod", "staging"} {
		cfg, err := proj.StackConfig(stack)
		if err != nil {
			t.Fatal(err)
		}
		file := "Pulumi." + stack + ".yaml"
		for k, v := range placeholders {
			if cfg[k] != v {
				t.Errorf("placeholder %s = %q, want %s's %q", k, v, file, cfg[k])
			}
		}
		if got := placeholderKeys(cfg); len(got) != len(placeholders) {
			t.Errorf("placeholderKeys(%s) = %v, want all %d", file, got, len(placeholders))
		}
		for k, v := range cfg {
			if _, ok := placeholders[k]; !ok && (strings.Contains(v, "example") || v == strings.Repeat("0", 40)) {
				t.Errorf("%s %s = %q looks like an example value but is not in placeholders", file, k, v)
			}
		}
		var in inputError
		if _, err := validateConfig(stack, cfg); !errors.As(err, &in) || !strings.Contains(err.Error(), "slipway:githubOwner") || !strings.Contains(err.Error(), file) {
			t.Errorf("validateConfig(%s) = %v, want bad input naming slipway:githubOwner and %s", file, err, file)
		}
	}
}

func TestNoOrUnknownCommand(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"unknown", []string{"deploy-everything"}, ExitBadInput, "", `unknown command "deploy-everything"`},
		{"none", nil, ExitBadInput, "", "a command is required"},
		{"help", []string{"help"}, ExitOK, "rollback", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("exit %d stdout %q stderr %q; want %d, stdout with %q, stderr with %q", code, stdout, stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			if tt.wantCode != ExitOK && stdout != "" {
				t.Errorf("stdout %q, want usage on stderr only", stdout)
			}
		})
	}
}

func alarm(period, evaluations float64, inQuery bool) synth.Resource {
	in := map[string]interface{}{"evaluationPeriods": evaluations}
	if inQuery {
		in["metricQueries"] = []interface{}{
			map[string]interface{}{"id": "errors", "metric": map[string]interface{}{"period": period}},
			map[string]interface{}{"id": "requests", "metric": map[string]interface{}{"period": period}},
			map[string]interface{}{"id": "rate", "expression": "errors / requests"},
		}
	} else {
		in["period"] = period
	}
	return synth.Resource{Type: "aws:cloudwatch/metricAlarm:MetricAlarm", Inputs: in}
}

func TestAlarmBake(t *testing.T) {
	tests := []struct {
		name       string
		alarms     []synth.Resource
		wantBake   int
		wantAlarms int
	}{
		{"no alarms", nil, 0, 0},
		{"one alarm", []synth.Resource{alarm(60, 3, false)}, 180, 1},
		{"metric math alarm", []synth.Resource{alarm(120, 2, true)}, 240, 1},
		{"the longest evaluation wins", []synth.Resource{alarm(60, 3, false), alarm(300, 2, true), alarm(60, 5, false)}, 600, 3},
	}
	for _, tt := range tests {
		bake, n := AlarmBake(synth.Result{Resources: tt.alarms})
		if bake != tt.wantBake || n != tt.wantAlarms {
			t.Errorf("%s: AlarmBake = %d s over %d alarms, want %d s over %d", tt.name, bake, n, tt.wantBake, tt.wantAlarms)
		}
	}
}

func TestFixedCosts(t *testing.T) {
	res := synth.Result{Resources: []synth.Resource{
		{Type: "aws:ec2/natGateway:NatGateway"}, {Type: "aws:ec2/natGateway:NatGateway"},
		{Type: "aws:ec2/eip:Eip"}, {Type: "aws:ec2/eip:Eip"},
		{Type: "aws:lb/loadBalancer:LoadBalancer", Inputs: map[string]interface{}{"subnets": []interface{}{"a", "b"}}},
		{Type: "aws:ec2/vpcEndpoint:VpcEndpoint", Inputs: map[string]interface{}{"vpcEndpointType": "Interface", "subnetIds": []interface{}{"c", "d"}}},
		{Type: "aws:ec2/vpcEndpoint:VpcEndpoint", Inputs: map[string]interface{}{"vpcEndpointType": "Gateway"}},
		alarm(60, 3, true), alarm(60, 3, false),
		{Type: "aws:appautoscaling/policy:Policy"},
	}}
	want := []struct {
		count   int
		monthly string
	}{{2, "65.70"}, {1, "16.43"}, {4, "14.60"}, {2, "14.60"}, {5, "0.50"}}
	got := FixedCosts(res)
	if len(got) != len(want) {
		t.Fatalf("FixedCosts = %+v, want %d lines", got, len(want))
	}
	for i, w := range want {
		if got[i].Count != w.count || fmt.Sprintf("%.2f", got[i].Monthly) != w.monthly || !strings.HasPrefix(got[i].Source, "https://aws.amazon.com/") {
			t.Errorf("%s: %d for $%.2f from %q, want %d for $%s from an AWS pricing page", got[i].What, got[i].Count, got[i].Monthly, got[i].Source, w.count, w.monthly)
		}
	}
	if lines := FixedCosts(synth.Result{}); len(lines) != 0 {
		t.Errorf("FixedCosts of nothing = %+v, want no lines", lines)
	}
}
