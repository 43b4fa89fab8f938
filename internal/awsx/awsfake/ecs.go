package awsfake

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The ECS model: services with the rolling update (ECS) deployment controller on Fargate.
//
// A deployment starts when a service is created, or updated with a task definition other than the
// one it runs or with forceNewDeployment; desiredCount alone scales the PRIMARY deployment ("This
// parameter doesn't trigger a new service deployment.", UpdateServiceInput.DesiredCount,
// aws-sdk-go-v2 service/ecs). The new deployment is PRIMARY, the previous one ACTIVE ("PRIMARY The
// most recent deployment of a service. ACTIVE A service deployment that still has running tasks,
// but are in the process of being replaced with a new PRIMARY deployment.", types.Deployment.Status),
// and its rolloutState "begins in an IN_PROGRESS state. When the service reaches a steady state,
// the deployment transitions to a COMPLETED state. If the service fails to reach a steady state and
// circuit breaker is turned on, the deployment transitions to a FAILED state."
// (types.Deployment.RolloutState). Each deployment is also a service deployment (ListServiceDeployments
// and friends, see ecs_deployments.go).
//
// How a rollout goes is scripted per container image with SetRollout; unscripted images complete,
// except images of this fake's registry that ECR cannot serve (missing, archived), whose tasks fail
// with CannotPullContainerError. Failing tasks are counted by the deployment circuit breaker, whose
// threshold is 0.5 × the desired count, at least 3 and at most 200 (types.ServiceDeploymentCircuitBreaker.Threshold);
// at the threshold the deployment FAILS and, with rollback on, "the service is rolled back to the
// last deployment that completed successfully" (types.DeploymentCircuitBreaker.Rollback;
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html):
// that deployment is PRIMARY again, IN_PROGRESS on its task definition, while the FAILED one drains;
// then the service settles with that one deployment COMPLETED. The service events are ECS's
// ("(service X) (deployment ecs-svc/N) deployment failed: tasks failed to start.", "(service X)
// rolling back to deployment ecs-svc/N.", "(service X) has reached a steady state."). The
// service's deployment alarms (deploymentConfiguration.alarms) fail a rollout whose image sets off
// an alarm they watch, and roll it back likewise (Rollout.Alarm).
//
// Time: the fake has a simulated clock (Now), starting at Epoch. It moves one Tick after each
// DescribeServices or DescribeServiceDeployments call is answered (a poll sees the state, then time
// passes), and by Advance. Every tick steps every service once, so outcomes depend only on the
// sequence of calls, never on wall-clock time.

// CircuitBreakerReason is the rolloutStateReason ECS gives a deployment its circuit breaker failed.
const CircuitBreakerReason = "ECS deployment circuit breaker: tasks failed to start."

// Outcome is how a rollout of an image ends.
type Outcome int

const (
	// Completes: the tasks start and pass their health checks; the rollout COMPLETES.
	Completes Outcome = iota
	// CircuitBreaks: every task fails (Rollout.Failure); the circuit breaker, when on, fails the
	// deployment at its threshold and, with rollback on, rolls back.
	CircuitBreaks
	// Stalls: the tasks never become healthy and never fail; the rollout stays IN_PROGRESS.
	Stalls
)

// Rollout scripts how deployments of a container image go.
type Rollout struct {
	Outcome Outcome
	// Steps is how many ticks a Completes rollout takes (at least 1). Until then the new tasks
	// are pending (first tick) then running beside the old deployment's.
	Steps int
	// RollbackSteps is how many ticks a rollback away from this image takes to settle (at least 1).
	// A rollback to an image whose rollout is scripted CircuitBreaks fails when it would settle.
	RollbackSteps int
	// Failure is how each task of a CircuitBreaks rollout ends; zero means ContainerExited(1).
	// Every tick the deployment launches its desired count of tasks (up to the threshold), and they fail.
	Failure TaskFailure
	// Alarm is a CloudWatch alarm that a Completes rollout's tasks set off once they all run (when
	// the rollout would complete): they pass their health checks, then, say, answer 5xx. ECS watches
	// it only when the service's deploymentConfiguration.alarms names it and enables alarms: then
	// "Amazon ECS sets the service deployment to failed" and, with rollback, rolls the service back
	// "to the last deployment that completed successfully" (types.DeploymentAlarms;
	// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html).
	// Otherwise the rollout completes.
	Alarm string
}

