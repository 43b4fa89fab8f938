package awsfake

import (
	"fmt"
	"slices"
	"time"
)

// Service deployments and service revisions, after ListServiceDeployments,
// DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment and
// types.ServiceDeployment in aws-sdk-go-v2 service/ecs, and
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html: "Amazon ECS
// automatically creates a new service deployment when ... A user creates a service ... updates the
// service and uses the force new deployment option ... updates one or more service properties that
// require a deployment". Ongoing states are IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED and
// ROLLBACK_IN_PROGRESS; completed ones SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL and ROLLBACK_FAILED.
// The fake's service deployments start IN_PROGRESS (it models no PENDING stage).

type svcDep struct {
	arn                                         string
	svc                                         *service
	status, statusReason, breakerStatus         string
	createdAt, finishedAt, stoppedAt, updatedAt time.Time
	source                                      []*revision
	target                                      *revision
	rollback                                    *rollbackInfo
	failureCount, threshold                     int32
	alarmNames, triggeredAlarms                 []string
	alarmStatus                                 string
	unlisted                                    int // listings it was left out of (SetListingLag)
}

type rollbackInfo struct {
	reason, revisionArn string
	startedAt           time.Time
}

// revision is a service revision; running, pending and requested are the counts a summary reports.
type revision struct {
	arn, taskDef                string
	svc                         *service
	images                      []revisionImage
	createdAt                   time.Time
	requested, running, pending int32
}

type revisionImage struct{ container, image, digest string }

// withCounts is a summary of r with d's task counts.
func (r *revision) withCounts(d *ecsDep) *revision {
	c := *r
	c.requested, c.running, c.pending = d.desired, d.running, d.pending
	return &c
}

func (s *Server) newRevisionLocked(svc *service, td *taskDef) *revision {
	r := &revision{
		arn:     fmt.Sprintf("arn:aws:ecs:%s:%s:service-revision/%s/%s/%s", Region, Account, svc.cluster, svc.name, s.idLocked("revision")),
		taskDef: td.arn, svc: svc, createdAt: s.now, requested: svc.desired,
	}
	for _, c := range td.images() {
		r.images = append(r.images, revisionImage{container: c.name, image: c.image, digest: s.digestOfLocked(c.image)})
	}
	s.revisions[r.arn] = r
	return r
}

func (s *Server) newServiceDeploymentLocked(svc *service, d *ecsDep, source []*revision) *svcDep {
	sd := &svcDep{
		arn: fmt.Sprintf("arn:aws:ecs:%s:%s:service-deployment/%s/%s/%s", Region, Account, svc.cluster, svc.name, s.idLocked("deployment")),
		svc: svc, status: "IN_PROGRESS", createdAt: s.now, updatedAt: s.now,
		source: source, target: d.rev, threshold: threshold(svc.desired), breakerStatus: "DISABLED",
	}
	if svc.breaker {
		sd.breakerStatus = "MONITORING"
	}
	if svc.alarms.names != nil {
		sd.alarmNames, sd.alarmStatus = slices.Clone(svc.alarms.names), svc.alarms.status()
	}
	svc.sds = append(svc.sds, sd)
	s.deployments[sd.arn] = sd
	return sd
}

type wireRevisionSummary struct {
	Arn                string `json:"arn"`
	RequestedTaskCount int32  `json:"requestedTaskCount"`
	RunningTaskCount   int32  `json:"runningTaskCount"`
	PendingTaskCount   int32  `json:"pendingTaskCount"`
}

// summary reports a target revision with the counts of the deployment running it now.
func (s *Server) summaryLocked(r *revision) wireRevisionSummary {
	w := wireRevisionSummary{Arn: r.arn, RequestedTaskCount: r.requested, RunningTaskCount: r.running, PendingTaskCount: r.pending}
	for _, d := range r.svc.deps {
		if d.rev == r {
			w.RequestedTaskCount, w.RunningTaskCount, w.PendingTaskCount = d.desired, d.running, d.pending
		}
	}
	return w
}

// sourceSummary reports a source revision with the task counts of the deployment running it now,
// as a rollout drains it; once no deployment runs it, its tasks are gone.
func sourceSummary(svc *service, r *revision) wireRevisionSummary {
	w := wireRevisionSummary{Arn: r.arn, RequestedTaskCount: r.requested}
	for _, d := range svc.deps {
		if d.rev != nil && d.rev.arn == r.arn {
			w.RunningTaskCount, w.PendingTaskCount = d.running, d.pending
		}
	}
	return w
}

type wireRollback struct {
	Reason             string `json:"reason"`
	StartedAt          epoch  `json:"startedAt"`
	ServiceRevisionArn string `json:"serviceRevisionArn"`
}

