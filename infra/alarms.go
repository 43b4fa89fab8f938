package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// AlarmNames are the deployment alarms' CloudWatch names, unique per
// service in the account and region.
func AlarmNames(cfg contract.Config) []string {
	prefix := cfg.ClusterName + "-" + cfg.ServiceName
	return []string{prefix + "-target-5xx-rate", prefix + "-unhealthy-hosts", prefix + "-p99-latency"}
}

// newAlarms creates the alarms that fail a deployment (and make ECS roll it
// back): the target group's 5xx rate, its unhealthy host count and its p99
// response time. Missing data (no traffic) is not breaching. ECS watches
// them from the first new task on and, after the rollout, for a bake time
// it derives from their periods (see the rollout model of synth).
func newAlarms(ctx *pulumi.Context, cfg contract.Config, network *Network, parent pulumi.ResourceOption) ([]string, error) {
	a := cfg.Alarms
	dimensions := pulumi.StringMap{
		"LoadBalancer": network.LoadBalancerArnSuffix,
		"TargetGroup":  network.TargetGroupArnSuffix,
	}
	metric := func(id, name string) *cloudwatch.MetricAlarmMetricQueryArgs {
		return &cloudwatch.MetricAlarmMetricQueryArgs{
			Id: pulumi.String(id),
			Metric: &cloudwatch.MetricAlarmMetricQueryMetricArgs{
				Namespace:  pulumi.String("AWS/ApplicationELB"),
				MetricName: pulumi.String(name),
				Dimensions: dimensions,
				Period:     pulumi.Int(a.PeriodSeconds),
				Stat:       pulumi.String("Sum"),
			},
		}
	}
	names := AlarmNames(cfg)
	common := func(name, description string) *cloudwatch.MetricAlarmArgs {
		return &cloudwatch.MetricAlarmArgs{
			Name:              pulumi.String(name),
			AlarmDescription:  pulumi.String(description + " of " + cfg.ServiceName + "; a deployment that sets it off is rolled back"),
			EvaluationPeriods: pulumi.Int(a.EvaluationPeriods),
			DatapointsToAlarm: pulumi.Int(a.DatapointsToAlarm),
			TreatMissingData:  pulumi.String("notBreaching"),
			Tags:              tags(cfg),
		}
	}

	errorRate := common(names[0], fmt.Sprintf("target 5xx above %d %% of requests", a.ErrorRatePercent))
	errorRate.ComparisonOperator = pulumi.String("GreaterThanOrEqualToThreshold")
	errorRate.Threshold = pulumi.Float64(float64(a.ErrorRatePercent))
	errorRate.MetricQueries = cloudwatch.MetricAlarmMetricQueryArray{
		metric("errors", "HTTPCode_Target_5XX_Count"),
		metric("requests", "RequestCount"),
		&cloudwatch.MetricAlarmMetricQueryArgs{
			Id:         pulumi.String("rate"),
			Label:      pulumi.String("5xx per request (%)"),
			Expression: pulumi.String("100 * FILL(errors, 0) / FILL(requests, 1)"),
			ReturnData: pulumi.Bool(true),
		},
	}
	unhealthy := common(names[1], fmt.Sprintf("%d or more unhealthy targets", a.UnhealthyHosts))
	unhealthy.ComparisonOperator = pulumi.String("GreaterThanOrEqualToThreshold")
	unhealthy.Threshold = pulumi.Float64(float64(a.UnhealthyHosts))
	unhealthy.Namespace, unhealthy.MetricName = pulumi.String("AWS/ApplicationELB"), pulumi.String("UnHealthyHostCount")
	unhealthy.Dimensions, unhealthy.Period, unhealthy.Statistic = dimensions, pulumi.Int(a.PeriodSeconds), pulumi.String("Maximum")

	latency := common(names[2], fmt.Sprintf("p99 target response time above %d ms", a.P99Milliseconds))
	latency.ComparisonOperator = pulumi.String("GreaterThanThreshold")
	latency.Threshold = pulumi.Float64(float64(a.P99Milliseconds) / 1000)
	latency.Namespace, latency.MetricName = pulumi.String("AWS/ApplicationELB"), pulumi.String("TargetResponseTime")
	latency.Dimensions, latency.Period, latency.ExtendedStatistic = dimensions, pulumi.Int(a.PeriodSeconds), pulumi.String("p99")

	for _, alarm := range []struct {
		name string
		args *cloudwatch.MetricAlarmArgs
	}{{"alarm-5xx-rate", errorRate}, {"alarm-unhealthy-hosts", unhealthy}, {"alarm-p99-latency", latency}} {
		if _, err := cloudwatch.NewMetricAlarm(ctx, alarm.name, alarm.args, parent); err != nil {
			return nil, err
		}
	}
	return names, nil
}
