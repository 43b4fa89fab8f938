package awsfake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const fakeAuth = "AWS4-HMAC-SHA256 Credential=fake/20261125/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=00"

// post sends one raw AWS JSON 1.1 request, the way the SDK does, and decodes the answer.
func post(t *testing.T, s *Server, target, body, auth string) (int, map[string]any) {
	t.Helper()
	status, out, err := send(s, target, body, auth)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return status, out
}

func send(s *Server, target, body, auth string) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		return 0, nil, fmt.Errorf("Content-Type = %q, want application/x-amz-json-1.1", got)
	}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return 0, nil, fmt.Errorf("decode response: %w", err)
	}
	return resp.StatusCode, out, nil
}

// clients returns SDK clients pointed at s.
func clients(t *testing.T, s *Server) (*ecs.Client, *ecr.Client) {
	t.Helper()
	cfg := aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider("fake", "fake", ""),
		BaseEndpoint:     aws.String(s.URL()),
		RetryMaxAttempts: 1,
	}
	return ecs.NewFromConfig(cfg), ecr.NewFromConfig(cfg)
}

const (
	imageV1 = registryHost + "/api:v1"
	imageV2 = registryHost + "/api:v2"
)

// world is a fake holding a cluster "prod" and a service "api" whose first deployment (of
// imageV1, revision 1) completed; its circuit breaker is on with rollback as given.
type world struct {
	s   *Server
	ecs *ecs.Client
	ecr *ecr.Client
}

func newWorld(t *testing.T, desired int32, rollback bool) *world {
	t.Helper()
	s := New()
	t.Cleanup(s.Close)
	w := &world{s: s}
	w.ecs, w.ecr = clients(t, s)
	s.CreateCluster("prod")
	w.register(t, imageV1)
	_, err := w.ecs.CreateService(t.Context(), &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("api"), TaskDefinition: aws.String("api"), DesiredCount: aws.Int32(desired),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: rollback},
		},
	})
	if err != nil {
		t.Fatalf("CreateService: %v", err)
	}
	s.Advance(Tick)
	return w
}

func (w *world) register(t *testing.T, image string) string {
	t.Helper()
	out, err := w.ecs.RegisterTaskDefinition(t.Context(), &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("api"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String(image)}},
	})
	if err != nil {
		t.Fatalf("RegisterTaskDefinition: %v", err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// deploy registers image and updates the service to it.
func (w *world) deploy(t *testing.T, image string) string {
	t.Helper()
	arn := w.register(t, image)
	if _, err := w.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), TaskDefinition: aws.String(arn)}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	return arn
}

// watch makes the service's deployments watch the CloudWatch alarm, with rollback as given
// (UpdateService with a deploymentConfiguration alone starts no deployment).
func (w *world) watch(t *testing.T, alarm string, rollback bool) {
	t.Helper()
	if _, err := w.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{alarm}, Enable: true, Rollback: rollback}},
	}); err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
}

// describe reads the service without moving the clock back: DescribeServices ticks once.
func (w *world) describe(t *testing.T) ecstypes.Service {
	t.Helper()
	out, err := w.ecs.DescribeServices(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("DescribeServices = %+v, %v", out, err)
	}
	return out.Services[0]
}

func (w *world) serviceDeployment(t *testing.T, arn string) ecstypes.ServiceDeployment {
	t.Helper()
	out, err := w.ecs.DescribeServiceDeployments(t.Context(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments = %+v, %v", out, err)
	}
	return out.ServiceDeployments[0]
}

// shape is the part of a service's state the rollout tests compare.
type shape struct {
	deployments []string // "STATUS rolloutState taskdef-revision" per deployment
	taskDef     string   // revision of service.taskDefinition
	running     int32
}

func shapeOf(svc ecstypes.Service) shape {
	sh := shape{taskDef: lastSegment(aws.ToString(svc.TaskDefinition)), running: svc.RunningCount}
	for _, d := range svc.Deployments {
		sh.deployments = append(sh.deployments, fmt.Sprintf("%s %s %s", aws.ToString(d.Status), d.RolloutState, lastSegment(aws.ToString(d.TaskDefinition))))
	}
	return sh
}

func TestRollouts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		desired  int32
		rollback bool
		rollout  *Rollout // for imageV2; nil leaves it unscripted
		want     []shape  // what successive DescribeServices calls see after the update
	}{
		{
			name: "unscripted image completes", desired: 2,
			want: []shape{
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY COMPLETED api:2"}, taskDef: "api:2", running: 2},
			},
		},
		{
			name: "completes after three steps", desired: 2, rollout: &Rollout{Steps: 3},
			want: []shape{
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 4},
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 4},
				{deployments: []string{"PRIMARY COMPLETED api:2"}, taskDef: "api:2", running: 2},
			},
		},
		{
			name: "circuit breaker rolls back (threshold 3 of 2 desired: two steps)", desired: 2, rollback: true, rollout: &Rollout{Outcome: CircuitBreaks},
			want: []shape{
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY IN_PROGRESS api:1", "ACTIVE FAILED api:2"}, taskDef: "api:1", running: 2},
				{deployments: []string{"PRIMARY COMPLETED api:1"}, taskDef: "api:1", running: 2},
			},
		},
		{
			name: "circuit breaker without rollback leaves the failed deployment PRIMARY", desired: 2, rollout: &Rollout{Outcome: CircuitBreaks},
			want: []shape{
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY FAILED api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY FAILED api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
			},
		},
		{
			name: "stalls", desired: 2, rollback: true, rollout: &Rollout{Outcome: Stalls},
			want: []shape{
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
				{deployments: []string{"PRIMARY IN_PROGRESS api:2", "ACTIVE COMPLETED api:1"}, taskDef: "api:2", running: 2},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.desired, tc.rollback)
			if tc.rollout != nil {
				w.s.SetRollout(imageV2, *tc.rollout)
			}
			w.deploy(t, imageV2)
			for i, want := range tc.want {
				if got := shapeOf(w.describe(t)); !slices.Equal(got.deployments, want.deployments) || got.taskDef != want.taskDef || got.running != want.running {
					t.Errorf("poll %d: got %+v, want %+v", i+1, got, want)
				}
			}
		})
	}
}

