package awsfake

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// The service operations: CreateCluster, CreateService, UpdateService, DeleteService,
// DescribeServices, ListTasks and DescribeTasks, after their aws-sdk-go-v2 service/ecs doc comments.

func (s *Server) createCluster(in struct {
	ClusterName string `json:"clusterName"`
}) (any, *apiError) {
	name := cmp.Or(in.ClusterName, "default")
	s.clusters[name] = true
	return map[string]any{"cluster": map[string]any{"clusterArn": clusterARN(name), "clusterName": name, "status": "ACTIVE"}}, nil
}

type wireDeploymentConfiguration struct {
	DeploymentCircuitBreaker *struct {
		Enable   bool `json:"enable"`
		Rollback bool `json:"rollback"`
	} `json:"deploymentCircuitBreaker"`
	Alarms *struct {
		AlarmNames []string `json:"alarmNames"`
		Enable     bool     `json:"enable"`
		Rollback   bool     `json:"rollback"`
	} `json:"alarms"`
	MaximumPercent        *int32 `json:"maximumPercent"`
	MinimumHealthyPercent *int32 `json:"minimumHealthyPercent"`
}

// configure applies a deploymentConfiguration; absent fields keep their values.
func (svc *service) configure(c *wireDeploymentConfiguration) {
	if c == nil {
		return
	}
	if cb := c.DeploymentCircuitBreaker; cb != nil {
		svc.breaker, svc.rollback = cb.Enable, cb.Rollback
	}
	if a := c.Alarms; a != nil {
		svc.alarms = deploymentAlarms{names: slices.Clone(a.AlarmNames), enable: a.Enable, rollback: a.Rollback}
	}
	if c.MaximumPercent != nil {
		svc.maxPercent = *c.MaximumPercent
	}
	if c.MinimumHealthyPercent != nil {
		svc.minHealthyPct = *c.MinimumHealthyPercent
	}
}

// wireDeploymentConfiguration is the service's deploymentConfiguration as ECS describes it.
func (svc *service) wireDeploymentConfiguration() map[string]any {
	c := map[string]any{
		"deploymentCircuitBreaker": map[string]any{"enable": svc.breaker, "rollback": svc.rollback},
		"maximumPercent":           svc.maxPercent, "minimumHealthyPercent": svc.minHealthyPct,
	}
	if a := svc.alarms; a.names != nil {
		c["alarms"] = map[string]any{"alarmNames": a.names, "enable": a.enable, "rollback": a.rollback}
	}
	return c
}

// usableTaskDefLocked resolves a task definition a service may run: it exists and is ACTIVE.
func (s *Server) usableTaskDefLocked(ref string) (*taskDef, *apiError) {
	td := s.lookupTaskDefLocked(ref)
	switch {
	case td == nil:
		return nil, clientError("ClientException", "TaskDefinition not found.")
	case td.status != "ACTIVE":
		return nil, clientError("ClientException", "TaskDefinition is inactive")
	}
	return td, nil
}

// createService creates a service; "If you attempt to create a new service with the same name as an
// existing service in either ACTIVE or DRAINING status, you receive an error." (DeleteService).
func (s *Server) createService(in struct {
	Cluster                 string                       `json:"cluster"`
	ServiceName             string                       `json:"serviceName"`
	TaskDefinition          string                       `json:"taskDefinition"`
	DesiredCount            *int32                       `json:"desiredCount"`
	DeploymentConfiguration *wireDeploymentConfiguration `json:"deploymentConfiguration"`
}) (any, *apiError) {
	cluster, aerr := s.lookupClusterLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	if in.ServiceName == "" {
		return nil, clientError("InvalidParameterException", "serviceName must be specified.")
	}
	k := serviceKey{cluster, in.ServiceName}
	if old := s.services[k]; (old != nil && old.status != "INACTIVE") || s.statics[k] != nil {
		return nil, clientError("InvalidParameterException", "Creation of service was not idempotent.")
	}
	td, aerr := s.usableTaskDefLocked(in.TaskDefinition)
	if aerr != nil {
		return nil, aerr
	}
	svc := &service{cluster: cluster, name: in.ServiceName, status: "ACTIVE", desired: ptrValue(in.DesiredCount),
		maxPercent: 200, minHealthyPct: 100, createdAt: s.now}
	svc.configure(in.DeploymentConfiguration)
	s.services[k] = svc
	s.deployLocked(svc, td)
	return map[string]any{"service": s.wireServiceLocked(svc)}, nil
}