// TaskFailure is how a failed task stopped: the task's stopCode and stoppedReason, and its
// container's reason and exit code (nil when the container never ran).
type TaskFailure struct {
	StopCode, StoppedReason string
	ContainerReason         string
	ExitCode                *int32
}

// ContainerExited is a task whose essential container exited with code.
func ContainerExited(code int32) TaskFailure {
	return TaskFailure{StopCode: "EssentialContainerExited", StoppedReason: "Essential container in task exited", ExitCode: &code}
}

// CannotPullContainer is a task that never started because image could not be pulled
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-errors.html).
func CannotPullContainer(image string) TaskFailure {
	msg := fmt.Sprintf("CannotPullContainerError: pull image manifest has been retried 7 time(s): failed to resolve ref %s: %s: not found", image, image)
	return TaskFailure{StopCode: "TaskFailedToStart", StoppedReason: msg, ContainerReason: msg}
}

// SetRollout scripts the rollouts of image (a container image reference exactly as task
// definitions name it) from now on, including one already under way.
func (s *Server) SetRollout(image string, r Rollout) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollouts[image] = r
	for _, svc := range s.services {
		for _, d := range svc.deps {
			if d.image == image {
				d.rollout = r
			}
		}
	}
}

// CreateCluster creates an ECS cluster (clusters must exist before services are created in them).
func (s *Server) CreateCluster(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clusters[name] = true
}

// SetServiceFailure makes DescribeServices answer a failure with reason (e.g. "ACCESS_DENIED")
// for service instead of describing it; "" restores the normal answer.
func (s *Server) SetServiceFailure(cluster, service, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[serviceKey{clusterName(cluster), service}] = reason
}

type service struct {
	cluster, name, status     string
	desired                   int32
	taskDef                   string
	breaker, rollback         bool
	alarms                    deploymentAlarms
	maxPercent, minHealthyPct int32
	deps                      []*ecsDep // PRIMARY first
	events                    []Event   // newest first
	tasks                     []*task   // stopped tasks
	sds                       []*svcDep // oldest first
	createdAt                 time.Time
}

// ecsDep is one entry of a service's deployments.
type ecsDep struct {
	id, status, taskDef, rolloutState, reason string
	desired, running, pending, failed         int32
	createdAt, updatedAt                      time.Time
	image, container                          string // the image whose rollout applies, and its container
	rollout                                   Rollout
	steps                                     int
	completed                                 bool    // its rollout completed: a rollback target
	frozen                                    bool    // its service deployment was aborted
	sd                                        *svcDep // the service deployment that started it
	rev                                       *revision
	rollingBack                               *svcDep // set while this deployment is the target of sd's rollback
	rollbackLeft                              int
}

func (svc *service) primary() *ecsDep {
	if len(svc.deps) == 0 {
		return nil
	}
	return svc.deps[0]
}

// threshold is the circuit breaker's failure threshold for desired tasks: 0.5 × desired, rounded up
// (the fake's reading of the formula), clamped to 3..200.
func threshold(desired int32) int32 {
	return min(max((desired+1)/2, 3), 200)
}

func clusterName(cluster string) string {
	if cluster == "" {
		return "default"
	}
	return lastSegment(cluster)
}

func clusterARN(cluster string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", Region, Account, cluster)
}

func serviceARN(cluster, service string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", Region, Account, cluster, service)
}

// lookupClusterLocked resolves a cluster name or ARN, failing as ECS does when it does not exist.
func (s *Server) lookupClusterLocked(cluster string) (string, *apiError) {
	name := clusterName(cluster)
	if !s.clusters[name] {
		return "", clientError("ClusterNotFoundException", "Cluster not found.")
	}
	return name, nil
}

// idLocked is a fresh ID of ECS's deployment-ID shape (19 digits).
func (s *Server) idLocked(what string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", what, s.next()))
	return fmt.Sprintf("%019d", binary.BigEndian.Uint64(sum[:8])%1e19)
}

// eventLocked records service events at the current time; messages are given oldest first.
func (s *Server) eventLocked(svc *service, messages ...string) {
	for _, m := range messages {
		svc.events = slices.Insert(svc.events, 0, Event{At: s.now, Message: fmt.Sprintf("(service %s) %s", svc.name, m)})
	}
}

