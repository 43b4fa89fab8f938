package awsx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// Service deployment statuses (types.ServiceDeploymentStatus): the first five are ongoing, the
// last four final.
const (
	StatusPending            = "PENDING"
	StatusInProgress         = "IN_PROGRESS"
	StatusStopRequested      = "STOP_REQUESTED"
	StatusRollbackRequested  = "ROLLBACK_REQUESTED"
	StatusRollbackInProgress = "ROLLBACK_IN_PROGRESS"
	StatusSuccessful         = "SUCCESSFUL"
	StatusStopped            = "STOPPED"
	StatusRollbackSuccessful = "ROLLBACK_SUCCESSFUL"
	StatusRollbackFailed     = "ROLLBACK_FAILED"
)

// describeBatch is DescribeServiceDeployments' and DescribeServiceRevisions' limit per request.
const describeBatch = 20

// ServiceDeployment is what ECS reports about one service deployment (DescribeServiceDeployments),
// with its service revisions resolved to task definitions.
type ServiceDeployment struct {
	Arn, Status, StatusReason string
	Stage                     string // lifecycle stage; rolling deployments may report none
	CreatedAt                 time.Time
	TargetTaskDefinition      string
	SourceTaskDefinitions     []string
	Running, Desired          int32 // tasks of the target revision
	Draining                  int32 // tasks of the source revisions still running
	FailedTasks, Threshold    int32 // the circuit breaker's count and threshold
	Alarms                    []string
	RollbackReason            string // rollback.reason, when ECS rolled back
	RolledBackTo              string // the task definition of rollback.serviceRevisionArn
}

// InFlight returns the newest of the service's deployments that is still IN_PROGRESS, and false
// when none is.
func (c *Client) InFlight(ctx context.Context, cluster, service string) (ServiceDeployment, bool, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	briefs, err := c.listDeployments(ctx, cluster, service, time.Time{}, ecstypes.ServiceDeploymentStatusInProgress)
	if err != nil {
		return ServiceDeployment{}, false, err
	}
	if len(briefs) == 0 {
		return ServiceDeployment{}, false, nil
	}
	revs := revisions{}
	sd, err := c.describeDeployment(ctx, revs, aws.ToString(briefs[0].ServiceDeploymentArn))
	if err != nil {
		return ServiceDeployment{}, false, fmt.Errorf("describe the in-flight deployment of ECS service %s: %w", service, err)
	}
	return sd, true, nil
}

// StopRollout asks ECS to stop the service deployment deploymentArn of service and roll back to the
// service revision it replaces (StopServiceDeployment, stopType ROLLBACK; ECS rolls back even when
// the service has no rollback configured). The ARN must name a deployment of cluster and service.
// ECS takes the request at once and rolls back in the background: WaitVerified follows the
// deployment to ROLLBACK_SUCCESSFUL (a RolledBack verdict) or ROLLBACK_FAILED.
func (c *Client) StopRollout(ctx context.Context, cluster, service, deploymentArn string) error {
	if want := "service-deployment/" + clusterLabel(cluster) + "/" + service + "/"; !strings.Contains(deploymentArn, want) {
		return fmt.Errorf("%q is not a service deployment of ECS service %s in cluster %s", deploymentArn, service, clusterLabel(cluster))
	}
	ctx, cancel := c.call(ctx)
	defer cancel()
	_, err := c.ecs.StopServiceDeployment(ctx, &ecs.StopServiceDeploymentInput{
		ServiceDeploymentArn: &deploymentArn,
		StopType:             ecstypes.StopServiceDeploymentStopTypeRollback,
	})
	if err != nil {
		return c.ecsError("roll back the deployment "+deploymentArn+" of ECS service", cluster, service, err)
	}
	return nil
}

