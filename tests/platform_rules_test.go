package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/slipway-dev/slipway/internal/synth"
)

// This file holds the shapes the platform tests compare whole: security
// group rules, alarm definitions and scaling policy configurations. Each
// is decoded strictly, so a setting the shape does not name fails the test
// instead of passing unseen.

// decodeStrict decodes v, a plain JSON value of a resource's inputs, into
// into, failing on any field into does not name. ignore lists top-level
// fields that carry no meaning for the check (descriptions, tags).
func decodeStrict(t testing.TB, what string, v interface{}, into interface{}, ignore ...string) {
	t.Helper()
	if m, ok := v.(map[string]interface{}); ok {
		c := make(map[string]interface{}, len(m))
		for k, x := range m {
			c[k] = x
		}
		for _, k := range ignore {
			delete(c, k)
		}
		v = c
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, b)
	}
}

// sgRule is one ingress or egress rule of a security group, description
// aside.
type sgRule struct {
	Protocol         string
	FromPort, ToPort int
	CidrBlocks       []string
	Ipv6CidrBlocks   []string
	PrefixListIds    []string
	SecurityGroups   []string
	Self             bool
}

// sgGroup is a security group's rules.
type sgGroup struct{ ingress, egress []sgRule }

// sgRules returns the ingress or egress (dir) rules of a security group,
// in a stable order (AWS keeps them as a set); nil when it has none.
func sgRules(t testing.TB, sg synth.Resource, dir string) []sgRule {
	t.Helper()
	raw, _ := sg.Inputs[dir].([]interface{})
	var out []sgRule
	for i, r := range raw {
		var rule sgRule
		decodeStrict(t, fmt.Sprintf("%s %s[%d]", sg.Name, dir, i), r, &rule, "description")
		out = append(out, rule)
	}
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// alarmDef is a CloudWatch metric alarm as the deployment alarms define
// it, its description and tags aside.
type alarmDef struct {
	Name               string
	Namespace          string
	MetricName         string
	Dimensions         map[string]string
	Period             int
	Statistic          string
	ExtendedStatistic  string
	MetricQueries      []alarmQuery
	ComparisonOperator string
	Threshold          float64
	EvaluationPeriods  int
	DatapointsToAlarm  int
	TreatMissingData   string
}

// alarmQuery is one metric or metric-math expression of an alarm.
type alarmQuery struct {
	ID         string
	Label      string
	Expression string
	ReturnData bool
	Metric     *alarmMetric
}

type alarmMetric struct {
	Namespace  string
	MetricName string
	Dimensions map[string]string
	Period     int
	Stat       string
}

// scalingConfig is a target tracking policy's configuration.
type scalingConfig struct {
	TargetValue                   float64
	ScaleOutCooldown              int
	ScaleInCooldown               int
	PredefinedMetricSpecification struct {
		PredefinedMetricType string
		ResourceLabel        string
	}
}

// arnSuffix is a load balancer's or target group's arnSuffix output. The
// offline synth's mocks do not compute one, so it is "" for every
// resource the stack creates: what a test can see through it is that a
// dimension or label is built from the right resources (a load balancer
// the stack shares brings its suffix from config).
func arnSuffix(r synth.Resource) string {
	s, _ := r.Outputs["arnSuffix"].(string)
	return s
}

// routeTablesOf returns the route tables (IDs, sorted, each once) the
// subnets are associated with.
func routeTablesOf(res synth.Result, subnets []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range res.Find("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		rt := fmt.Sprint(a.Inputs["routeTableId"])
		if contains(subnets, fmt.Sprint(a.Inputs["subnetId"])) && !seen[rt] {
			seen[rt] = true
			out = append(out, rt)
		}
	}
	sort.Strings(out)
	return out
}

// sortedStrs is strs of a list input, sorted; nil when the input is absent.
func sortedStrs(v interface{}) []string {
	if v == nil {
		return nil
	}
	out := strs(v)
	sort.Strings(out)
	return out
}