// rolloutOfLocked is how deployments of td go: the first container whose image is scripted decides;
// else the first whose image ECR cannot serve fails to pull; else the rollout completes.
func (s *Server) rolloutOfLocked(td *taskDef) (image, container string, r Rollout) {
	imgs := td.images()
	for _, c := range imgs {
		if r, ok := s.rollouts[c.image]; ok {
			return c.image, c.name, r
		}
	}
	for _, c := range imgs {
		if !s.pullableLocked(c.image) {
			return c.image, c.name, Rollout{Outcome: CircuitBreaks, Failure: CannotPullContainer(c.image)}
		}
	}
	return imgs[0].image, imgs[0].name, Rollout{}
}

// deployLocked starts a deployment of td on svc.
func (s *Server) deployLocked(svc *service, td *taskDef) {
	var source []*revision
	for _, d := range svc.deps {
		d.status = "ACTIVE"
		source = append(source, d.rev.withCounts(d))
	}
	image, container, r := s.rolloutOfLocked(td)
	d := &ecsDep{
		id: "ecs-svc/" + s.idLocked(svc.name), status: "PRIMARY", taskDef: td.arn, rolloutState: "IN_PROGRESS",
		desired: svc.desired, pending: svc.desired, createdAt: s.now, updatedAt: s.now,
		image: image, container: container, rollout: r,
	}
	d.rev = s.newRevisionLocked(svc, td)
	d.sd = s.newServiceDeploymentLocked(svc, d, source)
	svc.deps = slices.Insert(svc.deps, 0, d)
	svc.taskDef = td.arn
	if svc.desired > 0 {
		s.eventLocked(svc, fmt.Sprintf("has started %d tasks.", svc.desired))
	}
}

// tickLocked advances simulated time by one Tick and steps every service.
func (s *Server) tickLocked() {
	s.now = s.now.Add(Tick)
	for _, k := range slices.SortedFunc(maps.Keys(s.services), func(a, b serviceKey) int {
		return cmp.Or(strings.Compare(a.cluster, b.cluster), strings.Compare(a.service, b.service))
	}) {
		s.stepLocked(s.services[k])
	}
}

func (s *Server) stepLocked(svc *service) {
	if svc.status == "DRAINING" {
		svc.status, svc.deps = "INACTIVE", nil
		return
	}
	p := svc.primary()
	if svc.status != "ACTIVE" || p == nil {
		return
	}
	switch sd := p.sd; {
	case sd.status == "ROLLBACK_REQUESTED":
		if target := rollbackTarget(svc); target != nil {
			p.rolloutState, p.reason = "FAILED", StopRollbackReason
			s.rollBackLocked(svc, p, target, "Service deployment rolled back by StopServiceDeployment.")
		} else {
			sd.status, sd.statusReason, sd.finishedAt = "ROLLBACK_FAILED", "No service revision to roll back to.", s.now
		}
	case sd.status == "STOP_REQUESTED":
		sd.status, sd.stoppedAt, sd.finishedAt, p.frozen = "STOPPED", s.now, s.now, true
	case p.rollingBack != nil:
		p.rollbackLeft--
		if p.rollbackLeft > 0 {
			break
		}
		rolled := p.rollingBack
		p.rollingBack = nil
		if p.rollout.Outcome == CircuitBreaks {
			s.rollbackFailedLocked(svc, p, rolled)
			break
		}
		s.completeLocked(svc, p)
		rolled.status, rolled.finishedAt, rolled.updatedAt = "ROLLBACK_SUCCESSFUL", s.now, s.now
	case p.rolloutState == "IN_PROGRESS" && !p.frozen:
		s.progressLocked(svc, p)
	}
}