// The circuit breaker's threshold is 0.5 × the desired count, at least 3 and at most 200
// (types.ServiceDeploymentCircuitBreaker.Threshold; rounding up is the fake's reading), and a
// deployment of that many failing tasks fails at it: no sooner, no later.
func TestCircuitBreakerThreshold(t *testing.T) {
	for _, tc := range []struct{ desired, want int32 }{
		{1, 3}, {6, 3}, {7, 4}, {10, 5}, {398, 199}, {399, 200}, {400, 200}, {1000, 200},
	} {
		t.Run(fmt.Sprint(tc.desired), func(t *testing.T) {
			w := newWorld(t, tc.desired, true)
			w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks, RollbackSteps: 1 << 30})
			w.deploy(t, imageV2)
			arn := aws.ToString(w.describe(t).CurrentServiceDeployment)
			for sd := w.serviceDeployment(t, arn); sd.Status == ecstypes.ServiceDeploymentStatusInProgress; sd = w.serviceDeployment(t, arn) {
				if n := sd.DeploymentCircuitBreaker.FailureCount; n >= tc.want {
					t.Fatalf("%d failed tasks and still IN_PROGRESS, want a rollback at %d", n, tc.want)
				}
			}
			sd := w.serviceDeployment(t, arn)
			cb := sd.DeploymentCircuitBreaker
			if cb.Threshold != tc.want || cb.FailureCount != tc.want || sd.Status != ecstypes.ServiceDeploymentStatusRollbackInProgress {
				t.Errorf("threshold %d, failures %d, status %s; want %d, %d, ROLLBACK_IN_PROGRESS", cb.Threshold, cb.FailureCount, sd.Status, tc.want, tc.want)
			}
		})
	}
}

func TestCircuitBreakerRollbackDetails(t *testing.T) {
	w := newWorld(t, 2, true)
	w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks, Failure: CannotPullContainer(imageV2)})
	first := w.describe(t).Deployments[0]
	w.deploy(t, imageV2)
	failedID := aws.ToString(w.describe(t).Deployments[0].Id)
	w.s.Advance(Tick)
	mid := w.describe(t)
	settled := w.describe(t)

	if got := aws.ToString(mid.Deployments[1].RolloutStateReason); got != CircuitBreakerReason {
		t.Errorf("failed deployment's reason = %q, want %q", got, CircuitBreakerReason)
	}
	if got, want := mid.Deployments[1].FailedTasks, int32(3); got != want {
		t.Errorf("failedTasks = %d, want %d (the threshold)", got, want)
	}
	if got, want := aws.ToString(settled.Deployments[0].Id), aws.ToString(first.Id); got != want {
		t.Errorf("settled PRIMARY is %s, want the deployment rolled back to, %s", got, want)
	}
	var messages []string
	for _, e := range slices.Backward(settled.Events) {
		messages = append(messages, aws.ToString(e.Message))
	}
	wantEvents := []string{
		"(service api) (deployment " + failedID + ") deployment failed: tasks failed to start.",
		"(service api) rolling back to deployment " + aws.ToString(first.Id) + ".",
		"(service api) (deployment " + aws.ToString(first.Id) + ") deployment completed.",
		"(service api) has reached a steady state.",
	}
	if got := messages[len(messages)-len(wantEvents):]; !slices.Equal(got, wantEvents) {
		t.Errorf("latest events, oldest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantEvents, "\n"))
	}

	sd := w.serviceDeployment(t, aws.ToString(settled.CurrentServiceDeployment))
	if sd.Status != ecstypes.ServiceDeploymentStatusRollbackSuccessful || sd.Rollback == nil || sd.DeploymentCircuitBreaker == nil {
		t.Fatalf("service deployment = %+v, want ROLLBACK_SUCCESSFUL with rollback and circuit breaker details", sd)
	}
	if cb := sd.DeploymentCircuitBreaker; cb.FailureCount != 3 || cb.Threshold != 3 || cb.Status != ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered {
		t.Errorf("circuit breaker = %+v, want 3 of 3, TRIGGERED", cb)
	}
	if got, want := aws.ToString(sd.Rollback.ServiceRevisionArn), aws.ToString(sd.SourceServiceRevisions[0].Arn); got != want {
		t.Errorf("rolled back to revision %s, want the source revision %s", got, want)
	}
	revs, err := w.ecs.DescribeServiceRevisions(t.Context(), &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{aws.ToString(sd.TargetServiceRevision.Arn)}})
	if err != nil || len(revs.ServiceRevisions) != 1 || len(revs.ServiceRevisions[0].ContainerImages) != 1 {
		t.Fatalf("DescribeServiceRevisions = %+v, %v", revs, err)
	}
	if got := aws.ToString(revs.ServiceRevisions[0].ContainerImages[0].Image); got != imageV2 {
		t.Errorf("target revision's image = %s, want %s", got, imageV2)
	}

	list, err := w.ecs.ListTasks(t.Context(), &ecs.ListTasksInput{Cluster: aws.String("prod"), ServiceName: aws.String("api"), DesiredStatus: ecstypes.DesiredStatusStopped})
	if err != nil || len(list.TaskArns) != 3 {
		t.Fatalf("ListTasks = %v, %v; want the 3 failed tasks", list, err)
	}
	tasks, err := w.ecs.DescribeTasks(t.Context(), &ecs.DescribeTasksInput{Cluster: aws.String("prod"), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks.Tasks {
		if task.StopCode != ecstypes.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(task.StoppedReason), "CannotPullContainerError: ") ||
			len(task.Containers) != 1 || task.Containers[0].ExitCode != nil {
			t.Errorf("stopped task = %+v, want TaskFailedToStart with a CannotPullContainerError and no exit code", task)
		}
	}
}

func TestUnpullableImageFailsToStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*Server)
	}{
		{name: "tag never pushed", setup: func(*Server) {}},
		{name: "image archived", setup: func(s *Server) { s.ArchiveImage("api", "v2") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 1, true)
			w.s.CreateRepository("api", Immutable)
			if tc.name != "tag never pushed" {
				w.s.PushImage("api", "v2")
			}
			tc.setup(w.s)
			w.deploy(t, imageV2)
			w.s.Advance(10 * Tick)
			svc := w.describe(t)
			if got, want := shapeOf(svc).taskDef, "api:1"; got != want {
				t.Errorf("service runs %s, want %s (rolled back)", got, want)
			}
		})
	}
}

func TestServicesStableWaiterConformance(t *testing.T) {
	stop := func(t *testing.T, w *world) {
		t.Helper()
		arn := aws.ToString(w.describe(t).CurrentServiceDeployment)
		if _, err := w.ecs.StopServiceDeployment(t.Context(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: &arn, StopType: ecstypes.StopServiceDeploymentStopTypeRollback}); err != nil {
			t.Fatalf("StopServiceDeployment: %v", err)
		}
	}
	for _, tc := range []struct {
		name       string
		noRollback bool                     // the circuit breaker's rollback is off
		arrive     func(*testing.T, *world) // brings the service to the state under test
		stable     bool
	}{
		{name: "first deployment completed", arrive: func(*testing.T, *world) {}, stable: true},
		{name: "mid rollout", arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Steps: 1 << 30})
			w.deploy(t, imageV2)
		}},
		{name: "rollout completed", arrive: func(t *testing.T, w *world) {
			w.deploy(t, imageV2)
			w.s.Advance(Tick)
		}, stable: true},
		{name: "stalled", arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Outcome: Stalls})
			w.deploy(t, imageV2)
		}},
		{name: "rollback in progress", arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks, RollbackSteps: 1 << 30})
			w.deploy(t, imageV2)
			w.s.Advance(2 * Tick)
		}},
		{name: "rollback settled (the false success)", arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks})
			w.deploy(t, imageV2)
			w.s.Advance(3 * Tick)
		}, stable: true},
		{name: "rollback requested, in progress", arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Outcome: Stalls, RollbackSteps: 1 << 30})
			w.deploy(t, imageV2)
			stop(t, w)
		}},
		{name: "rollback requested, settled", arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Outcome: Stalls})
			w.deploy(t, imageV2)
			stop(t, w)
			w.s.Advance(3 * Tick)
		}, stable: true},
		{name: "circuit breaker without rollback", noRollback: true, arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks})
			w.deploy(t, imageV2)
			w.s.Advance(3 * Tick)
		}},
		{name: "an alarm rolled back, settled", arrive: func(t *testing.T, w *world) {
			w.watch(t, "api-5xx", true)
			w.s.SetRollout(imageV2, Rollout{Alarm: "api-5xx"})
			w.deploy(t, imageV2)
			w.s.Advance(3 * Tick)
		}, stable: true},
		{name: "an alarm without rollback", arrive: func(t *testing.T, w *world) {
			w.watch(t, "api-5xx", false)
			w.s.SetRollout(imageV2, Rollout{Alarm: "api-5xx"})
			w.deploy(t, imageV2)
			w.s.Advance(3 * Tick)
		}},
		{name: "rollback failed", arrive: func(t *testing.T, w *world) {
			w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks})
			w.deploy(t, imageV2)
			w.s.SetRollout(imageV1, Rollout{Outcome: CircuitBreaks})
			w.s.Advance(6 * Tick)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2, !tc.noRollback)
			tc.arrive(t, w)
			waiter := ecs.NewServicesStableWaiter(w.ecs, func(o *ecs.ServicesStableWaiterOptions) {
				o.MinDelay, o.MaxDelay = time.Millisecond, 2*time.Millisecond
			})
			err := waiter.Wait(t.Context(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}}, 200*time.Millisecond)
			switch {
			case tc.stable && err != nil:
				t.Errorf("ServicesStable waiter: %v, want success", err)
			case !tc.stable && !errors.Is(err, context.DeadlineExceeded):
				// The waiter ends at its max wait with the deadline's error, between polls or mid-request.
				t.Errorf("ServicesStable waiter: %v, want its max-wait deadline", err)
			}
		})
	}
}

func TestStopServiceDeployment(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stopType ecstypes.StopServiceDeploymentStopType
		want     []ecstypes.ServiceDeploymentStatus // seen by successive DescribeServiceDeployments
		taskDef  string                             // what the service runs at the end
	}{
		{name: "rollback", stopType: ecstypes.StopServiceDeploymentStopTypeRollback, taskDef: "api:1", want: []ecstypes.ServiceDeploymentStatus{
			"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL",
		}},
		{name: "abort", stopType: ecstypes.StopServiceDeploymentStopTypeAbort, taskDef: "api:2", want: []ecstypes.ServiceDeploymentStatus{
			"STOP_REQUESTED", "STOPPED", "STOPPED",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2, false)
			w.s.SetRollout(imageV2, Rollout{Outcome: Stalls})
			w.deploy(t, imageV2)
			arn := aws.ToString(w.describe(t).CurrentServiceDeployment)
			if _, err := w.ecs.StopServiceDeployment(t.Context(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: &arn, StopType: tc.stopType}); err != nil {
				t.Fatalf("StopServiceDeployment: %v", err)
			}
			var got []ecstypes.ServiceDeploymentStatus
			for range tc.want {
				got = append(got, w.serviceDeployment(t, arn).Status)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("statuses = %v, want %v", got, tc.want)
			}
			if got := shapeOf(w.describe(t)).taskDef; got != tc.taskDef {
				t.Errorf("service runs %s, want %s", got, tc.taskDef)
			}
			_, err := w.ecs.StopServiceDeployment(t.Context(), &ecs.StopServiceDeploymentInput{ServiceDeploymentArn: &arn})
			var conflict *ecstypes.ConflictException
			if !errors.As(err, &conflict) {
				t.Errorf("stopping it again: %v, want a ConflictException", err)
			}
		})
	}
}

