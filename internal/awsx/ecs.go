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
)

// maxEvents bounds ServiceState.Events: ECS returns up to 100, and only the latest explain a deploy.
const maxEvents = 10

// describeTasksBatch is DescribeTasks' limit on task ARNs per request.
const describeTasksBatch = 100

// Deployment is one entry of an ECS service's deployments: PRIMARY is the one ECS is rolling to (or
// rolled back to), ACTIVE ones are draining.
type Deployment struct {
	ID, Status, TaskDefinition, RolloutState, RolloutStateReason string
	Desired, Running, Pending, Failed                            int32
	CreatedAt, UpdatedAt                                         time.Time
}

// Event is an ECS service event, such as "(service api) rolling back to deployment ecs-svc/456.".
type Event struct {
	At      time.Time
	Message string
}

// ServiceState is what ECS reports about a service.
type ServiceState struct {
	Cluster, Service, Status, TaskDefinition string
	Desired, Running, Pending                int32
	Deployments                              []Deployment
	Events                                   []Event // newest first, at most 10
}

// Primary returns the PRIMARY deployment, if there is one.
func (s ServiceState) Primary() (Deployment, bool) {
	for _, d := range s.Deployments {
		if d.Status == "PRIMARY" {
			return d, true
		}
	}
	return Deployment{}, false
}

// ContainerStop is how one container of a stopped task ended; ExitCode is nil when it never ran.
type ContainerStop struct {
	Name, Reason string
	ExitCode     *int32
}

// StoppedTask is a task ECS stopped, e.g. one the circuit breaker counted as failed.
type StoppedTask struct {
	Arn, TaskDefinition, StopCode, StoppedReason string
	StoppedAt                                    time.Time
	Containers                                   []ContainerStop
}

