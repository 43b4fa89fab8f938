package infra

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/appautoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ecs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Target tracking cooldowns: scale out within a minute, scale in slowly.
const (
	ScaleOutCooldown = 60
	ScaleInCooldown  = 300
)

// newAutoscaling registers the service's desired count as an Application
// Auto Scaling target with two target tracking policies, on average CPU
// and on the load balancer's requests per target. The service ignores its
// desiredCount after creation, so a deploy never resets the scaled count.
func newAutoscaling(ctx *pulumi.Context, cfg contract.Config, svc *ecs.Service, network *Network, parent pulumi.ResourceOption) (*appautoscaling.Target, error) {
	a := cfg.Autoscaling
	target, err := appautoscaling.NewTarget(ctx, "autoscaling-target", &appautoscaling.TargetArgs{
		ServiceNamespace:  pulumi.String("ecs"),
		ScalableDimension: pulumi.String("ecs:service:DesiredCount"),
		ResourceId:        pulumi.Sprintf("service/%s/%s", cfg.ClusterName, svc.Name),
		MinCapacity:       pulumi.Int(a.Min),
		MaxCapacity:       pulumi.Int(a.Max),
		Tags:              tags(cfg),
	}, parent)
	if err != nil {
		return nil, err
	}
	policies := []struct {
		name, metric string
		target       int
		label        pulumi.StringPtrInput
	}{
		{"scale-on-cpu", "ECSServiceAverageCPUUtilization", a.CPUTarget, nil},
		{"scale-on-requests", "ALBRequestCountPerTarget", a.RequestsPerTarget,
			pulumi.Sprintf("%s/%s", network.LoadBalancerArnSuffix, network.TargetGroupArnSuffix)},
	}
	for _, p := range policies {
		if _, err := appautoscaling.NewPolicy(ctx, p.name, &appautoscaling.PolicyArgs{
			PolicyType:        pulumi.String("TargetTrackingScaling"),
			ResourceId:        target.ResourceId,
			ScalableDimension: target.ScalableDimension,
			ServiceNamespace:  target.ServiceNamespace,
			TargetTrackingScalingPolicyConfiguration: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs{
				TargetValue:      pulumi.Float64(float64(p.target)),
				ScaleOutCooldown: pulumi.Int(ScaleOutCooldown),
				ScaleInCooldown:  pulumi.Int(ScaleInCooldown),
				PredefinedMetricSpecification: &appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs{
					PredefinedMetricType: pulumi.String(p.metric),
					ResourceLabel:        p.label,
				},
			},
		}, parent); err != nil {
			return nil, err
		}
	}
	return target, nil
}