func TestListServiceDeployments(t *testing.T) {
	w := newWorld(t, 2, true)
	w.deploy(t, imageV2)
	out, err := w.ecs.ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	var got []ecstypes.ServiceDeploymentStatus
	for _, b := range out.ServiceDeployments {
		got = append(got, b.Status)
	}
	if want := []ecstypes.ServiceDeploymentStatus{"IN_PROGRESS", "SUCCESSFUL"}; !slices.Equal(got, want) {
		t.Errorf("statuses, newest first = %v, want %v", got, want)
	}
	filtered, err := w.ecs.ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String("prod"), Service: aws.String("api"), Status: []ecstypes.ServiceDeploymentStatus{"SUCCESSFUL"},
	})
	if err != nil || len(filtered.ServiceDeployments) != 1 {
		t.Errorf("filtered by SUCCESSFUL = %+v, %v; want one", filtered, err)
	}
}

func TestTaskDefinitions(t *testing.T) {
	w := newWorld(t, 1, true)
	second := w.register(t, imageV2)
	if want := TaskDefinitionARN("api", 2); second != want {
		t.Errorf("second registration = %s, want %s", second, want)
	}
	if _, err := w.ecs.DeregisterTaskDefinition(t.Context(), &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String("api:2")}); err != nil {
		t.Fatalf("DeregisterTaskDefinition: %v", err)
	}
	for _, tc := range []struct {
		ref, wantArn, wantStatus, wantImage string
	}{
		{ref: "api", wantArn: TaskDefinitionARN("api", 1), wantStatus: "ACTIVE", wantImage: imageV1},
		{ref: "api:2", wantArn: TaskDefinitionARN("api", 2), wantStatus: "INACTIVE", wantImage: imageV2},
		{ref: TaskDefinitionARN("api", 1), wantArn: TaskDefinitionARN("api", 1), wantStatus: "ACTIVE", wantImage: imageV1},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			out, err := w.ecs.DescribeTaskDefinition(t.Context(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: &tc.ref})
			if err != nil {
				t.Fatal(err)
			}
			td := out.TaskDefinition
			if got := fmt.Sprint(aws.ToString(td.TaskDefinitionArn), td.Status, aws.ToString(td.ContainerDefinitions[0].Image)); got != fmt.Sprint(tc.wantArn, tc.wantStatus, tc.wantImage) {
				t.Errorf("got %s, want %s %s %s", got, tc.wantArn, tc.wantStatus, tc.wantImage)
			}
		})
	}
	_, err := w.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), TaskDefinition: aws.String("api:2")})
	if err == nil || !strings.Contains(err.Error(), "inactive") {
		t.Errorf("UpdateService to an INACTIVE task definition: %v, want a ClientException", err)
	}
}

func TestDeleteService(t *testing.T) {
	w := newWorld(t, 1, true)
	if _, err := w.ecs.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("api")}); err == nil {
		t.Error("DeleteService of a scaled service without force succeeded, want an error")
	}
	if _, err := w.ecs.DeleteService(t.Context(), &ecs.DeleteServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"), Force: aws.Bool(true)}); err != nil {
		t.Fatalf("DeleteService: %v", err)
	}
	var got []string
	for range 2 {
		got = append(got, aws.ToString(w.describe(t).Status))
	}
	if want := []string{"DRAINING", "INACTIVE"}; !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
}

func TestECRTagging(t *testing.T) {
	for _, tc := range []struct {
		name, mutability string
		tag              string // PutImage of image a's manifest under tag
		wantErr          string // exception type; "" is success
		wantTags         map[string][]string
	}{
		{name: "immutable, new tag", mutability: Immutable, tag: "deployed-a", wantTags: map[string][]string{"a": {"a", "deployed-a"}, "b": {"b"}}},
		{name: "immutable, tag on the same image", mutability: Immutable, tag: "a", wantErr: "ImageTagAlreadyExistsException"},
		{name: "immutable, tag on another image", mutability: Immutable, tag: "b", wantErr: "ImageTagAlreadyExistsException"},
		{name: "mutable, tag on the same image", mutability: Mutable, tag: "a", wantErr: "ImageAlreadyExistsException"},
		{name: "mutable, tag on another image moves", mutability: Mutable, tag: "b", wantTags: map[string][]string{"a": {"a", "b"}, "b": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			defer s.Close()
			_, client := clients(t, s)
			s.CreateRepository("api", tc.mutability)
			digests := map[string]string{"a": s.PushImage("api", "a"), "b": s.PushImage("api", "b")}
			got, err := client.BatchGetImage(t.Context(), &ecr.BatchGetImageInput{RepositoryName: aws.String("api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("a")}}})
			if err != nil || len(got.Images) != 1 {
				t.Fatalf("BatchGetImage = %+v, %v", got, err)
			}
			_, err = client.PutImage(t.Context(), &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: got.Images[0].ImageManifest, ImageTag: aws.String(tc.tag)})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("PutImage = %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PutImage: %v", err)
			}
			out, err := client.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("api")})
			if err != nil {
				t.Fatal(err)
			}
			tags := map[string][]string{}
			for name, d := range digests {
				tags[name] = nil
				for _, img := range out.ImageDetails {
					if aws.ToString(img.ImageDigest) == d {
						tags[name] = img.ImageTags
					}
				}
			}
			if fmt.Sprint(tags) != fmt.Sprint(tc.wantTags) {
				t.Errorf("tags by image = %v, want %v", tags, tc.wantTags)
			}
			if got := s.TagsPut("api"); !slices.Equal(got, []string{tc.tag}) {
				t.Errorf("TagsPut = %v, want [%s]", got, tc.tag)
			}
		})
	}
}

