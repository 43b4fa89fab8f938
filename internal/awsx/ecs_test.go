package awsx

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
)

var (
	tdOld = awsfake.TaskDefinitionARN("api-service", 1)
	tdNew = awsfake.TaskDefinitionARN("api-service", 2)
)

const (
	imageOld = awsfake.Account + ".dkr.ecr.us-east-1.amazonaws.com/api-service:old"
	imageNew = awsfake.Account + ".dkr.ecr.us-east-1.amazonaws.com/api-service:new"
)

// deploying drives the fake through the ECS API as the Pulumi program would: service api-service
// in cluster prod, 2 tasks, circuit breaker and rollback on, runs tdOld (imageOld), completed; then
// an update to tdNew (imageNew), whose rollout goes as r scripts (the zero Rollout leaves imageNew
// unscripted). It returns right after the update, with the fake's time the update began.
func deploying(t *testing.T, c *Client, fake *awsfake.Server, r awsfake.Rollout) time.Time {
	t.Helper()
	return deployingWith(t, c, fake, r, true, 2)
}

// deployingWith is deploying with the circuit breaker's rollback on or
// off, and desired tasks.
func deployingWith(t *testing.T, c *Client, fake *awsfake.Server, r awsfake.Rollout, rollback bool, desired int32) time.Time {
	t.Helper()
	return deployingWithConfig(t, c, fake, r, ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: rollback}}, desired)
}

// deployingWithConfig is deployingWith for a service with the deployment configuration cfg.
func deployingWithConfig(t *testing.T, c *Client, fake *awsfake.Server, r awsfake.Rollout, cfg ecstypes.DeploymentConfiguration, desired int32) time.Time {
	t.Helper()
	fake.CreateCluster("prod")
	if r != (awsfake.Rollout{}) {
		fake.SetRollout(imageNew, r)
	}
	ctx := t.Context()
	for _, img := range []string{imageOld, imageNew} {
		if _, err := c.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
			Family:               aws.String("api-service"),
			ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("api-service"), Image: aws.String(img)}},
		}); err != nil {
			t.Fatalf("RegisterTaskDefinition: %v", err)
		}
	}
	if _, err := c.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("api-service"), TaskDefinition: aws.String(tdOld), DesiredCount: aws.Int32(desired),
		DeploymentConfiguration: &cfg,
	}); err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	fake.Advance(awsfake.Tick)
	since := fake.Now()
	update(t, c, tdNew, false)
	return since
}

// update points api-service at taskDef, starting a deployment (forced: even of the same one).
func update(t *testing.T, c *Client, taskDef string, force bool) {
	t.Helper()
	if _, err := c.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{
		Cluster: aws.String("prod"), Service: aws.String("api-service"), TaskDefinition: aws.String(taskDef), ForceNewDeployment: force,
	}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
}

func deploymentsOf(st ServiceState) []string {
	var out []string
	for _, d := range st.Deployments {
		out = append(out, fmt.Sprintf("%s %s %s", d.Status, d.RolloutState, d.TaskDefinition))
	}
	return out
}

func TestServiceThroughRollBack(t *testing.T) {
	c, fake := newFakeClient(t)
	deploying(t, c, fake, awsfake.Rollout{Outcome: awsfake.CircuitBreaks})
	fake.Advance(2 * awsfake.Tick) // the circuit breaker's threshold (3) is reached on the second tick

	for _, tc := range []struct {
		name        string
		deployments []string
		taskDef     string
	}{
		{name: "rolling back", deployments: []string{"PRIMARY IN_PROGRESS " + tdOld, "ACTIVE FAILED " + tdNew}, taskDef: tdOld},
		{name: "settled", deployments: []string{"PRIMARY COMPLETED " + tdOld}, taskDef: tdOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := c.Service(t.Context(), "prod", "api-service")
			if err != nil {
				t.Fatalf("Service: %v", err)
			}
			if got := deploymentsOf(st); !slices.Equal(got, tc.deployments) {
				t.Errorf("deployments = %v, want %v", got, tc.deployments)
			}
			if st.Cluster != "prod" || st.Service != "api-service" || st.Status != "ACTIVE" || st.TaskDefinition != tc.taskDef {
				t.Errorf("service = %s/%s %s %s; want prod/api-service ACTIVE %s", st.Cluster, st.Service, st.Status, st.TaskDefinition, tc.taskDef)
			}
			if st.Desired != 2 || st.Running != 2 || st.Pending != 0 {
				t.Errorf("desired/running/pending = %d/%d/%d, want 2/2/0", st.Desired, st.Running, st.Pending)
			}
			for i := 1; i < len(st.Events); i++ {
				if st.Events[i].At.After(st.Events[i-1].At) {
					t.Errorf("event %d (%s) is newer than event %d (%s); want newest first", i, st.Events[i].At, i-1, st.Events[i-1].At)
				}
			}
			if tc.name != "rolling back" {
				return
			}
			primary, failed := st.Deployments[0], st.Deployments[1]
			if failed.RolloutStateReason != awsfake.CircuitBreakerReason || failed.Failed != 3 {
				t.Errorf("failed deployment = %+v; want the circuit breaker's reason and 3 failed tasks", failed)
			}
			var messages []string
			for _, e := range st.Events {
				messages = append(messages, e.Message)
			}
			want := []string{
				"(service api-service) rolling back to deployment " + primary.ID + ".",
				"(service api-service) (deployment " + failed.ID + ") deployment failed: tasks failed to start.",
			}
			if got := messages[:2]; !slices.Equal(got, want) {
				t.Errorf("newest events = %q, want %q", got, want)
			}
		})
	}
}