type wireServiceDeployment struct {
	ServiceDeploymentArn     string                `json:"serviceDeploymentArn"`
	ServiceArn               string                `json:"serviceArn"`
	ClusterArn               string                `json:"clusterArn"`
	CreatedAt                epoch                 `json:"createdAt"`
	StartedAt                epoch                 `json:"startedAt"`
	FinishedAt               *epoch                `json:"finishedAt,omitempty"`
	StoppedAt                *epoch                `json:"stoppedAt,omitempty"`
	UpdatedAt                epoch                 `json:"updatedAt"`
	SourceServiceRevisions   []wireRevisionSummary `json:"sourceServiceRevisions"`
	TargetServiceRevision    wireRevisionSummary   `json:"targetServiceRevision"`
	Status                   string                `json:"status"`
	StatusReason             string                `json:"statusReason,omitempty"`
	DeploymentConfiguration  map[string]any        `json:"deploymentConfiguration"`
	Rollback                 *wireRollback         `json:"rollback,omitempty"`
	DeploymentCircuitBreaker map[string]any        `json:"deploymentCircuitBreaker"`
	Alarms                   map[string]any        `json:"alarms,omitempty"`
}

func (s *Server) wireServiceDeploymentLocked(sd *svcDep) wireServiceDeployment {
	w := wireServiceDeployment{
		ServiceDeploymentArn: sd.arn, ServiceArn: serviceARN(sd.svc.cluster, sd.svc.name), ClusterArn: clusterARN(sd.svc.cluster),
		CreatedAt: epoch(sd.createdAt), StartedAt: epoch(sd.createdAt), FinishedAt: optEpoch(sd.finishedAt), StoppedAt: optEpoch(sd.stoppedAt),
		UpdatedAt: epoch(sd.updatedAt), SourceServiceRevisions: []wireRevisionSummary{}, TargetServiceRevision: s.summaryLocked(sd.target),
		Status: sd.status, StatusReason: sd.statusReason,
		DeploymentConfiguration:  sd.svc.wireDeploymentConfiguration(),
		DeploymentCircuitBreaker: map[string]any{"failureCount": sd.failureCount, "threshold": sd.threshold, "status": sd.breakerStatus},
	}
	if sd.alarmNames != nil {
		triggered := sd.triggeredAlarms
		if triggered == nil {
			triggered = []string{}
		}
		w.Alarms = map[string]any{"alarmNames": sd.alarmNames, "status": sd.alarmStatus, "triggeredAlarmNames": triggered}
	}
	for _, r := range sd.source {
		w.SourceServiceRevisions = append(w.SourceServiceRevisions, sourceSummary(sd.svc, r))
	}
	if rb := sd.rollback; rb != nil {
		w.Rollback = &wireRollback{Reason: rb.reason, StartedAt: epoch(rb.startedAt), ServiceRevisionArn: rb.revisionArn}
	}
	return w
}

// listServiceDeployments lists a service's deployments, newest first, optionally filtered by status
// and by creation time: createdAt.after and createdAt.before ("Include service deployments in the
// result that were created after this time" / "before this time", types.CreatedAt; both bounds
// exclusive). "If this parameter isn't used, then ListServiceDeployments returns up to 20 results".
func (s *Server) listServiceDeployments(in struct {
	Cluster   string   `json:"cluster"`
	Service   string   `json:"service"`
	Status    []string `json:"status"`
	CreatedAt *struct {
		After  *float64 `json:"after"`
		Before *float64 `json:"before"`
	} `json:"createdAt"`
	MaxResults *int `json:"maxResults"`
}) (any, *apiError) {
	cluster, aerr := s.lookupClusterLocked(in.Cluster)
	if aerr != nil {
		return nil, aerr
	}
	svc := s.services[serviceKey{cluster, lastSegment(in.Service)}]
	if svc == nil {
		return nil, clientError("ServiceNotFoundException", "Service not found.")
	}
	limit := 20
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, clientError("InvalidParameterException", "maxResults must be between 1 and 100.")
		}
		limit = *in.MaxResults
	}
	briefs := []map[string]any{}
	for _, sd := range slices.Backward(svc.sds) {
		if len(briefs) == limit {
			break
		}
		if len(in.Status) > 0 && !slices.Contains(in.Status, sd.status) {
			continue
		}
		if sd.unlisted < s.listingLag {
			sd.unlisted++
			continue // not listed yet (SetListingLag)
		}
		if c := in.CreatedAt; c != nil && ((c.After != nil && !sd.createdAt.After(fromEpoch(*c.After))) ||
			(c.Before != nil && !sd.createdAt.Before(fromEpoch(*c.Before)))) {
			continue
		}
		b := map[string]any{
			"serviceDeploymentArn": sd.arn, "serviceArn": serviceARN(svc.cluster, svc.name), "clusterArn": clusterARN(svc.cluster),
			"createdAt": epoch(sd.createdAt), "startedAt": epoch(sd.createdAt), "status": sd.status,
			"targetServiceRevisionArn": sd.target.arn,
		}
		if sd.statusReason != "" {
			b["statusReason"] = sd.statusReason
		}
		if !sd.finishedAt.IsZero() {
			b["finishedAt"] = epoch(sd.finishedAt)
		}
		briefs = append(briefs, b)
	}
	return map[string]any{"serviceDeployments": briefs}, nil
}

