package awsfake

import (
	"cmp"
	"slices"
	"time"
)

// ServiceSpec is a service described exactly as ECS reports it, for tests that only read a
// service's state (SetService). Such a service does not react to API calls or to time.
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
	ID                 string // ecs-svc/<n>, assigned when empty
	Status             string // always PRIMARY for ServiceSpec.Primary
	TaskDefinition     string
	RolloutState       string // COMPLETED when empty
	RolloutStateReason string
	Desired, Running   int32
	Pending, Failed    int32
	CreatedAt          time.Time // the fake's Now when zero
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
	StoppedAt      time.Time // the fake's Now when zero
	Containers     []Container
}

// Container is how one container of a stopped task ended; ExitCode is nil when it never started.
type Container struct {
	Name, Reason string
	ExitCode     *int32
}

// static is a service set with SetServiceSequence: each DescribeServices call reports the next
// step, the last one from then on.
type static struct {
	steps []staticStep
	cur   int
}

type staticStep struct {
	wire  wireService
	tasks []*task
}

func (st *static) current() staticStep { return st.steps[st.cur] }

func (st *static) poll() wireService {
	w := st.steps[st.cur].wire
	st.cur = min(st.cur+1, len(st.steps)-1)
	return w
}

// SetService makes DescribeServices report spec for service in cluster (creating the cluster),
// replacing any service of that name.
func (s *Server) SetService(cluster, service string, spec ServiceSpec) {
	s.SetServiceSequence(cluster, service, spec)
}

// SetServiceSequence makes successive DescribeServices calls for the service report specs in turn,
// the last one from then on. With no specs the service is removed (DescribeServices reports it
// MISSING) while its cluster remains.
func (s *Server) SetServiceSequence(cluster, service string, specs ...ServiceSpec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := serviceKey{clusterName(cluster), service}
	s.clusters[k.cluster] = true
	delete(s.services, k)
	delete(s.statics, k)
	if len(specs) == 0 {
		return
	}
	st := &static{}
	for _, spec := range specs {
		st.steps = append(st.steps, s.staticStepLocked(k, spec))
	}
	s.statics[k] = st
}

func (s *Server) staticStepLocked(k serviceKey, spec ServiceSpec) staticStep {
	svc := &service{cluster: k.cluster, name: k.service, status: cmp.Or(spec.Status, "ACTIVE"),
		breaker: true, rollback: true, maxPercent: 200, minHealthyPct: 100, createdAt: s.now}
	add := func(d Deployment, status string) {
		created := cmp.Or(d.CreatedAt, s.now)
		svc.deps = append(svc.deps, &ecsDep{
			id: cmp.Or(d.ID, "ecs-svc/"+s.idLocked(k.service)), status: status, taskDef: d.TaskDefinition,
			rolloutState: cmp.Or(d.RolloutState, "COMPLETED"), reason: d.RolloutStateReason,
			desired: d.Desired, running: d.Running, pending: d.Pending, failed: d.Failed,
			createdAt: created, updatedAt: cmp.Or(d.UpdatedAt, created),
		})
	}
	if spec.Primary.TaskDefinition != "" {
		add(spec.Primary, "PRIMARY")
		svc.desired, svc.taskDef = spec.Primary.Desired, spec.Primary.TaskDefinition
	}
	for _, d := range spec.Others {
		add(d, cmp.Or(d.Status, "ACTIVE"))
	}
	for i, e := range spec.Events {
		if e.At.IsZero() {
			e.At = s.now.Add(-time.Duration(i) * time.Second)
		}
		svc.events = append(svc.events, e)
	}
	var tasks []*task
	for i, t := range spec.StoppedTasks {
		stopped := t.StoppedAt
		if stopped.IsZero() {
			stopped = s.now.Add(-time.Duration(i) * time.Second)
		}
		tasks = append(tasks, &task{
			arn: s.taskARNLocked(k.cluster), taskDef: t.TaskDefinition, group: "service:" + k.service,
			stopCode: t.StopCode, stoppedReason: t.StoppedReason, createdAt: stopped.Add(-time.Minute), stoppedAt: stopped,
			containers: slices.Clone(t.Containers),
		})
	}
	return staticStep{wire: s.wireServiceLocked(svc), tasks: tasks}
}
