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
	if err := checkSHA("--sha", o.SHA); err != nil {
		return err
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
	cfg, err := contract.ParseMap(o.Stack, config)
	if err != nil {
		return badInput("stack %s: %v", o.Stack, err)
	}
	if err := checkChain(proj, cfg); err != nil {
		return err
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
	"aws:ecs/service:Service":                             {"name", "desiredCount", "deploymentMinimumHealthyPercent", "deploymentMaximumPercent", "deploymentCircuitBreaker.rollback", "alarms.rollback", "waitForSteadyState", "healthCheckGracePeriodSeconds", "enableExecuteCommand"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                     {"serviceName", "vpcEndpointType"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":              {"name", "threshold", "evaluationPeriods"},
	"aws:appautoscaling/target:Target":                    {"minCapacity", "maxCapacity"},
	"aws:lb/loadBalancer:LoadBalancer":                    {"enableDeletionProtection", "dropInvalidHeaderFields"},
	"aws:lb/listenerRule:ListenerRule":                    {"priority"},
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
		if bake, alarms := AlarmBake(res); alarms > 0 {
			fmt.Fprintf(w, "deployment alarm bake after the rollout: %d s (the longest period × evaluation periods of its %d alarms); modeled rollout with the bake: %d s\n",
				bake, alarms, healthy*interval+dereg+bake)
			fmt.Fprintln(w, "  ECS computes the bake from the alarms and does not let you set it (AWS, Amazon ECS Developer Guide, \"How CloudWatch alarms detect Amazon ECS deployment failures\");")
			fmt.Fprintln(w, "  the rule modeled, the longest evaluation time of the alarms, is the ECS deployments team's as quoted in aws/copilot-cli#4294")
		}
	}
	printCosts(w, FixedCosts(res))
}

// AlarmBake models the bake time ECS adds after a rollout watched by
// deployment alarms: the longest evaluation time (period × evaluation
// periods) among the alarms, and how many alarms there are.
func AlarmBake(res synth.Result) (seconds, alarms int) {
	for _, a := range res.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
		alarms++
		period := number(a.Inputs, "period")
		if queries, ok := a.Inputs["metricQueries"].([]interface{}); ok {
			for _, q := range queries {
				if m, ok := q.(map[string]interface{}); ok {
					period = max(period, number(m, "metric.period"))
				}
			}
		}
		seconds = max(seconds, period*number(a.Inputs, "evaluationPeriods"))
	}
	return seconds, alarms
}

// HoursPerMonth is the month the cost table prices (AWS's own convention).
const HoursPerMonth = 730

// Unit prices assumed for the fixed monthly cost (us-east-1 list prices;
// other regions differ). Usage-based charges (load balancer capacity
// units, NAT and endpoint data processing, requests) come on top.
const (
	natGatewayHourly        = 0.045 // per NAT gateway hour
	publicIPv4Hourly        = 0.005 // per public IPv4 address hour
	loadBalancerHourly      = 0.0225
	interfaceEndpointHourly = 0.01 // per endpoint per zone (network interface) hour
	alarmMetricMonthly      = 0.10 // per standard-resolution alarm metric
	targetTrackingAlarms    = 2    // alarms Application Auto Scaling creates per target tracking policy
)

// Price sources.
const (
	vpcPricing        = "https://aws.amazon.com/vpc/pricing/"
	elbPricing        = "https://aws.amazon.com/elasticloadbalancing/pricing/"
	privateLinkPrice  = "https://aws.amazon.com/privatelink/pricing/"
	cloudWatchPricing = "https://aws.amazon.com/cloudwatch/pricing/"
)

// CostLine is one kind of resource with a fixed monthly price.
type CostLine struct {
	What    string
	Count   int
	Unit    string  // the unit price as assumed
	Monthly float64 // for all Count of them
	Source  string
}

// FixedCosts lists the synthesized resources that cost a fixed amount per
// month whatever the traffic, with the unit prices assumed.
func FixedCosts(res synth.Result) []CostLine {
	var out []CostLine
	add := func(what string, count int, unit string, each float64, source string) {
		if count > 0 {
			out = append(out, CostLine{What: what, Count: count, Unit: unit, Monthly: float64(count) * each, Source: source})
		}
	}
	hourly := func(p float64) string { return "$" + strconv.FormatFloat(p, 'f', -1, 64) + "/h" }
	add("NAT gateway", len(res.Find("aws:ec2/natGateway:NatGateway")), hourly(natGatewayHourly), natGatewayHourly*HoursPerMonth, vpcPricing)
	publicIPs := len(res.Find("aws:ec2/eip:Eip"))
	albs := res.Find("aws:lb/loadBalancer:LoadBalancer")
	for _, lb := range albs {
		if subnets, ok := lb.Inputs["subnets"].([]interface{}); ok {
			publicIPs += len(subnets) // at least one per zone
		}
	}
	add("application load balancer", len(albs), hourly(loadBalancerHourly)+" + LCUs", loadBalancerHourly*HoursPerMonth, elbPricing)
	add("public IPv4 address (NAT, load balancer nodes)", publicIPs, hourly(publicIPv4Hourly), publicIPv4Hourly*HoursPerMonth, vpcPricing)
	zones := 0
	for _, e := range res.Find("aws:ec2/vpcEndpoint:VpcEndpoint") {
		if e.Inputs["vpcEndpointType"] == "Interface" {
			subnets, _ := e.Inputs["subnetIds"].([]interface{})
			zones += len(subnets)
		}
	}
	add("interface endpoint × zone", zones, hourly(interfaceEndpointHourly), interfaceEndpointHourly*HoursPerMonth, privateLinkPrice)
	metrics := 0
	for _, a := range res.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
		queries, _ := a.Inputs["metricQueries"].([]interface{})
		n := 0
		for _, q := range queries {
			if m, ok := q.(map[string]interface{}); ok && m["metric"] != nil {
				n++
			}
		}
		metrics += max(n, 1)
	}
	metrics += targetTrackingAlarms * len(res.Find("aws:appautoscaling/policy:Policy"))
	add("alarm metric (deployment and target tracking alarms)", metrics, "$0.10/month", alarmMetricMonthly, cloudWatchPricing)
	return out
}

func printCosts(w io.Writer, lines []CostLine) {
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(w, "\nfixed monthly cost this config adds (us-east-1 list prices, %d h a month; traffic-based charges come on top):\n", HoursPerMonth)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RESOURCE\tCOUNT\tUNIT PRICE\tMONTHLY\tSOURCE")
	total := 0.0
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%d\t%s\t$%.2f\t%s\n", l.What, l.Count, l.Unit, l.Monthly, l.Source)
		total += l.Monthly
	}
	fmt.Fprintf(tw, "total\t\t\t$%.2f\t\n", total)
	tw.Flush()
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