// progressLocked runs one tick of p's rollout.
func (s *Server) progressLocked(svc *service, p *ecsDep) {
	p.steps++
	p.updatedAt = s.now
	switch {
	case p.desired == 0:
		s.completeLocked(svc, p)
		p.sd.status, p.sd.finishedAt = "SUCCESSFUL", s.now
	case p.rollout.Outcome == Stalls:
	case p.rollout.Outcome == CircuitBreaks:
		limit := threshold(p.desired)
		n := p.desired
		if svc.breaker {
			n = min(n, limit-p.failed)
		}
		for range n {
			s.stopTaskLocked(svc, p)
		}
		p.failed += n
		p.sd.failureCount = p.failed
		if svc.breaker && p.failed >= limit {
			s.failLocked(svc, p)
		}
	case p.steps >= max(p.rollout.Steps, 1) && svc.alarms.watches(p.rollout.Alarm):
		p.running, p.pending = p.desired, 0
		s.alarmLocked(svc, p, p.rollout.Alarm)
	case p.steps >= max(p.rollout.Steps, 1):
		s.completeLocked(svc, p)
		p.sd.status, p.sd.finishedAt = "SUCCESSFUL", s.now
		if p.sd.alarmStatus == "MONITORING" {
			// The fake's reading of MONITORING_COMPLETE (types.ServiceDeploymentRollbackMonitorsStatus):
			// the alarms were watched to the end of the rollout and none triggered.
			p.sd.alarmStatus = "MONITORING_COMPLETE"
		}
		for _, sd := range svc.sds {
			if sd != p.sd && sd.status == "IN_PROGRESS" {
				sd.status, sd.stoppedAt, sd.finishedAt = "STOPPED", s.now, s.now
			}
		}
	default:
		p.running, p.pending = p.desired, 0
	}
}

// completeLocked settles svc on p alone, COMPLETED with all its tasks running.
func (s *Server) completeLocked(svc *service, p *ecsDep) {
	p.rolloutState, p.reason, p.completed = "COMPLETED", "", true
	p.running, p.pending, p.updatedAt = p.desired, 0, s.now
	p.sd.updatedAt = s.now
	svc.deps = []*ecsDep{p}
	s.eventLocked(svc, fmt.Sprintf("(deployment %s) deployment completed.", p.id), "has reached a steady state.")
}

// failLocked is the circuit breaker tripping on p.
func (s *Server) failLocked(svc *service, p *ecsDep) {
	p.rolloutState, p.reason, p.pending = "FAILED", CircuitBreakerReason, 0
	sd := p.sd
	sd.breakerStatus, sd.statusReason, sd.updatedAt = "TRIGGERED", CircuitBreakerReason, s.now
	s.eventLocked(svc, fmt.Sprintf("(deployment %s) deployment failed: tasks failed to start.", p.id))
	if target := rollbackTarget(svc); svc.rollback && target != nil {
		s.rollBackLocked(svc, p, target, "Circuit Breaker was triggered")
		return
	}
	// "The service deployment stops when ... The rollback option is not in use for the failure
	// detection mechanism (the circuit breaker or alarm-based) and the service fails."
	// (types.ServiceDeployment.StoppedAt)
	sd.status, sd.stoppedAt, sd.finishedAt = "STOPPED", s.now, s.now
}

// deploymentAlarms is a service's deploymentConfiguration.alarms (types.DeploymentAlarms).
type deploymentAlarms struct {
	names            []string
	enable, rollback bool
}

// watches reports whether ECS fails a deployment when alarm goes into ALARM.
func (a deploymentAlarms) watches(alarm string) bool {
	return alarm != "" && a.enable && slices.Contains(a.names, alarm)
}

// status is the service deployment's alarms.status before any alarm triggered: "Amazon ECS is not
// using alarms for service deployment failures when the status is DISABLED"
// (types.ServiceDeploymentAlarms.Status).
func (a deploymentAlarms) status() string {
	if a.enable {
		return "MONITORING"
	}
	return "DISABLED"
}

// alarmLocked is alarm, which the service's deployment alarms watch, going into ALARM during p's
// rollout: the deployment FAILS, the service deployment's alarms read TRIGGERED with the alarm's
// name (types.ServiceDeploymentAlarms.TriggeredAlarmNames), and with rollback the service rolls
// back; without it the service deployment stops, as after the circuit breaker (StoppedAt: "The
// rollback option is not in use for the failure detection mechanism (the circuit breaker or
// alarm-based)"). The reasons' wording is the fake's: AWS documents none.
func (s *Server) alarmLocked(svc *service, p *ecsDep, alarm string) {
	reason := fmt.Sprintf("ECS deployment failed: alarm %s in ALARM state.", alarm)
	p.rolloutState, p.reason, p.updatedAt = "FAILED", reason, s.now
	sd := p.sd
	sd.alarmStatus, sd.triggeredAlarms, sd.statusReason, sd.updatedAt = "TRIGGERED", []string{alarm}, reason, s.now
	s.eventLocked(svc, fmt.Sprintf("(deployment %s) deployment failed: alarm detected.", p.id))
	if target := rollbackTarget(svc); svc.alarms.rollback && target != nil {
		s.rollBackLocked(svc, p, target, "Alarm "+alarm+" triggered")
		return
	}
	sd.status, sd.stoppedAt, sd.finishedAt = "STOPPED", s.now, s.now
}