func ptrValue[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// activeServiceLocked finds a service UpdateService or DeleteService may act on.
func (s *Server) activeServiceLocked(cluster, service string) (*service, *apiError) {
	name, aerr := s.lookupClusterLocked(cluster)
	if aerr != nil {
		return nil, aerr
	}
	k := serviceKey{name, lastSegment(service)}
	if s.statics[k] != nil {
		return nil, clientError("InvalidParameterException", "awsfake: service %s was set with SetService and does not react to API calls", k.service)
	}
	svc := s.services[k]
	switch {
	case svc == nil:
		return nil, clientError("ServiceNotFoundException", "Service not found.")
	case svc.status != "ACTIVE":
		return nil, clientError("ServiceNotActiveException", "Service was not ACTIVE.")
	}
	return svc, nil
}

func (s *Server) updateService(in struct {
	Cluster                 string                       `json:"cluster"`
	Service                 string                       `json:"service"`
	TaskDefinition          string                       `json:"taskDefinition"`
	DesiredCount            *int32                       `json:"desiredCount"`
	ForceNewDeployment      bool                         `json:"forceNewDeployment"`
	DeploymentConfiguration *wireDeploymentConfiguration `json:"deploymentConfiguration"`
}) (any, *apiError) {
	svc, aerr := s.activeServiceLocked(in.Cluster, in.Service)
	if aerr != nil {
		return nil, aerr
	}
	td := s.lookupTaskDefLocked(svc.taskDef)
	if in.TaskDefinition != "" {
		if td, aerr = s.usableTaskDefLocked(in.TaskDefinition); aerr != nil {
			return nil, aerr
		}
	}
	svc.configure(in.DeploymentConfiguration)
	if in.DesiredCount != nil {
		svc.desired = *in.DesiredCount
		if p := svc.primary(); p != nil {
			p.desired = svc.desired
			if p.rolloutState == "COMPLETED" {
				p.running = svc.desired
			}
		}
	}
	if td.arn != svc.taskDef || in.ForceNewDeployment {
		s.deployLocked(svc, td)
	}
	return map[string]any{"service": s.wireServiceLocked(svc)}, nil
}

// deleteService: "You can delete a service if you have no running tasks in it and the desired task
// count is zero ... if there are still running tasks that require cleanup, the service status moves
// from ACTIVE to DRAINING ... After all tasks have transitioned to either STOPPING or STOPPED status,
// the service status moves from DRAINING to INACTIVE." With force, a scaled service is deleted too.
// And "When you delete a service, Amazon ECS deletes the corresponding service deployments."
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html)
func (s *Server) deleteService(in struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
	Force   bool   `json:"force"`
}) (any, *apiError) {
	svc, aerr := s.activeServiceLocked(in.Cluster, in.Service)
	if aerr != nil {
		return nil, aerr
	}
	if svc.desired > 0 && !in.Force {
		return nil, clientError("InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")
	}
	svc.status, svc.desired = "DRAINING", 0
	for _, sd := range svc.sds {
		delete(s.deployments, sd.arn)
		delete(s.revisions, sd.target.arn)
	}
	svc.sds = nil
	return map[string]any{"service": s.wireServiceLocked(svc)}, nil
}

type wireFailure struct {
	Arn    string `json:"arn"`
	Reason string `json:"reason"`
}

type wireDeployment struct {
	ID                 string `json:"id"`
	Status             string `json:"status"`
	TaskDefinition     string `json:"taskDefinition"`
	DesiredCount       int32  `json:"desiredCount"`
	PendingCount       int32  `json:"pendingCount"`
	RunningCount       int32  `json:"runningCount"`
	FailedTasks        int32  `json:"failedTasks"`
	CreatedAt          epoch  `json:"createdAt"`
	UpdatedAt          epoch  `json:"updatedAt"`
	LaunchType         string `json:"launchType"`
	PlatformVersion    string `json:"platformVersion"`
	PlatformFamily     string `json:"platformFamily"`
	RolloutState       string `json:"rolloutState,omitempty"`
	RolloutStateReason string `json:"rolloutStateReason,omitempty"`
}

type wireEvent struct {
	ID        string `json:"id"`
	CreatedAt epoch  `json:"createdAt"`
	Message   string `json:"message"`
}