func TestECRImageIndexAndArchive(t *testing.T) {
	s := New()
	defer s.Close()
	_, client := clients(t, s)
	s.CreateRepository("api", Immutable)
	index, children := s.PushIndex("api", "v1", "linux/amd64", "linux/arm64")
	s.PushImage("api", "old")
	s.ArchiveImage("api", "old")

	for _, tc := range []struct {
		name, imageStatus, tagStatus string
		want                         int
	}{
		{name: "no filter: ACTIVE only", want: 1 + len(children)},
		{name: "ANY status", imageStatus: "ANY", want: 2 + len(children)},
		{name: "ARCHIVED", imageStatus: "ARCHIVED", want: 1},
		{name: "untagged: the index's children", tagStatus: "UNTAGGED", want: len(children)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &ecr.DescribeImagesInput{RepositoryName: aws.String("api")}
			if tc.imageStatus != "" || tc.tagStatus != "" {
				in.Filter = &ecrtypes.DescribeImagesFilter{ImageStatus: ecrtypes.ImageStatusFilter(tc.imageStatus), TagStatus: ecrtypes.TagStatus(tc.tagStatus)}
			}
			out, err := client.DescribeImages(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(out.ImageDetails); got != tc.want {
				t.Errorf("got %d images, want %d", got, tc.want)
			}
		})
	}
	got, err := client.BatchGetImage(t.Context(), &ecr.BatchGetImageInput{RepositoryName: aws.String("api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("old")}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Images) != 1 || aws.ToString(got.Images[0].ImageId.ImageDigest) != index || aws.ToString(got.Images[0].ImageManifestMediaType) != IndexMediaType {
		t.Errorf("BatchGetImage images = %+v, want the index %s", got.Images, index)
	}
	if len(got.Failures) != 1 || aws.ToString(got.Failures[0].ImageId.ImageTag) != "old" {
		t.Errorf("BatchGetImage failures = %+v, want the archived image", got.Failures)
	}
	for _, c := range children {
		if !strings.Contains(aws.ToString(got.Images[0].ImageManifest), c) {
			t.Errorf("index manifest lacks child %s", c)
		}
	}
}

func TestErrorShapes(t *testing.T) {
	s := New()
	defer s.Close()
	s.CreateRepository("api-service", Immutable)
	s.PushImage("api-service", "abc123")
	s.PushImage("api-service", "old")
	s.ArchiveImage("api-service", "old")
	s.SetService("prod", "api-service", ServiceSpec{Primary: Deployment{TaskDefinition: TaskDefinitionARN("api-service", 1)}})

	for _, tc := range []struct {
		name, target, body, auth string
		status                   int
		typ                      string
	}{
		{"image not found", ecrTargetPrefix + ".DescribeImages", `{"repositoryName":"api-service","imageIds":[{"imageTag":"nope"}]}`, fakeAuth, 400, "ImageNotFoundException"},
		{"archived image, no status filter (ACTIVE only)", ecrTargetPrefix + ".DescribeImages", `{"repositoryName":"api-service","imageIds":[{"imageTag":"old"}]}`, fakeAuth, 400, "ImageNotFoundException"},
		{"repository not found", ecrTargetPrefix + ".DescribeImages", `{"repositoryName":"nope","imageIds":[{"imageTag":"abc123"}]}`, fakeAuth, 400, "RepositoryNotFoundException"},
		{"repository exists", ecrTargetPrefix + ".CreateRepository", `{"repositoryName":"api-service"}`, fakeAuth, 400, "RepositoryAlreadyExistsException"},
		{"cluster not found", ecsTargetPrefix + ".DescribeServices", `{"cluster":"staging","services":["api-service"]}`, fakeAuth, 400, "ClusterNotFoundException"},
		{"service not found in ListTasks", ecsTargetPrefix + ".ListTasks", `{"cluster":"prod","serviceName":"nope"}`, fakeAuth, 400, "ServiceNotFoundException"},
		{"service not found in UpdateService", ecsTargetPrefix + ".UpdateService", `{"cluster":"prod","service":"nope"}`, fakeAuth, 400, "ServiceNotFoundException"},
		{"unknown service deployment", ecsTargetPrefix + ".StopServiceDeployment", `{"serviceDeploymentArn":"arn:nope"}`, fakeAuth, 400, "ServiceDeploymentNotFoundException"},
		{"unknown task definition", ecsTargetPrefix + ".DescribeTaskDefinition", `{"taskDefinition":"nope:1"}`, fakeAuth, 400, "ClientException"},
		{"too many tasks", ecsTargetPrefix + ".DescribeTasks", `{"cluster":"prod","tasks":[` + strings.Repeat(`"t",`, 100) + `"t"]}`, fakeAuth, 400, "InvalidParameterException"},
		{"malformed body", ecsTargetPrefix + ".DescribeServices", `{`, fakeAuth, 400, "SerializationException"},
		{"unknown operation", ecsTargetPrefix + ".RunTask", `{}`, fakeAuth, 400, "UnknownOperationException"},
		{"unsigned request", ecsTargetPrefix + ".DescribeServices", `{"cluster":"prod","services":["api-service"]}`, "", 403, "MissingAuthenticationTokenException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, s, tc.target, tc.body, tc.auth)
			if status != tc.status || out["__type"] != tc.typ {
				t.Errorf("got %d %v, want %d with __type %s", status, out, tc.status, tc.typ)
			}
			if msg, _ := out["message"].(string); msg == "" || len(out) != 2 {
				t.Errorf("body = %v, want exactly __type and a non-empty message", out)
			}
		})
	}
}

func TestDescribeServicesFailures(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetService("prod", "api", ServiceSpec{Primary: Deployment{TaskDefinition: TaskDefinitionARN("api", 1)}})
	s.SetServiceFailure("prod", "api", "ACCESS_DENIED")
	for _, tc := range []struct{ name, service, want string }{
		{name: "set failure", service: "api", want: "ACCESS_DENIED"},
		{name: "unknown service", service: "nope", want: "MISSING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out := post(t, s, ecsTargetPrefix+".DescribeServices", fmt.Sprintf(`{"cluster":"prod","services":[%q]}`, tc.service), fakeAuth)
			failures, _ := out["failures"].([]any)
			if len(failures) != 1 || failures[0].(map[string]any)["reason"] != tc.want || len(out["services"].([]any)) != 0 {
				t.Errorf("DescribeServices = %v, want one failure with reason %s", out, tc.want)
			}
		})
	}
}