// rollbackTarget is the newest deployment besides the PRIMARY whose rollout completed.
func rollbackTarget(svc *service) *ecsDep {
	for _, d := range svc.deps[1:] {
		if d.completed {
			return d
		}
	}
	return nil
}

// rollBackLocked makes target PRIMARY again, IN_PROGRESS, while failed drains.
func (s *Server) rollBackLocked(svc *service, failed, target *ecsDep, reason string) {
	failed.status, failed.desired, failed.running, failed.pending, failed.updatedAt = "ACTIVE", 0, 0, 0, s.now
	target.status, target.rolloutState, target.desired, target.updatedAt = "PRIMARY", "IN_PROGRESS", svc.desired, s.now
	target.rollingBack, target.rollbackLeft = failed.sd, max(failed.rollout.RollbackSteps, 1)
	svc.deps = append([]*ecsDep{target}, slices.DeleteFunc(svc.deps, func(d *ecsDep) bool { return d == target })...)
	svc.taskDef = target.taskDef
	sd := failed.sd
	sd.status, sd.updatedAt = "ROLLBACK_IN_PROGRESS", s.now
	sd.rollback = &rollbackInfo{reason: reason, startedAt: s.now, revisionArn: target.rev.arn}
	s.eventLocked(svc, fmt.Sprintf("rolling back to deployment %s.", target.id))
}

// rollbackFailedLocked ends rolled's rollback to target, whose image now fails too (SetRollout of
// the image rolled back to, CircuitBreaks): "ROLLBACK_FAILED - The service deployment failed to roll
// back" (types.ServiceDeploymentStatus); the deployment rolled back to FAILS in the deployments
// list, and the service stays on it. The reason's wording is the fake's: AWS documents none.
func (s *Server) rollbackFailedLocked(svc *service, target *ecsDep, rolled *svcDep) {
	target.rolloutState, target.reason, target.pending, target.updatedAt = "FAILED", CircuitBreakerReason, 0, s.now
	rolled.status, rolled.finishedAt, rolled.updatedAt = "ROLLBACK_FAILED", s.now, s.now
	rolled.statusReason = RollbackFailedReason
	s.eventLocked(svc, fmt.Sprintf("(deployment %s) deployment failed: tasks failed to start.", target.id))
}

// RollbackFailedReason is the statusReason the fake gives a service deployment whose rollback failed.
const RollbackFailedReason = "The rollback failed: tasks of the service revision rolled back to failed to start."

// StopRollbackReason is the rolloutStateReason the fake gives a deployment StopServiceDeployment
// rolled back (its wording is the fake's: AWS documents none).
const StopRollbackReason = "ECS deployment stopped: rollback requested."

type task struct {
	arn, taskDef, group, stopCode, stoppedReason string
	startedBy                                    string
	createdAt, stoppedAt                         time.Time
	containers                                   []Container
}

// stopTaskLocked records a task of p that failed as p's rollout scripts.
func (s *Server) stopTaskLocked(svc *service, p *ecsDep) {
	f := p.rollout.Failure
	if f == (TaskFailure{}) {
		f = ContainerExited(1)
	}
	td := s.lookupTaskDefLocked(p.taskDef)
	var containers []Container
	for _, c := range td.images() {
		ct := Container{Name: c.name}
		if c.name == p.container {
			ct.Reason, ct.ExitCode = f.ContainerReason, f.ExitCode
		}
		containers = append(containers, ct)
	}
	svc.tasks = append(svc.tasks, &task{
		arn: s.taskARNLocked(svc.cluster), taskDef: p.taskDef, group: "service:" + svc.name, startedBy: p.id,
		stopCode: f.StopCode, stoppedReason: f.StoppedReason, createdAt: s.now.Add(-Tick), stoppedAt: s.now,
		containers: containers,
	})
}

func (s *Server) taskARNLocked(cluster string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "task/%s/%d", cluster, s.next()))
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%x", Region, Account, cluster, sum[:16])
}