type wireService struct {
	ServiceArn               string           `json:"serviceArn"`
	ServiceName              string           `json:"serviceName"`
	ClusterArn               string           `json:"clusterArn"`
	Status                   string           `json:"status"`
	DesiredCount             int32            `json:"desiredCount"`
	RunningCount             int32            `json:"runningCount"`
	PendingCount             int32            `json:"pendingCount"`
	LaunchType               string           `json:"launchType"`
	TaskDefinition           string           `json:"taskDefinition,omitempty"`
	SchedulingStrategy       string           `json:"schedulingStrategy"`
	CreatedAt                epoch            `json:"createdAt"`
	CurrentServiceDeployment string           `json:"currentServiceDeployment,omitempty"`
	DeploymentController     map[string]any   `json:"deploymentController"`
	DeploymentConfiguration  map[string]any   `json:"deploymentConfiguration"`
	Deployments              []wireDeployment `json:"deployments"`
	Events                   []wireEvent      `json:"events"`
}

func (s *Server) wireServiceLocked(svc *service) wireService {
	w := wireService{
		ServiceArn: serviceARN(svc.cluster, svc.name), ServiceName: svc.name, ClusterArn: clusterARN(svc.cluster),
		Status: svc.status, DesiredCount: svc.desired, LaunchType: "FARGATE", TaskDefinition: svc.taskDef,
		SchedulingStrategy: "REPLICA", CreatedAt: epoch(svc.createdAt),
		DeploymentController:    map[string]any{"type": "ECS"},
		DeploymentConfiguration: svc.wireDeploymentConfiguration(),
		Deployments:             []wireDeployment{}, Events: []wireEvent{},
	}
	if n := len(svc.sds); n > 0 {
		w.CurrentServiceDeployment = svc.sds[n-1].arn
	}
	for _, d := range svc.deps {
		w.RunningCount += d.running
		w.PendingCount += d.pending
		w.Deployments = append(w.Deployments, wireDeployment{
			ID: d.id, Status: d.status, TaskDefinition: d.taskDef,
			DesiredCount: d.desired, PendingCount: d.pending, RunningCount: d.running, FailedTasks: d.failed,
			CreatedAt: epoch(d.createdAt), UpdatedAt: epoch(d.updatedAt),
			LaunchType: "FARGATE", PlatformVersion: "1.4.0", PlatformFamily: "Linux",
			RolloutState: d.rolloutState, RolloutStateReason: d.reason,
		})
	}
	w.Events = wireEvents(svc.cluster, svc.name, svc.events)
	return w
}

func wireEvents(cluster, service string, events []Event) []wireEvent {
	out := []wireEvent{}
	for i, e := range events {
		id := fmt.Sprintf("%s/%s/%d", cluster, service, len(events)-i)
		out = append(out, wireEvent{ID: fmt.Sprintf("%x", []byte(id)), CreatedAt: epoch(e.At), Message: e.Message})
	}
	return out
}

// describeServices describes up to 10 services; one ECS does not know is a failure with reason
// MISSING (the reason the SDK's ServicesStable waiter fails on). A poll sees the state, then the
// fake's clock moves on one Tick.
func (s *Server) describeServices(in struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
}) (any, *apiError) {
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, clientError("InvalidParameterException", "services must name between 1 and 10 services.")
	}
	cluster, aerr := s.lookupClusterLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	services, failures := []wireService{}, []wireFailure{}
	for _, ref := range in.Services {
		k := serviceKey{cluster, lastSegment(ref)}
		switch {
		case s.failures[k] != "":
			failures = append(failures, wireFailure{Arn: serviceARN(cluster, k.service), Reason: s.failures[k]})
		case s.statics[k] != nil:
			services = append(services, s.statics[k].poll())
		case s.services[k] != nil:
			services = append(services, s.wireServiceLocked(s.services[k]))
		default:
			failures = append(failures, wireFailure{Arn: serviceARN(cluster, k.service), Reason: "MISSING"})
		}
	}
	s.tickLocked()
	return map[string]any{"services": services, "failures": failures}, nil
}

// stoppedLocked lists the stopped tasks of one service, or of the whole cluster when service is "",
// and whether that service exists.
func (s *Server) stoppedLocked(cluster, service string) ([]*task, bool) {
	var tasks []*task
	found := service == ""
	for k, st := range s.statics {
		if k.cluster == cluster && (service == "" || k.service == service) {
			tasks, found = append(tasks, st.current().tasks...), true
		}
	}
	for k, svc := range s.services {
		if k.cluster == cluster && (service == "" || k.service == service) {
			tasks, found = append(tasks, svc.tasks...), true
		}
	}
	slices.SortFunc(tasks, func(a, b *task) int { return cmp.Compare(a.arn, b.arn) })
	return tasks, found
}