func TestTimestampsAreEpochSecondNumbers(t *testing.T) {
	w := newWorld(t, 1, true)
	w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks})
	w.deploy(t, imageV2)
	w.s.Advance(3 * Tick)

	_, out := post(t, w.s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["api"]}`, fakeAuth)
	svc := out["services"].([]any)[0].(map[string]any)
	deployment := svc["deployments"].([]any)[0].(map[string]any)
	event := svc["events"].([]any)[0].(map[string]any)

	_, list := post(t, w.s, ecsTargetPrefix+".ListTasks", `{"cluster":"prod","serviceName":"api","desiredStatus":"STOPPED"}`, fakeAuth)
	arns := list["taskArns"].([]any)
	if len(arns) == 0 {
		t.Fatalf("ListTasks = %v, want stopped tasks", list)
	}
	_, tasks := post(t, w.s, ecsTargetPrefix+".DescribeTasks", fmt.Sprintf(`{"cluster":"prod","tasks":[%q]}`, arns[0]), fakeAuth)
	task := tasks["tasks"].([]any)[0].(map[string]any)

	for name, v := range map[string]any{
		"deployment createdAt": deployment["createdAt"],
		"event createdAt":      event["createdAt"],
		"task stoppedAt":       task["stoppedAt"],
	} {
		n, ok := v.(json.Number)
		if !ok {
			t.Errorf("%s = %#v, want a JSON number", name, v)
			continue
		}
		if f, err := n.Float64(); err != nil || f < 1.7e9 {
			t.Errorf("%s = %s, want epoch seconds", name, n)
		}
	}
}

func TestSetServiceSequenceAndRemoval(t *testing.T) {
	s := New()
	defer s.Close()
	td := func(rev int) ServiceSpec {
		return ServiceSpec{Primary: Deployment{TaskDefinition: TaskDefinitionARN("api-service", rev)}}
	}
	s.SetServiceSequence("prod", "api-service", td(1), td(2), td(3))

	var got []string
	for range 5 {
		_, out := post(t, s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["api-service"]}`, fakeAuth)
		got = append(got, out["services"].([]any)[0].(map[string]any)["taskDefinition"].(string))
	}
	want := []string{TaskDefinitionARN("api-service", 1), TaskDefinitionARN("api-service", 2), TaskDefinitionARN("api-service", 3), TaskDefinitionARN("api-service", 3), TaskDefinitionARN("api-service", 3)}
	if !slices.Equal(got, want) {
		t.Errorf("task definitions over 5 polls = %v, want %v", got, want)
	}

	s.SetServiceSequence("prod", "api-service")
	status, out := post(t, s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["api-service"]}`, fakeAuth)
	failures := out["failures"].([]any)
	if status != 200 || len(failures) != 1 || failures[0].(map[string]any)["reason"] != "MISSING" {
		t.Errorf("after removal: %d %v, want 200 with a MISSING failure", status, out)
	}
}

func TestClock(t *testing.T) {
	w := newWorld(t, 1, true)
	start := w.s.Now()
	w.describe(t)
	w.s.Advance(2*Tick + Tick/2)
	if got, want := w.s.Now().Sub(start), 3*Tick; got != want {
		t.Errorf("clock moved %s after one poll and Advance(2.5 ticks), want %s", got, want)
	}
}

func TestDelay(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetDelay("DescribeServices", 50*time.Millisecond)
	start := time.Now()
	post(t, s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["x"]}`, fakeAuth)
	if got := time.Since(start); got < 50*time.Millisecond {
		t.Errorf("delayed response came after %s, want at least 50ms", got)
	}
}

func TestCallsAndEnv(t *testing.T) {
	s := New()
	defer s.Close()
	post(t, s, ecrTargetPrefix+".DescribeImages", `{"repositoryName":"nope"}`, fakeAuth)
	post(t, s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["x"]}`, fakeAuth)
	if got, want := s.Calls(), []string{"DescribeImages", "DescribeServices"}; !slices.Equal(got, want) {
		t.Errorf("Calls() = %v, want %v", got, want)
	}

	env := s.Env()
	for k, want := range map[string]string{
		"AWS_ENDPOINT_URL": s.URL(), "AWS_REGION": Region, "AWS_MAX_ATTEMPTS": "3", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake",
	} {
		if env[k] != want {
			t.Errorf("Env()[%s] = %q, want %q", k, env[k], want)
		}
	}
}

// TestConcurrentUse is meant for -race: scripting the fake while requests are served.
func TestConcurrentUse(t *testing.T) {
	w := newWorld(t, 2, true)
	w.s.CreateRepository("api", Mutable)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				switch (i + j) % 4 {
				case 0:
					w.s.SetRollout(imageV2, Rollout{Outcome: Outcome(j % 3)})
				case 1:
					w.s.Advance(Tick)
				case 2:
					w.s.PushImage("api", fmt.Sprint(i, j))
				default:
					w.s.Calls()
				}
				if status, out, err := send(w.s, ecsTargetPrefix+".UpdateService", `{"cluster":"prod","service":"api","forceNewDeployment":true}`, fakeAuth); err != nil || status != 200 {
					t.Errorf("UpdateService = %d %v %v", status, out, err)
				}
				if status, out, err := send(w.s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["api"]}`, fakeAuth); err != nil || status != 200 {
					t.Errorf("DescribeServices = %d %v %v", status, out, err)
				}
			}
		})
	}
	wg.Wait()
}

// newest lists the service's deployments (which does not move the clock) and returns the newest.
func (w *world) newest(t *testing.T, in *ecs.ListServiceDeploymentsInput) []ecstypes.ServiceDeploymentBrief {
	t.Helper()
	in.Cluster, in.Service = aws.String("prod"), aws.String("api")
	out, err := w.ecs.ListServiceDeployments(t.Context(), in)
	if err != nil {
		t.Fatalf("ListServiceDeployments: %v", err)
	}
	return out.ServiceDeployments
}

