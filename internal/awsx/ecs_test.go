package awsx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
)

var (
	tdOld = awsfake.TaskDefinitionARN("api-service", 41)
	tdNew = awsfake.TaskDefinitionARN("api-service", 42)
)

func TestServiceAfterRollBack(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.Deploy("prod", "api-service", tdOld)
	fake.RollBack("prod", "api-service", tdNew, tdOld)

	st, err := c.Service(t.Context(), "prod", "api-service")
	if err != nil {
		t.Fatalf("Service: %v", err)
	}
	if st.Cluster != "prod" || st.Service != "api-service" || st.Status != "ACTIVE" || st.TaskDefinition != tdOld {
		t.Errorf("service = %s/%s %s %s; want prod/api-service ACTIVE %s", st.Cluster, st.Service, st.Status, st.TaskDefinition, tdOld)
	}
	if st.Desired != 2 || st.Running != 2 || st.Pending != 0 {
		t.Errorf("desired/running/pending = %d/%d/%d, want 2/2/0", st.Desired, st.Running, st.Pending)
	}

	if len(st.Deployments) != 2 {
		t.Fatalf("got %d deployments, want 2: %+v", len(st.Deployments), st.Deployments)
	}
	primary, failed := st.Deployments[0], st.Deployments[1]
	if primary.Status != "PRIMARY" || primary.TaskDefinition != tdOld || primary.RolloutState != "COMPLETED" ||
		primary.ID != awsfake.DeploymentID(tdOld) || primary.CreatedAt.IsZero() || primary.UpdatedAt.IsZero() {
		t.Errorf("primary = %+v; want PRIMARY COMPLETED %s with ID and times", primary, tdOld)
	}
	if failed.Status != "ACTIVE" || failed.TaskDefinition != tdNew || failed.RolloutState != "FAILED" ||
		failed.RolloutStateReason != awsfake.CircuitBreakerReason || failed.Failed != 2 {
		t.Errorf("failed deployment = %+v; want ACTIVE FAILED %s with the circuit breaker's reason and 2 failed tasks", failed, tdNew)
	}

	if len(st.Events) == 0 {
		t.Fatal("no events")
	}
	for i := 1; i < len(st.Events); i++ {
		if st.Events[i].At.After(st.Events[i-1].At) {
			t.Errorf("event %d (%s) is newer than event %d (%s); want newest first", i, st.Events[i].At, i-1, st.Events[i-1].At)
		}
	}
	var messages []string
	for _, e := range st.Events {
		messages = append(messages, e.Message)
	}
	all := strings.Join(messages, "\n")
	for _, want := range []string{
		"(service api-service) rolling back to deployment " + awsfake.DeploymentID(tdOld) + ".",
		"(service api-service) (deployment " + awsfake.DeploymentID(tdNew) + ") deployment failed: tasks failed to start.",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("events lack %q:\n%s", want, all)
		}
	}
	if got, want := messages[0], "(service api-service) has reached a steady state."; got != want {
		t.Errorf("newest event = %q, want %q", got, want)
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
	fake.Deploy("prod", "api-service", tdNew)
	fake.SetService("prod", "deleted-service", awsfake.ServiceSpec{Status: "INACTIVE"})

	for _, tc := range []struct {
		name, cluster, service string
		notFound               bool   // error wraps ErrServiceNotFound
		wantErr                string // substring
	}{
		{name: "missing service", cluster: "prod", service: "nope-service", notFound: true, wantErr: "nope-service in cluster prod"},
		{name: "deleted service", cluster: "prod", service: "deleted-service", notFound: true, wantErr: "INACTIVE"},
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
	fake.Deploy("prod", "api-service", tdNew)
	st, err := c.Service(t.Context(), "arn:aws:ecs:us-east-1:"+awsfake.Account+":cluster/prod", "api-service")
	if err != nil {
		t.Fatalf("Service: %v", err)
	}
	if st.Cluster != "prod" {
		t.Errorf("cluster = %q, want prod", st.Cluster)
	}
}

func TestStoppedTasks(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.Deploy("prod", "api-service", tdOld)
	fake.RollBack("prod", "api-service", tdNew, tdOld)

	for _, tc := range []struct {
		max, want int
	}{{max: 0, want: 2}, {max: 5, want: 2}, {max: 1, want: 1}} {
		tasks, err := c.StoppedTasks(t.Context(), "prod", "api-service", tc.max)
		if err != nil {
			t.Fatalf("StoppedTasks(max %d): %v", tc.max, err)
		}
		if len(tasks) != tc.want {
			t.Errorf("StoppedTasks(max %d) returned %d tasks, want %d", tc.max, len(tasks), tc.want)
		}
	}

	tasks, err := c.StoppedTasks(t.Context(), "prod", "api-service", 0)
	if err != nil {
		t.Fatal(err)
	}
	exited, pull := tasks[0], tasks[1]
	if !exited.StoppedAt.After(pull.StoppedAt) {
		t.Errorf("tasks stopped at %s then %s; want newest first", exited.StoppedAt, pull.StoppedAt)
	}
	if exited.TaskDefinition != tdNew || exited.StopCode != "EssentialContainerExited" || exited.StoppedReason != "Essential container in task exited" ||
		!strings.Contains(exited.Arn, ":task/prod/") {
		t.Errorf("newest task = %+v; want an EssentialContainerExited task of %s", exited, tdNew)
	}
	if len(exited.Containers) != 1 || exited.Containers[0].ExitCode == nil || *exited.Containers[0].ExitCode != 1 {
		t.Errorf("newest task's containers = %+v; want one with exit code 1", exited.Containers)
	}
	if pull.StopCode != "TaskFailedToStart" || !strings.HasPrefix(pull.StoppedReason, "CannotPullContainerError: ") {
		t.Errorf("older task = %+v; want TaskFailedToStart with a CannotPullContainerError", pull)
	}
	if len(pull.Containers) != 1 || pull.Containers[0].ExitCode != nil || !strings.HasPrefix(pull.Containers[0].Reason, "CannotPullContainerError: ") {
		t.Errorf("older task's containers = %+v; want one that never ran, with the pull error as reason", pull.Containers)
	}
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
	fake.Deploy("prod", "api-service", tdNew)
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
	arn := awsfake.TaskDefinitionARN("api-service", 7)
	fake.SetTaskDefinition(arn, "123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service:abc")
	got, err := c.Images(context.Background(), arn)
	if err != nil {
		t.Fatal(err)
	}
	if got["app"] != "123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service:abc" {
		t.Errorf("Images = %v, want app's image", got)
	}
	if _, err := c.Images(context.Background(), awsfake.TaskDefinitionARN("api-service", 8)); err == nil || !strings.Contains(err.Error(), "api-service:8") {
		t.Errorf("unknown task definition: err %v, want one naming it", err)
	}
}