// listDeployments lists the service's deployments created after after (all when zero) with one of
// the statuses (any when none), newest first.
func (c *Client) listDeployments(ctx context.Context, cluster, service string, after time.Time, status ...ecstypes.ServiceDeploymentStatus) ([]ecstypes.ServiceDeploymentBrief, error) {
	in := &ecs.ListServiceDeploymentsInput{Cluster: optional(cluster), Service: &service, Status: status, MaxResults: aws.Int32(100)}
	if !after.IsZero() {
		in.CreatedAt = &ecstypes.CreatedAt{After: &after}
	}
	var briefs []ecstypes.ServiceDeploymentBrief
	for {
		page, err := c.ecs.ListServiceDeployments(ctx, in)
		if err != nil {
			return nil, c.ecsError("list the service deployments of ECS service", cluster, service, err)
		}
		briefs = append(briefs, page.ServiceDeployments...)
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	// ECS lists newest first; sorting anyway keeps "newest" from depending on it.
	slices.SortStableFunc(briefs, func(a, b ecstypes.ServiceDeploymentBrief) int {
		return aws.ToTime(b.CreatedAt).Compare(aws.ToTime(a.CreatedAt))
	})
	return briefs, nil
}

// revisions maps service revision ARNs to their task definitions. Revisions never change, so one
// map serves a whole wait.
type revisions map[string]string

// resolve describes the revisions among arns not yet known.
func (c *Client) resolve(ctx context.Context, revs revisions, arns ...string) error {
	var unknown []string
	for _, a := range arns {
		if _, ok := revs[a]; !ok && a != "" && !slices.Contains(unknown, a) {
			unknown = append(unknown, a)
		}
	}
	for batch := range slices.Chunk(unknown, describeBatch) {
		out, err := c.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: batch})
		if err != nil {
			return fmt.Errorf("describe service revisions: %w", err)
		}
		for _, r := range out.ServiceRevisions {
			revs[aws.ToString(r.ServiceRevisionArn)] = aws.ToString(r.TaskDefinition)
		}
	}
	return nil
}

// describeDeployment describes one service deployment and resolves its revisions.
func (c *Client) describeDeployment(ctx context.Context, revs revisions, arn string) (ServiceDeployment, error) {
	out, err := c.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil {
		return ServiceDeployment{}, fmt.Errorf("describe service deployment %s: %w", arn, err)
	}
	if len(out.ServiceDeployments) == 0 {
		reason := "not returned"
		if len(out.Failures) > 0 {
			reason = aws.ToString(out.Failures[0].Reason) + " " + aws.ToString(out.Failures[0].Detail)
		}
		return ServiceDeployment{}, fmt.Errorf("describe service deployment %s: %s", arn, strings.TrimSpace(reason))
	}
	d := out.ServiceDeployments[0]
	sd := ServiceDeployment{
		Arn: aws.ToString(d.ServiceDeploymentArn), Status: string(d.Status), StatusReason: aws.ToString(d.StatusReason),
		Stage: string(d.LifecycleStage), CreatedAt: aws.ToTime(d.CreatedAt),
	}
	arns := []string{}
	if t := d.TargetServiceRevision; t != nil {
		arns = append(arns, aws.ToString(t.Arn))
		sd.Running, sd.Desired = t.RunningTaskCount, t.RequestedTaskCount
	}
	for _, r := range d.SourceServiceRevisions {
		arns = append(arns, aws.ToString(r.Arn))
		sd.Draining += r.RunningTaskCount
	}
	if rb := d.Rollback; rb != nil {
		arns = append(arns, aws.ToString(rb.ServiceRevisionArn))
		sd.RollbackReason = aws.ToString(rb.Reason)
	}
	if err := c.resolve(ctx, revs, arns...); err != nil {
		return ServiceDeployment{}, err
	}
	if t := d.TargetServiceRevision; t != nil {
		sd.TargetTaskDefinition = revs[aws.ToString(t.Arn)]
	}
	for _, r := range d.SourceServiceRevisions {
		sd.SourceTaskDefinitions = append(sd.SourceTaskDefinitions, revs[aws.ToString(r.Arn)])
	}
	if rb := d.Rollback; rb != nil {
		sd.RolledBackTo = revs[aws.ToString(rb.ServiceRevisionArn)]
	}
	if cb := d.DeploymentCircuitBreaker; cb != nil {
		sd.FailedTasks, sd.Threshold = cb.FailureCount, cb.Threshold
	}
	if a := d.Alarms; a != nil {
		sd.Alarms = a.TriggeredAlarmNames
	}
	return sd, nil
}

