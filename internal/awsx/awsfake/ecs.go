package awsfake

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ServiceSpec is what the fake reports for one ECS service.
type ServiceSpec struct {
	// Status of the service; ACTIVE when empty. INACTIVE is what ECS shows for a deleted service.
	Status string
	// Primary is the PRIMARY deployment; an empty TaskDefinition means the service has none.
	Primary Deployment
	// Others are the remaining deployments, listed after the PRIMARY one (Status ACTIVE when empty).
	Others []Deployment
	// Events, newest first as ECS lists them; zero times are filled in, one second apart.
	Events []Event
	// StoppedTasks are what ListTasks (desiredStatus STOPPED) and DescribeTasks report.
	StoppedTasks []StoppedTask
}

// Deployment is one ECS deployment of a service.
type Deployment struct {
	ID                 string // a stable ecs-svc/<n> derived from TaskDefinition when empty
	Status             string // always PRIMARY for ServiceSpec.Primary
	TaskDefinition     string
	RolloutState       string // COMPLETED when empty
	RolloutStateReason string
	Desired, Running   int32
	Pending, Failed    int32
	CreatedAt          time.Time // now when zero
	UpdatedAt          time.Time // CreatedAt when zero
}

// Event is a service event.
type Event struct {
	At      time.Time
	Message string
}

// StoppedTask is a task ECS stopped; the fake assigns its ARN.
type StoppedTask struct {
	TaskDefinition string
	StopCode       string // e.g. TaskFailedToStart, EssentialContainerExited
	StoppedReason  string
	StoppedAt      time.Time // now when zero
	Containers     []Container

	arn string
}

// Container is how one container of a stopped task ended; ExitCode is nil when it never started.
type Container struct {
	Name, Reason string
	ExitCode     *int32
}

// SetService makes DescribeServices report st for service in cluster (creating the cluster).
func (s *Server) SetService(cluster, service string, st ServiceSpec) {
	s.SetServiceSequence(cluster, service, st)
}

// SetServiceSequence makes successive DescribeServices calls for the service report specs in turn,
// the last one from then on; this models a rollout that settles after some polls. With no specs
// the service is removed (DescribeServices reports it MISSING) while its cluster remains.
func (s *Server) SetServiceSequence(cluster, service string, specs ...ServiceSpec) {
	steps := make([]step, len(specs))
	for i, spec := range specs {
		steps[i] = step{spec: spec, polls: 1}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(serviceKey{clusterName(cluster), service}, steps)
}

func (s *Server) setLocked(k serviceKey, steps []step) {
	s.clusters[k.cluster] = true
	if len(steps) == 0 {
		delete(s.services, k)
		return
	}
	now := time.Now().UTC().Truncate(time.Second)
	for i := range steps {
		steps[i].spec = s.materialize(k, steps[i].spec, now)
	}
	s.services[k] = &serviceState{steps: steps}
}

// materialize deep-copies spec (callers may reuse their slices) and fills in defaults and ARNs.
func (s *Server) materialize(k serviceKey, spec ServiceSpec, now time.Time) ServiceSpec {
	spec.Status = cmp.Or(spec.Status, "ACTIVE")
	fill := func(d *Deployment, status string) {
		d.ID = cmp.Or(d.ID, DeploymentID(d.TaskDefinition))
		d.Status = status
		d.RolloutState = cmp.Or(d.RolloutState, "COMPLETED")
		if d.CreatedAt.IsZero() {
			d.CreatedAt = now
		}
		if d.UpdatedAt.IsZero() {
			d.UpdatedAt = d.CreatedAt
		}
	}
	if spec.Primary.TaskDefinition != "" {
		fill(&spec.Primary, "PRIMARY")
	}
	spec.Others = slices.Clone(spec.Others)
	for i := range spec.Others {
		fill(&spec.Others[i], cmp.Or(spec.Others[i].Status, "ACTIVE"))
	}
	spec.Events = slices.Clone(spec.Events)
	for i := range spec.Events {
		if spec.Events[i].At.IsZero() {
			spec.Events[i].At = now.Add(-time.Duration(i) * time.Second)
		}
	}
	spec.StoppedTasks = slices.Clone(spec.StoppedTasks)
	for i := range spec.StoppedTasks {
		t := &spec.StoppedTasks[i]
		t.Containers = slices.Clone(t.Containers)
		if t.StoppedAt.IsZero() {
			t.StoppedAt = now.Add(-time.Duration(i) * time.Second)
		}
		if t.arn == "" {
			sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", k.cluster, k.service, s.next()))
			t.arn = fmt.Sprintf("arn:aws:ecs:%s:%s:task/%s/%s", Region, Account, k.cluster, hex.EncodeToString(sum[:16]))
		}
	}
	return spec
}

// latestLocked is the state a service settles in, which scenario helpers build on.
func (s *Server) latestLocked(k serviceKey) ServiceSpec {
	if st := s.services[k]; st != nil {
		return st.steps[len(st.steps)-1].spec
	}
	return ServiceSpec{}
}

// DeploymentID is the ECS-style ID the fake gives a deployment of taskDef when the spec leaves it
// empty. Deriving it from the task definition lets scenario helpers and tests name the same
// deployment without sharing state.
func DeploymentID(taskDef string) string {
	sum := sha256.Sum256([]byte(taskDef))
	return fmt.Sprintf("ecs-svc/%019d", binary.BigEndian.Uint64(sum[:8])%1e19)
}

func clusterName(cluster string) string {
	if cluster == "" {
		return "default"
	}
	return cluster[strings.LastIndexByte(cluster, '/')+1:]
}

func clusterARN(cluster string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", Region, Account, cluster)
}

func serviceARN(cluster, service string) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service/%s/%s", Region, Account, cluster, service)
}