// TestRollbackInBothViews: while the circuit breaker's rollback is under way the service
// deployment is ROLLBACK_IN_PROGRESS and the deployment rolled back to is PRIMARY and IN_PROGRESS;
// then both settle. A rollback to an image that fails too ends ROLLBACK_FAILED.
func TestRollbackInBothViews(t *testing.T) {
	for _, tc := range []struct {
		name          string
		oldFails      bool
		settled       ecstypes.ServiceDeploymentStatus
		settledShape  []string
		settledReason string
	}{
		{name: "rollback succeeds", settled: "ROLLBACK_SUCCESSFUL", settledShape: []string{"PRIMARY COMPLETED api:1"}, settledReason: CircuitBreakerReason},
		{name: "rollback fails", oldFails: true, settled: "ROLLBACK_FAILED", settledShape: []string{"PRIMARY FAILED api:1", "ACTIVE FAILED api:2"}, settledReason: RollbackFailedReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2, true)
			w.s.SetRollout(imageV2, Rollout{Outcome: CircuitBreaks})
			if tc.oldFails {
				w.s.SetRollout(imageV1, Rollout{Outcome: CircuitBreaks})
			}
			w.deploy(t, imageV2)
			w.s.Advance(2 * Tick) // the threshold (3) is reached on the second tick
			if got := w.newest(t, &ecs.ListServiceDeploymentsInput{})[0].Status; got != "ROLLBACK_IN_PROGRESS" {
				t.Errorf("service deployment while rolling back: %s, want ROLLBACK_IN_PROGRESS", got)
			}
			if got, want := shapeOf(w.describe(t)).deployments, []string{"PRIMARY IN_PROGRESS api:1", "ACTIVE FAILED api:2"}; !slices.Equal(got, want) {
				t.Errorf("deployments while rolling back: %v, want %v", got, want)
			}
			b := w.newest(t, &ecs.ListServiceDeploymentsInput{})[0]
			if b.Status != tc.settled || aws.ToString(b.StatusReason) != tc.settledReason {
				t.Errorf("settled service deployment: %s %q, want %s %q", b.Status, aws.ToString(b.StatusReason), tc.settled, tc.settledReason)
			}
			if got := shapeOf(w.describe(t)).deployments; !slices.Equal(got, tc.settledShape) {
				t.Errorf("settled deployments: %v, want %v", got, tc.settledShape)
			}
		})
	}
}

func TestListServiceDeploymentsCreatedAt(t *testing.T) {
	w := newWorld(t, 2, true)
	w.s.Advance(Tick)
	between := w.s.Now()
	w.s.Advance(Tick)
	w.deploy(t, imageV2)
	for _, tc := range []struct {
		name    string
		filter  *ecstypes.CreatedAt
		targets int // deployments listed
	}{
		{name: "no filter", targets: 2},
		{name: "after", filter: &ecstypes.CreatedAt{After: aws.Time(between)}, targets: 1},
		{name: "before", filter: &ecstypes.CreatedAt{Before: aws.Time(between)}, targets: 1},
		{name: "after the newest", filter: &ecstypes.CreatedAt{After: aws.Time(w.s.Now())}, targets: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(w.newest(t, &ecs.ListServiceDeploymentsInput{CreatedAt: tc.filter})); got != tc.targets {
				t.Errorf("listed %d service deployments, want %d", got, tc.targets)
			}
		})
	}
}

func TestThrottleAndDeny(t *testing.T) {
	s := New()
	defer s.Close()
	s.CreateCluster("prod")
	s.Throttle("DescribeServices", 2)
	s.DenyOperation("ListServiceDeployments")
	for i, tc := range []struct {
		target string
		status int
		typ    string
		msg    string
	}{
		{ecsTargetPrefix + ".DescribeServices", 400, "ThrottlingException", "Rate exceeded"},
		{ecsTargetPrefix + ".DescribeServices", 400, "ThrottlingException", "Rate exceeded"},
		{ecsTargetPrefix + ".DescribeServices", 200, "", ""},
		{ecsTargetPrefix + ".ListServiceDeployments", 400, "AccessDeniedException", "is not authorized to perform: ecs:ListServiceDeployments"},
		{ecsTargetPrefix + ".ListServiceDeployments", 400, "AccessDeniedException", "because no identity-based policy allows the ecs:ListServiceDeployments action"},
	} {
		status, out := post(t, s, tc.target, `{"cluster":"prod","services":["x"],"service":"x"}`, fakeAuth)
		msg, _ := out["message"].(string)
		if typ, _ := out["__type"].(string); status != tc.status || typ != tc.typ || !strings.Contains(msg, tc.msg) {
			t.Errorf("call %d to %s: %d %v, want %d %s containing %q", i, tc.target, status, out, tc.status, tc.typ, tc.msg)
		}
	}
	if got, want := s.Calls(), []string{"DescribeServices", "DescribeServices", "DescribeServices", "ListServiceDeployments", "ListServiceDeployments"}; !slices.Equal(got, want) {
		t.Errorf("Calls() = %v, want %v (refused calls count too)", got, want)
	}
}

