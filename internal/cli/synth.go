package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/project"
	"github.com/slipway-dev/slipway/internal/synth"
)

// SynthOptions are the flags of synth.
type SynthOptions struct {
	Stack string
	SHA   string
	Out   string
	Dir   string
}

func (c *Command) synthCmd() *cobra.Command {
	var o SynthOptions
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "run the program offline under mocks; write resources.json",
		Example: `  deploy synth --sha 0123456789abcdef0123456789abcdef01234567 --out out
  deploy synth --stack prod --sha "$(git rev-parse HEAD)" --out /tmp/synth`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return c.synth(o) },
	}
	cmd.Flags().StringVar(&o.Stack, "stack", "prod", "stack whose config (Pulumi.<stack>.yaml) to use")
	cmd.Flags().StringVar(&o.SHA, "sha", "", "image git SHA (40 lowercase hex) to synthesize with (required)")
	cmd.Flags().StringVar(&o.Out, "out", "", "folder to write resources.json into (required)")
	cmd.Flags().StringVar(&o.Dir, "dir", ".", "project folder (holding Pulumi.yaml) or one below it")
	return cmd
}

// synth runs the program offline and writes Out/resources.json.
func (c *Command) synth(o SynthOptions) error {
	stdout := c.Stdout
	if o.SHA == "" {
		return badInput("--sha is required: the image's full git commit SHA (git rev-parse HEAD)")
	}
	if err := contract.ValidateSHA(o.SHA); err != nil {
		return badInput("--sha: %v", err)
	}
	if o.Out == "" {
		return badInput("--out is required: the folder to write resources.json into")
	}
	proj, err := project.Find(o.Dir)
	if err != nil {
		return badInput("%v", err)
	}
	config, err := proj.StackConfig(o.Stack)
	if err != nil {
		return badInput("%v", err)
	}
	config[contract.Project+":"+contract.KeyImageTag] = o.SHA
	_, err = contract.ParseMap(config)
	if err != nil {
		return badInput("stack %s: %v", o.Stack, err)
	}
	if c.Program == nil {
		return errors.New("no Pulumi program to synthesize (cmd/deploy passes infra.Program)")
	}
	res, err := synth.Run(c.Program, proj.Name, o.Stack, config)
	if err != nil {
		return err
	}
	b, err := res.JSON()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(o.Out, "resources.json"), b); err != nil {
		return err
	}
	printSummary(stdout, res)
	fmt.Fprintf(stdout, "\nwrote %s (%d resources)\n", filepath.Join(o.Out, "resources.json"), len(res.Resources))
	if keys := placeholderKeys(config); len(keys) > 0 {
		fmt.Fprintf(stdout, "note: %s still hold example values; replace them before the bootstrap (README, step 2): the deploy verbs refuse them\n", strings.Join(keys, ", "))
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".resources-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// keySettings names, per resource type, the inputs the summary shows.
var keySettings = map[string][]string{
	"aws:ecr/repository:Repository":                       {"name", "imageTagMutability", "imageScanningConfiguration.scanOnPush", "forceDelete"},
	"aws:ecs/cluster:Cluster":                             {"name"},
	"aws:ecs/service:Service":                             {"name", "desiredCount", "deploymentMinimumHealthyPercent", "deploymentMaximumPercent", "deploymentCircuitBreaker.rollback", "waitForSteadyState", "healthCheckGracePeriodSeconds"},
	"aws:ecs/taskDefinition:TaskDefinition":               {"family", "cpu", "memory", "skipDestroy"},
	"aws:lb/targetGroup:TargetGroup":                      {"deregistrationDelay", "healthCheck.path", "healthCheck.interval", "healthCheck.healthyThreshold"},
	"aws:lb/listener:Listener":                            {"port", "protocol"},
	"aws:cloudwatch/logGroup:LogGroup":                    {"name", "retentionInDays"},
	"aws:dynamodb/table:Table":                            {"billingMode", "pointInTimeRecovery.enabled", "deletionProtectionEnabled"},
	"aws:sqs/queue:Queue":                                 {"visibilityTimeoutSeconds", "messageRetentionSeconds"},
	"aws:ec2/subnet:Subnet":                               {"availabilityZone", "cidrBlock"},
	"aws:ec2/vpc:Vpc":                                     {"cidrBlock"},
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": {"url"},
}

func lookupPath(m map[string]interface{}, path string) (interface{}, bool) {
	var cur interface{} = m
	for _, part := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]interface{})
		if !ok {
			return nil, false
		}
		if cur, ok = mm[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// display formats an input value: whole numbers without exponents.
func display(v interface{}) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func printSummary(w io.Writer, res synth.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAME\tPARENT\tKEY SETTINGS")
	for _, r := range res.Resources {
		var settings []string
		if r.Protect {
			settings = append(settings, "protect")
		}
		if r.RetainOnDelete {
			settings = append(settings, "retainOnDelete")
		}
		keys := keySettings[r.Type]
		for _, k := range keys {
			if v, ok := lookupPath(r.Inputs, k); ok && v != nil {
				settings = append(settings, k+"="+display(v))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Type, r.Name, r.Parent, strings.Join(settings, " "))
	}
	tw.Flush()
	for _, td := range res.Find("aws:ecs/taskDefinition:TaskDefinition") {
		var containers []struct {
			Name  string `json:"name"`
			Image string `json:"image"`
		}
		if s, ok := td.Inputs["containerDefinitions"].(string); ok && json.Unmarshal([]byte(s), &containers) == nil {
			for _, ct := range containers {
				fmt.Fprintf(w, "\ncontainer %s image: %s\n", ct.Name, ct.Image)
			}
		}
	}
	for _, tg := range res.Find("aws:lb/targetGroup:TargetGroup") {
		healthy, interval, dereg := number(tg.Inputs, "healthCheck.healthyThreshold"), number(tg.Inputs, "healthCheck.interval"), number(tg.Inputs, "deregistrationDelay")
		fmt.Fprintf(w, "modeled rollout time per task batch: %d s (healthy %d × interval %d s + deregistration %d s); AWS defaults: %d s (%d × %d s + %d s)\n",
			healthy*interval+dereg, healthy, interval, dereg,
			awsHealthyThreshold*awsHealthCheckInterval+awsDeregistrationDelay, awsHealthyThreshold, awsHealthCheckInterval, awsDeregistrationDelay)
	}
}

// A target group's health check and draining when left to AWS's defaults
// (Elastic Load Balancing, "Health checks for your target groups" and
// "Deregistration delay"): 5 passing checks 30 s apart, 300 s draining.
const (
	awsHealthyThreshold    = 5
	awsHealthCheckInterval = 30
	awsDeregistrationDelay = 300
)

// number reads a whole-number input of a synthesized resource (0 when absent).
func number(inputs map[string]interface{}, path string) int {
	v, _ := lookupPath(inputs, path)
	f, _ := v.(float64)
	return int(f)
}