// lookupLocked resolves a cluster name or ARN, failing as ECS does when the cluster does not exist.
func (s *Server) lookupLocked(cluster string) (string, *apiError) {
	name := clusterName(cluster)
	if !s.clusters[name] {
		return "", clientError("ClusterNotFoundException", "Cluster not found.")
	}
	return name, nil
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
	RolloutState       string `json:"rolloutState"`
	RolloutStateReason string `json:"rolloutStateReason,omitempty"`
}

type wireEvent struct {
	ID        string `json:"id"`
	CreatedAt epoch  `json:"createdAt"`
	Message   string `json:"message"`
}

type wireService struct {
	ServiceArn              string           `json:"serviceArn"`
	ServiceName             string           `json:"serviceName"`
	ClusterArn              string           `json:"clusterArn"`
	Status                  string           `json:"status"`
	DesiredCount            int32            `json:"desiredCount"`
	RunningCount            int32            `json:"runningCount"`
	PendingCount            int32            `json:"pendingCount"`
	LaunchType              string           `json:"launchType"`
	TaskDefinition          string           `json:"taskDefinition,omitempty"`
	SchedulingStrategy      string           `json:"schedulingStrategy"`
	DeploymentController    map[string]any   `json:"deploymentController"`
	DeploymentConfiguration map[string]any   `json:"deploymentConfiguration"`
	Deployments             []wireDeployment `json:"deployments"`
	Events                  []wireEvent      `json:"events"`
}