// unavailableCodes are the error codes that say the service-deployment operations cannot be used
// here (IAM does not allow them, or the endpoint does not know them), as opposed to failing.
var unavailableCodes = []string{"AccessDeniedException", "AccessDenied", "UnknownOperationException", "UnsupportedFeatureException"}

// deploymentsUnavailable reports whether err is one of those: verification then reads the deployments list.
func deploymentsUnavailable(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(unavailableCodes, ae.ErrorCode())
}

// final reports whether a service deployment status is one ECS leaves no more.
func final(status string) bool {
	switch status {
	case StatusSuccessful, StatusStopped, StatusRollbackSuccessful, StatusRollbackFailed:
		return true
	}
	return false
}

// judge is the verdict a service deployment of want gives.
func judge(sd ServiceDeployment, want string) Verification {
	v := Verification{
		Want: want, Source: SourceServiceDeployment, Status: sd.Status, Stage: sd.Stage, DeploymentArn: sd.Arn,
		StatusReason: sd.StatusReason, RollbackReason: sd.RollbackReason,
		FailedTasks: sd.FailedTasks, Threshold: sd.Threshold, Alarms: sd.Alarms,
	}
	id := sd.Arn[strings.LastIndexByte(sd.Arn, '/')+1:]
	why := cmp.Or(strings.TrimSpace(strings.Join(nonEmpty(sd.StatusReason, sd.RollbackReason), "; ")), "no reason given")
	switch sd.Status {
	case StatusSuccessful:
		if sd.Desired == 0 {
			v.Reason = fmt.Sprintf("service deployment %s of %s is SUCCESSFUL, but with 0 desired tasks: no task ran it (scale the service up, then check with deploy status)", id, want)
			break
		}
		v.OK = true
		v.Reason = fmt.Sprintf("service deployment %s of %s is SUCCESSFUL (%d/%d tasks running)", id, want, sd.Running, sd.Desired)
	case StatusRollbackSuccessful:
		v.RolledBack, v.RolledBackTo = true, sd.RolledBackTo
		v.Reason = fmt.Sprintf("ECS rolled the service deployment %s of %s back to %s (%s; %d/%d tasks failed)", id, want, sd.RolledBackTo, why, sd.FailedTasks, sd.Threshold)
	case StatusRollbackFailed:
		v.RollbackFailed = true
		v.Reason = fmt.Sprintf("ECS could not roll the service deployment %s of %s back to %s: %s", id, want, cmp.Or(sd.RolledBackTo, "the previous revision"), why)
	case StatusStopped:
		v.Stopped = true
		v.Reason = fmt.Sprintf("the service deployment %s of %s STOPPED without a rollback: %s (%d/%d tasks failed)", id, want, why, sd.FailedTasks, sd.Threshold)
	case StatusPending, StatusInProgress, StatusStopRequested, StatusRollbackRequested, StatusRollbackInProgress:
		v.InProgress = true
		v.Reason = fmt.Sprintf("service deployment %s of %s is %s (%d/%d tasks running, %d draining, %d/%d failed)", id, want, sd.Status, sd.Running, sd.Desired, sd.Draining, sd.FailedTasks, sd.Threshold)
	default:
		v.Reason = fmt.Sprintf("service deployment %s of %s has status %q, which this tool does not know", id, want, sd.Status)
	}
	if len(sd.Alarms) > 0 {
		v.Reason += "; alarms in ALARM: " + strings.Join(sd.Alarms, ", ")
	}
	return v
}

func nonEmpty(ss ...string) []string {
	return slices.DeleteFunc(ss, func(s string) bool { return s == "" })
}