func TestServiceEventsNewestFirstAndCapped(t *testing.T) {
	c, fake := newFakeClient(t)
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var events []awsfake.Event
	// Deliberately oldest first: the client must not rely on ECS's order to keep the newest.
	for i := range 15 {
		events = append(events, awsfake.Event{At: base.Add(time.Duration(i) * time.Minute), Message: fmt.Sprintf("event %d", i)})
	}
	fake.SetService("prod", "api-service", awsfake.ServiceSpec{
		Primary: awsfake.Deployment{TaskDefinition: tdNew, Desired: 1, Running: 1},
		Events:  events,
	})

	st, err := c.Service(t.Context(), "prod", "api-service")
	if err != nil {
		t.Fatalf("Service: %v", err)
	}
	var got []string
	for _, e := range st.Events {
		got = append(got, e.Message)
	}
	var want []string
	for i := 14; i >= 5; i-- {
		want = append(want, fmt.Sprintf("event %d", i))
	}
	if !slices.Equal(got, want) {
		t.Errorf("events = %v\nwant %v", got, want)
	}
	if !st.Events[0].At.Equal(base.Add(14 * time.Minute)) {
		t.Errorf("newest event at %s, want %s", st.Events[0].At, base.Add(14*time.Minute))
	}
}

func TestServiceErrors(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.SetService("prod", "api-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdNew, Desired: 1, Running: 1}})
	fake.SetService("prod", "deleted-service", awsfake.ServiceSpec{Status: "INACTIVE"})
	fake.SetService("prod", "denied-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdNew, Desired: 1, Running: 1}})
	fake.SetServiceFailure("prod", "denied-service", "ACCESS_DENIED")

	for _, tc := range []struct {
		name, cluster, service string
		notFound               bool   // error wraps ErrServiceNotFound
		wantErr                string // substring
	}{
		{name: "missing service", cluster: "prod", service: "nope-service", notFound: true, wantErr: "nope-service in cluster prod"},
		{name: "deleted service", cluster: "prod", service: "deleted-service", notFound: true, wantErr: "INACTIVE"},
		{name: "failure other than MISSING", cluster: "prod", service: "denied-service", wantErr: "denied-service in cluster prod: ACCESS_DENIED"},
		{name: "missing cluster", cluster: "staging", service: "api-service", wantErr: "ECS cluster staging not found"},
		{name: "default cluster", cluster: "", service: "api-service", wantErr: "ECS cluster default not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Service(t.Context(), tc.cluster, tc.service)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrServiceNotFound) != tc.notFound {
				t.Errorf("Service(%q, %q) err = %v; want one containing %q, wrapping ErrServiceNotFound: %v",
					tc.cluster, tc.service, err, tc.wantErr, tc.notFound)
			}
		})
	}
}