func (s *Server) describeServices(in struct {
	Cluster  string   `json:"cluster"`
	Services []string `json:"services"`
}) (any, *apiError) {
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, clientError("InvalidParameterException", "services must name between 1 and 10 services.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cluster, aerr := s.lookupLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	services, failures := []wireService{}, []wireFailure{}
	for _, name := range in.Services {
		name = name[strings.LastIndexByte(name, '/')+1:]
		st := s.services[serviceKey{cluster, name}]
		if st == nil {
			failures = append(failures, wireFailure{Arn: serviceARN(cluster, name), Reason: "MISSING"})
			continue
		}
		services = append(services, wireServiceOf(cluster, name, st.poll()))
	}
	return map[string]any{"services": services, "failures": failures}, nil
}

func wireServiceOf(cluster, name string, spec ServiceSpec) wireService {
	w := wireService{
		ServiceArn: serviceARN(cluster, name), ServiceName: name, ClusterArn: clusterARN(cluster), Status: spec.Status,
		DesiredCount: spec.Primary.Desired, LaunchType: "FARGATE", TaskDefinition: spec.Primary.TaskDefinition,
		SchedulingStrategy:   "REPLICA",
		DeploymentController: map[string]any{"type": "ECS"},
		DeploymentConfiguration: map[string]any{
			"deploymentCircuitBreaker": map[string]any{"enable": true, "rollback": true},
			"maximumPercent":           200, "minimumHealthyPercent": 100,
		},
		Deployments: []wireDeployment{}, Events: []wireEvent{},
	}
	deployments := spec.Others
	if spec.Primary.TaskDefinition != "" {
		deployments = append([]Deployment{spec.Primary}, deployments...)
	}
	for _, d := range deployments {
		w.RunningCount += d.Running
		w.PendingCount += d.Pending
		w.Deployments = append(w.Deployments, wireDeployment{
			ID: d.ID, Status: d.Status, TaskDefinition: d.TaskDefinition,
			DesiredCount: d.Desired, PendingCount: d.Pending, RunningCount: d.Running, FailedTasks: d.Failed,
			CreatedAt: epoch(d.CreatedAt), UpdatedAt: epoch(d.UpdatedAt),
			LaunchType: "FARGATE", PlatformVersion: "1.4.0", PlatformFamily: "Linux",
			RolloutState: d.RolloutState, RolloutStateReason: d.RolloutStateReason,
		})
	}
	for i, e := range spec.Events {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d/%s", cluster, name, i, e.Message))
		w.Events = append(w.Events, wireEvent{ID: hex.EncodeToString(sum[:16]), CreatedAt: epoch(e.At), Message: e.Message})
	}
	return w
}

// stoppedLocked lists the stopped tasks of one service, or of the whole cluster when service is "".
func (s *Server) stoppedLocked(cluster, service string) []StoppedTask {
	var tasks []StoppedTask
	for _, k := range slices.SortedFunc(maps.Keys(s.services), func(a, b serviceKey) int {
		return cmp.Or(strings.Compare(a.cluster, b.cluster), strings.Compare(a.service, b.service))
	}) {
		if k.cluster == cluster && (service == "" || k.service == service) {
			st := s.services[k]
			tasks = append(tasks, st.spec().StoppedTasks...)
		}
	}
	return tasks
}

func (s *Server) listTasks(in struct {
	Cluster       string `json:"cluster"`
	ServiceName   string `json:"serviceName"`
	DesiredStatus string `json:"desiredStatus"`
	MaxResults    *int   `json:"maxResults"`
	NextToken     string `json:"nextToken"`
}) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cluster, aerr := s.lookupLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	service := in.ServiceName[strings.LastIndexByte(in.ServiceName, '/')+1:]
	if service != "" && s.services[serviceKey{cluster, service}] == nil {
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
	// The fake models no running tasks: only the stopped ones explain a failed rollout.
	if in.DesiredStatus == "STOPPED" {
		for _, t := range s.stoppedLocked(cluster, service) {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	cluster, aerr := s.lookupLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	byID := map[string]wireTask{}
	for k, st := range s.services {
		if k.cluster != cluster {
			continue
		}
		for _, t := range st.spec().StoppedTasks {
			byID[t.arn[strings.LastIndexByte(t.arn, '/')+1:]] = wireTaskOf(cluster, k.service, t)
		}
	}
	tasks, failures := []wireTask{}, []wireFailure{}
	for _, ref := range in.Tasks {
		if t, ok := byID[ref[strings.LastIndexByte(ref, '/')+1:]]; ok {
			tasks = append(tasks, t)
		} else {
			failures = append(failures, wireFailure{Arn: ref, Reason: "MISSING"})
		}
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

func wireTaskOf(cluster, service string, t StoppedTask) wireTask {
	w := wireTask{
		TaskArn: t.arn, ClusterArn: clusterARN(cluster), TaskDefinitionArn: t.TaskDefinition,
		LastStatus: "STOPPED", DesiredStatus: "STOPPED", LaunchType: "FARGATE", Group: "service:" + service,
		StopCode: t.StopCode, StoppedReason: t.StoppedReason,
		CreatedAt: epoch(t.StoppedAt.Add(-time.Minute)), StoppingAt: epoch(t.StoppedAt.Add(-time.Second)), StoppedAt: epoch(t.StoppedAt),
		Containers: []wireContainer{},
	}
	for i, c := range t.Containers {
		w.Containers = append(w.Containers, wireContainer{
			ContainerArn: fmt.Sprintf("arn:aws:ecs:%s:%s:container/%s/%s/%d", Region, Account, cluster, t.arn[strings.LastIndexByte(t.arn, '/')+1:], i),
			TaskArn:      t.arn, Name: c.Name, LastStatus: "STOPPED", ExitCode: c.ExitCode, Reason: c.Reason,
		})
	}
	return w
}