// describeServiceDeployments describes up to 20 service deployments; unknown ARNs are failures
// with reason MISSING. Like DescribeServices, a poll sees the state, then the clock moves one Tick.
func (s *Server) describeServiceDeployments(in struct {
	ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
}) (any, *apiError) {
	if len(in.ServiceDeploymentArns) == 0 || len(in.ServiceDeploymentArns) > 20 {
		return nil, clientError("InvalidParameterException", "serviceDeploymentArns must name between 1 and 20 service deployments.")
	}
	out, failures := []wireServiceDeployment{}, []wireFailure{}
	for _, arn := range in.ServiceDeploymentArns {
		if sd := s.deployments[arn]; sd != nil {
			out = append(out, s.wireServiceDeploymentLocked(sd))
		} else {
			failures = append(failures, wireFailure{Arn: arn, Reason: "MISSING"})
		}
	}
	s.tickLocked()
	return map[string]any{"serviceDeployments": out, "failures": failures}, nil
}

func (s *Server) describeServiceRevisions(in struct {
	ServiceRevisionArns []string `json:"serviceRevisionArns"`
}) (any, *apiError) {
	if len(in.ServiceRevisionArns) == 0 || len(in.ServiceRevisionArns) > 20 {
		return nil, clientError("InvalidParameterException", "serviceRevisionArns must name between 1 and 20 service revisions.")
	}
	out, failures := []map[string]any{}, []wireFailure{}
	for _, arn := range in.ServiceRevisionArns {
		r := s.revisions[arn]
		if r == nil {
			failures = append(failures, wireFailure{Arn: arn, Reason: "MISSING"})
			continue
		}
		images := []map[string]any{}
		for _, img := range r.images {
			ci := map[string]any{"containerName": img.container, "image": img.image}
			if img.digest != "" {
				ci["imageDigest"] = img.digest
			}
			images = append(images, ci)
		}
		out = append(out, map[string]any{
			"serviceRevisionArn": r.arn, "serviceArn": serviceARN(r.svc.cluster, r.svc.name), "clusterArn": clusterARN(r.svc.cluster),
			"taskDefinition": r.taskDef, "containerImages": images, "launchType": "FARGATE", "platformVersion": "1.4.0",
			"platformFamily": "Linux", "createdAt": epoch(r.createdAt),
		})
	}
	return map[string]any{"serviceRevisions": out, "failures": failures}, nil
}

// stopServiceDeployment stops an ongoing (IN_PROGRESS) service deployment: ROLLBACK (the default)
// "rolls back the service deployment to the previous service revision. You can use this option even
// if you didn't configure the service deployment for the rollback option." ABORT stops it where it
// is. The request is taken at once (ROLLBACK_REQUESTED, STOP_REQUESTED) and acted on at the next tick.
func (s *Server) stopServiceDeployment(in struct {
	ServiceDeploymentArn string `json:"serviceDeploymentArn"`
	StopType             string `json:"stopType"`
}) (any, *apiError) {
	sd := s.deployments[in.ServiceDeploymentArn]
	if sd == nil {
		return nil, clientError("ServiceDeploymentNotFoundException", "The service deployment %s does not exist.", in.ServiceDeploymentArn)
	}
	if p := sd.svc.primary(); sd.status != "IN_PROGRESS" || p == nil || p.sd != sd {
		return nil, clientError("ConflictException", "The service deployment is %s and cannot be stopped.", sd.status)
	}
	switch in.StopType {
	case "", "ROLLBACK":
		sd.status = "ROLLBACK_REQUESTED"
	case "ABORT":
		sd.status = "STOP_REQUESTED"
	default:
		return nil, clientError("InvalidParameterException", "stopType must be ROLLBACK or ABORT.")
	}
	sd.updatedAt = s.now
	return map[string]any{"serviceDeploymentArn": sd.arn}, nil
}