// Service describes an ECS service. A service that does not exist or was deleted (INACTIVE) is an
// error wrapping ErrServiceNotFound.
func (c *Client) Service(ctx context.Context, cluster, service string) (ServiceState, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	out, err := c.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  optional(cluster),
		Services: []string{service},
	})
	if err != nil {
		return ServiceState{}, c.ecsError("describe ECS service", cluster, service, err)
	}
	// One service was asked for, so there is one service or one failure.
	if len(out.Failures) > 0 && aws.ToString(out.Failures[0].Reason) != "MISSING" {
		f := out.Failures[0]
		return ServiceState{}, fmt.Errorf("describe ECS service %s in cluster %s: %s %s", service, clusterLabel(cluster), aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	if len(out.Services) == 0 {
		return ServiceState{}, fmt.Errorf("%w: %s in cluster %s (region %s)", ErrServiceNotFound, service, clusterLabel(cluster), c.region)
	}
	svc := out.Services[0]
	if aws.ToString(svc.Status) == "INACTIVE" {
		return ServiceState{}, fmt.Errorf("%w: %s in cluster %s is INACTIVE (deleted)", ErrServiceNotFound, service, clusterLabel(cluster))
	}

	st := ServiceState{
		Cluster:        cluster,
		Service:        aws.ToString(svc.ServiceName),
		Status:         aws.ToString(svc.Status),
		TaskDefinition: aws.ToString(svc.TaskDefinition),
		Desired:        svc.DesiredCount,
		Running:        svc.RunningCount,
		Pending:        svc.PendingCount,
	}
	if arn := aws.ToString(svc.ClusterArn); arn != "" {
		st.Cluster = arn[strings.LastIndexByte(arn, '/')+1:]
	}
	for _, d := range svc.Deployments {
		st.Deployments = append(st.Deployments, Deployment{
			ID:                 aws.ToString(d.Id),
			Status:             aws.ToString(d.Status),
			TaskDefinition:     aws.ToString(d.TaskDefinition),
			RolloutState:       string(d.RolloutState),
			RolloutStateReason: aws.ToString(d.RolloutStateReason),
			Desired:            d.DesiredCount,
			Running:            d.RunningCount,
			Pending:            d.PendingCount,
			Failed:             d.FailedTasks,
			CreatedAt:          aws.ToTime(d.CreatedAt),
			UpdatedAt:          aws.ToTime(d.UpdatedAt),
		})
	}
	for _, e := range svc.Events {
		st.Events = append(st.Events, Event{At: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
	}
	// ECS lists events newest first; sorting anyway keeps the cap from dropping the newest.
	slices.SortStableFunc(st.Events, func(a, b Event) int { return b.At.Compare(a.At) })
	if len(st.Events) > maxEvents {
		st.Events = st.Events[:maxEvents]
	}
	return st, nil
}

// StoppedTasks returns up to max (all when max <= 0) of the service's stopped tasks, newest first.
// ECS forgets stopped tasks about an hour after they stop, which covers a failed rollout.
func (c *Client) StoppedTasks(ctx context.Context, cluster, service string, max int) ([]StoppedTask, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	var arns []string
	pages := ecs.NewListTasksPaginator(c.ecs, &ecs.ListTasksInput{
		Cluster:       optional(cluster),
		ServiceName:   &service,
		DesiredStatus: ecstypes.DesiredStatusStopped,
		MaxResults:    aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, c.ecsError("list stopped tasks of ECS service", cluster, service, err)
		}
		arns = append(arns, page.TaskArns...)
	}

	var tasks []StoppedTask
	for batch := range slices.Chunk(arns, describeTasksBatch) {
		out, err := c.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: optional(cluster), Tasks: batch})
		if err != nil {
			return nil, c.ecsError("describe stopped tasks of ECS service", cluster, service, err)
		}
		// Failures here are tasks ECS forgot since ListTasks; there is nothing left to report on them.
		for _, t := range out.Tasks {
			task := StoppedTask{
				Arn:            aws.ToString(t.TaskArn),
				TaskDefinition: aws.ToString(t.TaskDefinitionArn),
				StopCode:       string(t.StopCode),
				StoppedReason:  aws.ToString(t.StoppedReason),
				StoppedAt:      aws.ToTime(t.StoppedAt),
			}
			for _, ct := range t.Containers {
				task.Containers = append(task.Containers, ContainerStop{
					Name:     aws.ToString(ct.Name),
					Reason:   aws.ToString(ct.Reason),
					ExitCode: ct.ExitCode,
				})
			}
			tasks = append(tasks, task)
		}
	}
	// ListTasks has no defined order.
	slices.SortStableFunc(tasks, func(a, b StoppedTask) int {
		return cmp.Or(b.StoppedAt.Compare(a.StoppedAt), strings.Compare(a.Arn, b.Arn))
	})
	if max > 0 && len(tasks) > max {
		tasks = tasks[:max]
	}
	return tasks, nil
}

// ecsError wraps an ECS API error with what was being done, naming a missing cluster or service.
func (c *Client) ecsError(doing, cluster, service string, err error) error {
	var noCluster *ecstypes.ClusterNotFoundException
	var noService *ecstypes.ServiceNotFoundException
	switch {
	case errors.As(err, &noCluster):
		return fmt.Errorf("%s %s: ECS cluster %s not found (region %s): %w", doing, service, clusterLabel(cluster), c.region, err)
	case errors.As(err, &noService):
		return fmt.Errorf("%s %s: %w in cluster %s (region %s): %w", doing, service, ErrServiceNotFound, clusterLabel(cluster), c.region, err)
	}
	return fmt.Errorf("%s %s in cluster %s: %w", doing, service, clusterLabel(cluster), err)
}

// clusterLabel names the cluster ECS uses when none is given.
func clusterLabel(cluster string) string {
	if cluster == "" {
		return "default"
	}
	return cluster
}

// Images returns the images of a task definition's containers, by name.
func (c *Client) Images(ctx context.Context, taskDefinition string) (map[string]string, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	out, err := c.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &taskDefinition})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", taskDefinition, err)
	}
	images := map[string]string{}
	if out.TaskDefinition != nil {
		for _, ct := range out.TaskDefinition.ContainerDefinitions {
			if ct.Name != nil && ct.Image != nil {
				images[*ct.Name] = *ct.Image
			}
		}
	}
	return images, nil
}
