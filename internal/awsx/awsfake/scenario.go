package awsfake

import (
	"cmp"
	"fmt"
	"time"
)

// CircuitBreakerReason is the rolloutStateReason ECS gives a deployment its circuit breaker failed.
const CircuitBreakerReason = "ECS deployment circuit breaker: tasks failed to start."

// Deploy models a rollout of taskDef that completed: the PRIMARY deployment runs it, COMPLETED, with
// all desired tasks running, and the older deployments are gone.
func (s *Server) Deploy(cluster, service, taskDef string) {
	s.DeployAfter(cluster, service, taskDef, 0)
}

// DeployAfter is Deploy preceded by polls DescribeServices calls that see the rollout IN_PROGRESS,
// with the previous PRIMARY deployment still ACTIVE beside it.
func (s *Server) DeployAfter(cluster, service, taskDef string, polls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := serviceKey{clusterName(cluster), service}
	now := time.Now().UTC().Truncate(time.Second)
	base := s.latestLocked(k)
	var steps []step
	if polls > 0 {
		base = inProgress(service, base, taskDef, now)
		steps = append(steps, step{spec: base, polls: polls})
	}
	s.setLocked(k, append(steps, step{spec: completed(service, base, taskDef, now)}))
}

// RollBack models what ECS shows after its deployment circuit breaker rolled back a deploy of
// failedTaskDef: the PRIMARY deployment runs previousTaskDef again, COMPLETED (the "false success":
// a steady-state wait succeeds); the failed deployment is ACTIVE and FAILED with the circuit
// breaker's reason; events tell the story; and two tasks of failedTaskDef stopped, one because its
// image could not be pulled, one because its essential container exited with code 1.
func (s *Server) RollBack(cluster, service, failedTaskDef, previousTaskDef string) {
	s.RollBackAfter(cluster, service, failedTaskDef, previousTaskDef, 0)
}

// RollBackAfter is RollBack preceded by polls DescribeServices calls that see the rollout of
// failedTaskDef IN_PROGRESS, with previousTaskDef ACTIVE beside it.
func (s *Server) RollBackAfter(cluster, service, failedTaskDef, previousTaskDef string, polls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := serviceKey{clusterName(cluster), service}
	now := time.Now().UTC().Truncate(time.Second)
	base := s.latestLocked(k)
	if base.Primary.TaskDefinition != previousTaskDef {
		desired := desiredOf(base)
		base.Primary = Deployment{TaskDefinition: previousTaskDef, Desired: desired, Running: desired}
	}
	var steps []step
	if polls > 0 {
		base = inProgress(service, base, failedTaskDef, now)
		steps = append(steps, step{spec: base, polls: polls})
	}
	s.setLocked(k, append(steps, step{spec: rolledBack(service, base, failedTaskDef, previousTaskDef, now)}))
}

func inProgress(service string, prev ServiceSpec, taskDef string, now time.Time) ServiceSpec {
	desired := desiredOf(prev)
	next := ServiceSpec{
		Status:       prev.Status,
		Primary:      Deployment{TaskDefinition: taskDef, RolloutState: "IN_PROGRESS", Desired: desired, Pending: desired, CreatedAt: now},
		Events:       prependEvents(prev.Events, now, fmt.Sprintf("(service %s) has started %d tasks.", service, desired)),
		StoppedTasks: prev.StoppedTasks,
	}
	if old := prev.Primary; old.TaskDefinition != "" && old.TaskDefinition != taskDef {
		old.Status = "ACTIVE"
		next.Others = []Deployment{old}
	}
	return next
}

func completed(service string, prev ServiceSpec, taskDef string, now time.Time) ServiceSpec {
	desired := desiredOf(prev)
	d := Deployment{TaskDefinition: taskDef, RolloutState: "COMPLETED", Desired: desired, Running: desired, CreatedAt: now, UpdatedAt: now}
	if prev.Primary.TaskDefinition == taskDef {
		d.ID, d.CreatedAt = prev.Primary.ID, prev.Primary.CreatedAt
	}
	id := cmp.Or(d.ID, DeploymentID(taskDef))
	return ServiceSpec{
		Status:  prev.Status,
		Primary: d,
		Events: prependEvents(prev.Events, now,
			fmt.Sprintf("(service %s) has reached a steady state.", service),
			fmt.Sprintf("(service %s) (deployment %s) deployment completed.", service, id)),
		StoppedTasks: prev.StoppedTasks,
	}
}

func rolledBack(service string, prev ServiceSpec, failedTaskDef, previousTaskDef string, now time.Time) ServiceSpec {
	desired := desiredOf(prev)
	good := Deployment{TaskDefinition: previousTaskDef, RolloutState: "COMPLETED", Desired: desired, Running: desired, CreatedAt: now, UpdatedAt: now}
	bad := Deployment{TaskDefinition: failedTaskDef, RolloutState: "FAILED", RolloutStateReason: CircuitBreakerReason, Failed: 2, CreatedAt: now, UpdatedAt: now}
	for _, d := range append([]Deployment{prev.Primary}, prev.Others...) {
		switch d.TaskDefinition {
		case previousTaskDef:
			good.ID, good.CreatedAt = d.ID, cmp.Or(d.CreatedAt, now)
		case failedTaskDef:
			bad.ID, bad.CreatedAt = d.ID, cmp.Or(d.CreatedAt, now)
		}
	}
	goodID, badID := cmp.Or(good.ID, DeploymentID(previousTaskDef)), cmp.Or(bad.ID, DeploymentID(failedTaskDef))

	exit1 := int32(1)
	pullErr := fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref %s.dkr.ecr.%s.amazonaws.com/%s: not found", Account, Region, service)
	stopped := []StoppedTask{
		{
			TaskDefinition: failedTaskDef, StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited",
			StoppedAt: now, Containers: []Container{{Name: service, ExitCode: &exit1}},
		},
		{
			TaskDefinition: failedTaskDef, StopCode: "TaskFailedToStart", StoppedReason: pullErr,
			StoppedAt: now.Add(-30 * time.Second), Containers: []Container{{Name: service, Reason: pullErr}},
		},
	}
	return ServiceSpec{
		Status:  prev.Status,
		Primary: good,
		Others:  []Deployment{bad},
		Events: prependEvents(prev.Events, now,
			fmt.Sprintf("(service %s) has reached a steady state.", service),
			fmt.Sprintf("(service %s) (deployment %s) deployment completed.", service, goodID),
			fmt.Sprintf("(service %s) rolling back to deployment %s.", service, goodID),
			fmt.Sprintf("(service %s) (deployment %s) deployment failed: tasks failed to start.", service, badID)),
		StoppedTasks: append(stopped, prev.StoppedTasks...),
	}
}

func desiredOf(prev ServiceSpec) int32 {
	return cmp.Or(prev.Primary.Desired, 2)
}

// prependEvents puts messages (newest first) before prev, timed so the whole list stays newest first.
func prependEvents(prev []Event, now time.Time, messages ...string) []Event {
	base := now
	if len(prev) > 0 && !prev[0].At.Before(base) {
		base = prev[0].At.Add(time.Second)
	}
	events := make([]Event, 0, len(messages)+len(prev))
	for i, m := range messages {
		events = append(events, Event{At: base.Add(time.Duration(len(messages)-1-i) * time.Second), Message: m})
	}
	return append(events, prev...)
}