func (s *Server) listTasks(in struct {
	Cluster       string `json:"cluster"`
	ServiceName   string `json:"serviceName"`
	DesiredStatus string `json:"desiredStatus"`
	MaxResults    *int   `json:"maxResults"`
	NextToken     string `json:"nextToken"`
}) (any, *apiError) {
	cluster, aerr := s.lookupClusterLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	stopped, found := s.stoppedLocked(cluster, lastSegment(in.ServiceName))
	if !found {
		return nil, clientError("ServiceNotFoundException", "Service not found.")
	}
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, clientError("InvalidParameterException", "maxResults must be between 1 and 100.")
		}
		limit = *in.MaxResults
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 {
			return nil, clientError("InvalidParameterException", "Invalid nextToken.")
		}
		start = n
	}
	arns := []string{}
	// The fake keeps no running tasks, only the stopped ones that explain a failed rollout.
	if in.DesiredStatus == "STOPPED" {
		for _, t := range stopped {
			arns = append(arns, t.arn)
		}
	}
	start = min(start, len(arns))
	end := min(start+limit, len(arns))
	out := map[string]any{"taskArns": arns[start:end]}
	if end < len(arns) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

type wireContainer struct {
	ContainerArn string `json:"containerArn"`
	TaskArn      string `json:"taskArn"`
	Name         string `json:"name"`
	LastStatus   string `json:"lastStatus"`
	ExitCode     *int32 `json:"exitCode,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

type wireTask struct {
	TaskArn           string          `json:"taskArn"`
	ClusterArn        string          `json:"clusterArn"`
	TaskDefinitionArn string          `json:"taskDefinitionArn"`
	LastStatus        string          `json:"lastStatus"`
	DesiredStatus     string          `json:"desiredStatus"`
	LaunchType        string          `json:"launchType"`
	Group             string          `json:"group"`
	StartedBy         string          `json:"startedBy,omitempty"`
	StopCode          string          `json:"stopCode,omitempty"`
	StoppedReason     string          `json:"stoppedReason,omitempty"`
	CreatedAt         epoch           `json:"createdAt"`
	StoppingAt        epoch           `json:"stoppingAt"`
	StoppedAt         epoch           `json:"stoppedAt"`
	Containers        []wireContainer `json:"containers"`
}

func (s *Server) describeTasks(in struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
}) (any, *apiError) {
	if len(in.Tasks) == 0 {
		return nil, clientError("InvalidParameterException", "Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, clientError("InvalidParameterException", "Tasks cannot have more than 100 elements")
	}
	cluster, aerr := s.lookupClusterLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	all, _ := s.stoppedLocked(cluster, "")
	byID := map[string]*task{}
	for _, t := range all {
		byID[lastSegment(t.arn)] = t
	}
	tasks, failures := []wireTask{}, []wireFailure{}
	for _, ref := range in.Tasks {
		if t, ok := byID[lastSegment(ref)]; ok {
			tasks = append(tasks, wireTaskOf(cluster, t))
		} else {
			failures = append(failures, wireFailure{Arn: ref, Reason: "MISSING"})
		}
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

func wireTaskOf(cluster string, t *task) wireTask {
	w := wireTask{
		TaskArn: t.arn, ClusterArn: clusterARN(cluster), TaskDefinitionArn: t.taskDef,
		LastStatus: "STOPPED", DesiredStatus: "STOPPED", LaunchType: "FARGATE", Group: t.group, StartedBy: t.startedBy,
		StopCode: t.stopCode, StoppedReason: t.stoppedReason,
		CreatedAt: epoch(t.createdAt), StoppingAt: epoch(t.stoppedAt.Add(-time.Second)), StoppedAt: epoch(t.stoppedAt),
		Containers: []wireContainer{},
	}
	for i, c := range t.containers {
		w.Containers = append(w.Containers, wireContainer{
			ContainerArn: fmt.Sprintf("arn:aws:ecs:%s:%s:container/%s/%s/%d", Region, Account, cluster, lastSegment(t.arn), i),
			TaskArn:      t.arn, Name: c.Name, LastStatus: "STOPPED", ExitCode: c.ExitCode, Reason: c.Reason,
		})
	}
	return w
}