// BatchDeleteImage as the SDK documents it: a tag removes the tag (the
// image with its last one), a digest the image with all its tags, and an
// ID it cannot delete is a failure of the batch. Once deleted, a tag can
// be pushed again with another manifest, IMMUTABLE or not.
func TestECRBatchDeleteImage(t *testing.T) {
	ids := func(out *ecr.BatchDeleteImageOutput) (deleted, failed []string) {
		for _, id := range out.ImageIds {
			deleted = append(deleted, cmp.Or(aws.ToString(id.ImageTag), "@"+aws.ToString(id.ImageDigest)))
		}
		for _, f := range out.Failures {
			failed = append(failed, cmp.Or(aws.ToString(f.ImageId.ImageTag), aws.ToString(f.ImageId.ImageDigest), "-")+":"+string(f.FailureCode))
		}
		return deleted, failed
	}
	s := New()
	defer s.Close()
	_, client := clients(t, s)
	s.CreateRepository("api", Immutable)
	a := s.PushImage("api", "a")
	b := s.PushImage("api", "b")
	index, children := s.PushIndex("api", "multi", "linux/amd64")
	got, err := client.BatchGetImage(t.Context(), &ecr.BatchGetImageInput{RepositoryName: aws.String("api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutImage(t.Context(), &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: got.Images[0].ImageManifest, ImageTag: aws.String("deployed-a")}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name        string
		ids         []ecrtypes.ImageIdentifier
		wantDeleted []string
		wantFailed  []string
		wantTags    map[string][]string // digest → its tags after
		wantGone    []string            // digests of images deleted
	}{
		{name: "a tag of two: the tag only", ids: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("a")}},
			wantDeleted: []string{"a"}, wantTags: map[string][]string{a: {"deployed-a"}}},
		{name: "the last tag: the image", ids: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("deployed-a")}},
			wantDeleted: []string{"deployed-a"}, wantGone: []string{a}},
		{name: "missing tag and digest not matching the tag: failures", ids: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("nope")}, {ImageTag: aws.String("b"), ImageDigest: aws.String(index)}, {}},
			wantFailed: []string{"nope:ImageNotFound", "b:ImageTagDoesNotMatchDigest", "-:MissingDigestAndTag"}, wantTags: map[string][]string{b: {"b"}}},
		{name: "a child of an index: refused", ids: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(children[0])}},
			wantFailed: []string{children[0] + ":ImageReferencedByManifestList"}, wantTags: map[string][]string{children[0]: {}, index: {"multi"}}},
		{name: "by digest: the image with its tags", ids: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(b)}},
			wantDeleted: []string{"b"}, wantGone: []string{b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := client.BatchDeleteImage(t.Context(), &ecr.BatchDeleteImageInput{RepositoryName: aws.String("api"), ImageIds: tc.ids})
			if err != nil {
				t.Fatalf("BatchDeleteImage: %v", err)
			}
			deleted, failed := ids(out)
			if !slices.Equal(deleted, tc.wantDeleted) || !slices.Equal(failed, tc.wantFailed) {
				t.Errorf("deleted %v, failed %v; want %v, %v", deleted, failed, tc.wantDeleted, tc.wantFailed)
			}
			describe := func(digest string) (*ecr.DescribeImagesOutput, error) {
				return client.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digest)}}})
			}
			for digest, want := range tc.wantTags {
				if d, err := describe(digest); err != nil || len(d.ImageDetails) != 1 || !slices.Equal(d.ImageDetails[0].ImageTags, want) {
					t.Errorf("DescribeImages(%s) = %v, %v; want the image, tagged %v", digest, d, err, want)
				}
			}
			for _, digest := range tc.wantGone {
				if d, err := describe(digest); !strings.Contains(fmt.Sprint(err), "ImageNotFoundException") {
					t.Errorf("DescribeImages(%s) = %v, %v; want ImageNotFoundException: the image is deleted", digest, d, err)
				}
			}
		})
	}

	// The deleted tag "a" can be pushed again, with another manifest.
	again := s.PushImage("api", "a")
	if again == a {
		t.Fatalf("the push after the delete has the old digest %s", a)
	}
	d, err := client.DescribeImages(t.Context(), &ecr.DescribeImagesInput{RepositoryName: aws.String("api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("a")}}})
	if err != nil || aws.ToString(d.ImageDetails[0].ImageDigest) != again {
		t.Errorf("DescribeImages(a) = %v, %v; want the new digest %s", d, err, again)
	}
	if _, err := client.BatchDeleteImage(t.Context(), &ecr.BatchDeleteImageInput{RepositoryName: aws.String("nope"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("a")}}}); !strings.Contains(fmt.Sprint(err), "RepositoryNotFoundException") {
		t.Errorf("BatchDeleteImage in a missing repository: %v, want RepositoryNotFoundException", err)
	}
}

// SetListingLag leaves a new service deployment out of the first
// listings, as an eventually consistent read can, then lists it.
func TestListingLag(t *testing.T) {
	w := newWorld(t, 2, true)
	w.s.SetListingLag(2)
	w.deploy(t, imageV2)
	var got []int
	for range 4 {
		out, err := w.ecs.ListServiceDeployments(t.Context(), &ecs.ListServiceDeploymentsInput{Cluster: aws.String("prod"), Service: aws.String("api")})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, len(out.ServiceDeployments))
	}
	// The service's first deployment was listed in none of the answers
	// before the lag was set either, so it too is left out twice.
	if want := []int{0, 0, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("deployments listed per call %v, want %v", got, want)
	}
}

// A service deployment's alarms: MONITORING_COMPLETE after a rollout none
// of them stopped, DISABLED, and no rollback, when the service names
// alarms but does not enable them (types.ServiceDeploymentAlarms).
func TestDeploymentAlarmsStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		enable     bool
		alarm      string // the alarm the new image sets off
		wantStatus ecstypes.ServiceDeploymentRollbackMonitorsStatus
		wantSD     ecstypes.ServiceDeploymentStatus
	}{
		{"enabled, none set off", true, "", ecstypes.ServiceDeploymentRollbackMonitorsStatusMonitoringComplete, ecstypes.ServiceDeploymentStatusSuccessful},
		{"named but not enabled", false, "api-5xx", ecstypes.ServiceDeploymentRollbackMonitorsStatusDisabled, ecstypes.ServiceDeploymentStatusSuccessful},
		{"enabled and set off", true, "api-5xx", ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered, ecstypes.ServiceDeploymentStatusRollbackSuccessful},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 2, true)
			if _, err := w.ecs.UpdateService(t.Context(), &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("api"),
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{Alarms: &ecstypes.DeploymentAlarms{AlarmNames: []string{"api-5xx"}, Enable: tc.enable, Rollback: true}},
			}); err != nil {
				t.Fatal(err)
			}
			w.s.SetRollout(imageV2, Rollout{Alarm: tc.alarm})
			w.deploy(t, imageV2)
			arn := aws.ToString(w.describe(t).CurrentServiceDeployment)
			w.s.Advance(4 * Tick)
			sd := w.serviceDeployment(t, arn)
			if sd.Alarms == nil || sd.Alarms.Status != tc.wantStatus || sd.Status != tc.wantSD {
				t.Errorf("service deployment %s, alarms %+v; want %s with alarms %s", sd.Status, sd.Alarms, tc.wantSD, tc.wantStatus)
			}
		})
	}
}