func TestServiceAcceptsClusterARN(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.SetService("prod", "api-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdNew, Desired: 1, Running: 1}})
	st, err := c.Service(t.Context(), "arn:aws:ecs:us-east-1:"+awsfake.Account+":cluster/prod", "api-service")
	if err != nil {
		t.Fatalf("Service: %v", err)
	}
	if st.Cluster != "prod" {
		t.Errorf("cluster = %q, want prod", st.Cluster)
	}
}

func TestStoppedTasks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failure  awsfake.TaskFailure // how imageNew's tasks fail; zero: imageNew was never pushed
		stopCode string
		reason   string // prefix of the task's stoppedReason
		exitCode *int32
	}{
		{name: "essential container exited", failure: awsfake.ContainerExited(1), stopCode: "EssentialContainerExited", reason: "Essential container in task exited", exitCode: aws.Int32(1)},
		{name: "image never pushed", stopCode: "TaskFailedToStart", reason: "CannotPullContainerError: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			r := awsfake.Rollout{Outcome: awsfake.CircuitBreaks, Failure: tc.failure}
			if tc.failure == (awsfake.TaskFailure{}) {
				fake.CreateRepository("api-service", awsfake.Immutable)
				fake.PushImage("api-service", "old")
				r = awsfake.Rollout{}
			}
			deploying(t, c, fake, r)
			fake.Advance(3 * awsfake.Tick)

			for _, limit := range []struct{ max, want int }{{max: 0, want: 3}, {max: 5, want: 3}, {max: 1, want: 1}} {
				tasks, err := c.StoppedTasks(t.Context(), "prod", "api-service", limit.max)
				if err != nil {
					t.Fatalf("StoppedTasks(max %d): %v", limit.max, err)
				}
				if len(tasks) != limit.want {
					t.Errorf("StoppedTasks(max %d) returned %d tasks, want %d", limit.max, len(tasks), limit.want)
				}
			}
			tasks, err := c.StoppedTasks(t.Context(), "prod", "api-service", 0)
			if err != nil {
				t.Fatal(err)
			}
			for i, task := range tasks {
				if i > 0 && task.StoppedAt.After(tasks[i-1].StoppedAt) {
					t.Errorf("task %d stopped at %s, after task %d (%s); want newest first", i, task.StoppedAt, i-1, tasks[i-1].StoppedAt)
				}
				if task.TaskDefinition != tdNew || task.StopCode != tc.stopCode || !strings.HasPrefix(task.StoppedReason, tc.reason) || !strings.Contains(task.Arn, ":task/prod/") {
					t.Errorf("task = %+v; want a %s task of %s stopped with %q", task, tc.stopCode, tdNew, tc.reason)
				}
				if len(task.Containers) != 1 || fmt.Sprint(ptrString(task.Containers[0].ExitCode)) != fmt.Sprint(ptrString(tc.exitCode)) {
					t.Errorf("containers = %+v; want one with exit code %s", task.Containers, ptrString(tc.exitCode))
				}
			}
		})
	}
}

func ptrString(p *int32) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func TestStoppedTasksPaginatesAndBatches(t *testing.T) {
	c, fake := newFakeClient(t)
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	var stopped []awsfake.StoppedTask
	for i := range 150 {
		stopped = append(stopped, awsfake.StoppedTask{TaskDefinition: tdNew, StoppedReason: fmt.Sprintf("task %d", i), StoppedAt: base.Add(time.Duration(i) * time.Second)})
	}
	fake.SetService("prod", "api-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdNew}, StoppedTasks: stopped})

	tasks, err := c.StoppedTasks(t.Context(), "prod", "api-service", 3)
	if err != nil {
		t.Fatalf("StoppedTasks: %v", err)
	}
	var got []string
	for _, task := range tasks {
		got = append(got, task.StoppedReason)
	}
	if want := []string{"task 149", "task 148", "task 147"}; !slices.Equal(got, want) {
		t.Errorf("newest stopped tasks = %v, want %v", got, want)
	}
	if got, want := fake.Calls(), []string{"ListTasks", "ListTasks", "DescribeTasks", "DescribeTasks"}; !slices.Equal(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestStoppedTasksErrors(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.SetService("prod", "api-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdNew, Desired: 1, Running: 1}})
	for _, tc := range []struct {
		cluster, service string
		notFound         bool
		wantErr          string
	}{
		{cluster: "prod", service: "nope-service", notFound: true, wantErr: "nope-service"},
		{cluster: "staging", service: "api-service", wantErr: "ECS cluster staging not found"},
	} {
		_, err := c.StoppedTasks(t.Context(), tc.cluster, tc.service, 5)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errors.Is(err, ErrServiceNotFound) != tc.notFound {
			t.Errorf("StoppedTasks(%q, %q) err = %v; want one containing %q, wrapping ErrServiceNotFound: %v",
				tc.cluster, tc.service, err, tc.wantErr, tc.notFound)
		}
	}
}

func TestImages(t *testing.T) {
	c, fake := newFakeClient(t)
	deploying(t, c, fake, awsfake.Rollout{})
	for _, tc := range []struct {
		name, taskDef, want, wantErr string
	}{
		{name: "by ARN", taskDef: tdNew, want: imageNew},
		{name: "family alone is the latest ACTIVE revision", taskDef: "api-service", want: imageNew},
		{name: "family:revision", taskDef: "api-service:1", want: imageOld},
		{name: "unknown revision", taskDef: awsfake.TaskDefinitionARN("api-service", 8), wantErr: "api-service:8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Images(t.Context(), tc.taskDef)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Images(%s) = %v, %v; want an error naming %s", tc.taskDef, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got["api-service"] != tc.want {
				t.Errorf("Images(%s) = %v, %v; want api-service: %s", tc.taskDef, got, err, tc.want)
			}
		})
	}
}
