package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/awsx"
	"github.com/slipway-dev/slipway/internal/contract"
)

const (
	tdOld = "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:1"
	tdNew = "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:2"
	tdRec = "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:3"
	tdX   = "arn:aws:ecs:us-east-1:123456789012:task-definition/api-service:9"
	repo  = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service"

	serviceURL = "https://api.example.com"
)

// calls is the ordered log both fakes write to.
type calls []string

func (c *calls) add(format string, args ...interface{}) {
	*c = append(*c, fmt.Sprintf(format, args...))
}

func short(sha string) string { return sha[:7] }

// tagged are the calls that tag sha's image once ECS verifiably runs it
// in the stack prod: deployed-<sha>, then verified-prod-<sha>.
func tagged(sha string) []string {
	return []string{"add-tag " + contract.DeployedTagPrefix + short(sha), "add-tag " + contract.VerifiedTag("prod", short(sha))}
}

// fakeStack is an in-memory Stack: each Up returns the next of ups.
type fakeStack struct {
	log        *calls
	outputs    map[string]interface{}
	outputsErr error
	plan       Plan
	previews   []Plan // the plans of successive previews, then plan
	previewErr error
	ups        []upAnswer
	markErr    error
}

type upAnswer struct {
	taskDef string
	err     error
	noRepo  bool // the update's outputs lack repositoryUrl
}

func (s *fakeStack) Outputs(context.Context) (map[string]interface{}, error) {
	s.log.add("outputs")
	return s.outputs, s.outputsErr
}

func (s *fakeStack) Preview(_ context.Context, sha string, _ PreviewOptions) (Plan, error) {
	s.log.add("preview %s", short(sha))
	if len(s.previews) > 0 {
		p := s.previews[0]
		s.previews = s.previews[1:]
		return p, s.previewErr
	}
	return s.plan, s.previewErr
}

func (s *fakeStack) Up(_ context.Context, sha, message string) (UpResult, error) {
	s.log.add("up %s", message)
	if len(s.ups) == 0 {
		return UpResult{}, errors.New("fakeStack: no more ups scripted")
	}
	a := s.ups[0]
	s.ups = s.ups[1:]
	if a.err != nil {
		return UpResult{}, a.err
	}
	out := stackOutputs(a.taskDef)
	out[contract.OutImageTag] = sha
	if a.noRepo {
		delete(out, contract.OutRepositoryURL)
	}
	return UpResult{Outputs: out, Counts: map[string]int{"update": 1}}, nil
}

func (s *fakeStack) Mark(_ context.Context, sha, message string) error {
	s.log.add("mark %s", message)
	return s.markErr
}

// registryOutputs are the known outputs of a stack after the update of
// its registry alone (README bootstrap step 3): the service's are unknown
// there, and Outputs drops them.
var registryOutputs = map[string]interface{}{contract.OutRegion: "us-east-1", contract.OutRepositoryURL: repo, contract.OutServiceURL: serviceURL}

func stackOutputs(taskDef string) map[string]interface{} {
	return map[string]interface{}{
		contract.OutRegion: "us-east-1", contract.OutRepositoryURL: repo, contract.OutClusterName: "prod-cluster",
		contract.OutServiceName: "api-service", contract.OutTaskDefinitionArn: taskDef,
		contract.OutServiceURL: serviceURL,
	}
}

// fakeCloud is an in-memory Cloud: each WaitVerified returns the next of
// waits.
type fakeCloud struct {
	log       *calls
	images    map[string]imageAnswer // by tag; missing: not in ECR
	waits     []waitAnswer
	primary   string            // the PRIMARY deployment's task definition; tdOld when empty
	running   map[string]string // task definition -> image of the app container; tdOld runs shaOld unless set
	badImages map[string]error  // task definitions whose images cannot be read
	tagErr    error
	// tagErrPrefix limits tagErr to the tags it starts (all when "").
	tagErrPrefix string
	liveCtx      bool                   // StoppedTasks and Service fail on a cancelled context, as the SDK does
	inFlight     awsx.ServiceDeployment // the service deployment in progress, if its Arn is set
	missing      []awsx.Missing
	secretsErr   error
	// cancelOnWait: the run is interrupted (cancel) while it waits the
	// nth time (from 1); 0: never.
	cancelOnWait int
	cancel       context.CancelFunc
	inFlightErr  error
	stopErr      error
	timeouts     []time.Duration // each WaitVerified's timeout
}

type imageAnswer struct {
	ok  bool
	err error
}

type waitAnswer struct {
	v      awsx.Verification
	err    error
	stages []string // the lifecycle stages ECS reports on the way, in order
}

func (c *fakeCloud) ImageExists(_ context.Context, _, tag string) (bool, error) {
	c.log.add("image-exists %s", short(tag))
	a := c.images[tag]
	return a.ok, a.err
}

func (c *fakeCloud) AddTag(_ context.Context, _, tag, newTag string) error {
	c.log.add("add-tag %s", strings.Replace(newTag, tag, short(tag), 1))
	if c.tagErr != nil && strings.HasPrefix(newTag, c.tagErrPrefix) {
		return c.tagErr
	}
	return nil
}

func (c *fakeCloud) WaitVerified(_ context.Context, in awsx.WaitInput) (awsx.Verification, error) {
	c.log.add("wait %s", in.Want[strings.LastIndex(in.Want, ":")+1:])
	c.timeouts = append(c.timeouts, in.Timeout)
	if len(c.waits) == 0 {
		return awsx.Verification{}, errors.New("fakeCloud: no more waits scripted")
	}
	a := c.waits[0]
	c.waits = c.waits[1:]
	if len(c.timeouts) == c.cancelOnWait {
		c.cancel()
	}
	if in.Progress != nil {
		in.Progress(awsx.Progress{Status: "IN_PROGRESS", Running: 1, Desired: 2})
		for _, s := range a.stages {
			in.Progress(awsx.Progress{Status: "IN_PROGRESS", Stage: s, Running: 2, Desired: 2})
			// ECS says the same stage again on the next poll: no new phase.
			in.Progress(awsx.Progress{Status: "IN_PROGRESS", Stage: s, Running: 2, Desired: 2, Draining: 1})
		}
	}
	return a.v, a.err
}

func (c *fakeCloud) InFlight(context.Context, string, string) (awsx.ServiceDeployment, bool, error) {
	c.log.add("in-flight")
	if c.inFlightErr != nil {
		return awsx.ServiceDeployment{}, false, c.inFlightErr
	}
	return c.inFlight, c.inFlight.Arn != "", nil
}

func (c *fakeCloud) MissingSecrets(_ context.Context, refs []contract.SecretRef) ([]awsx.Missing, error) {
	c.log.add("secrets %d", len(refs))
	return c.missing, c.secretsErr
}

func (c *fakeCloud) StopRollout(_ context.Context, _, _, arn string) error {
	c.log.add("stop %s", shortName(arn))
	return c.stopErr
}

func (c *fakeCloud) Images(_ context.Context, taskDefinition string) (map[string]string, error) {
	c.log.add("images %s", taskDefinition[strings.LastIndex(taskDefinition, ":")+1:])
	if err := c.badImages[taskDefinition]; err != nil {
		return nil, err
	}
	image, ok := c.running[taskDefinition]
	if !ok && taskDefinition == tdOld {
		image = repo + ":" + shaOld
	}
	return map[string]string{contract.ContainerName: image}, nil
}

func (c *fakeCloud) Service(ctx context.Context, _, _ string) (awsx.ServiceState, error) {
	c.log.add("service")
	if c.liveCtx && ctx.Err() != nil {
		return awsx.ServiceState{}, ctx.Err()
	}
	primary := c.primary
	if primary == "" {
		primary = tdOld
	}
	return awsx.ServiceState{
		Deployments: []awsx.Deployment{{Status: "PRIMARY", TaskDefinition: primary}},
		Events:      []awsx.Event{{Message: "(service api-service) rolling back to deployment ecs-svc/1."}},
	}, nil
}

func (c *fakeCloud) StoppedTasks(ctx context.Context, _, _ string, _ int) ([]awsx.StoppedTask, error) {
	c.log.add("stopped-tasks")
	if c.liveCtx && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return []awsx.StoppedTask{
		{TaskDefinition: tdNew, StopCode: "TaskFailedToStart", StoppedReason: "CannotPullContainerError"},
		{TaskDefinition: tdOld, StopCode: "EssentialContainerExited", StoppedReason: "an older failure"},
	}, nil
}

// clockStart is when the decision table's fake clock starts.
var clockStart = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

var (
	shaOld = strings.Repeat("a", 40)
	shaNew = strings.Repeat("b", 40)
	shaX   = strings.Repeat("c", 40)

	verified   = waitAnswer{v: awsx.Verification{OK: true, Want: tdNew, Primary: awsx.Deployment{TaskDefinition: tdNew}, Reason: "COMPLETED"}}
	verifiedRe = waitAnswer{v: awsx.Verification{OK: true, Want: tdRec, Primary: awsx.Deployment{TaskDefinition: tdRec}, Reason: "COMPLETED"}}
	rolledBack = waitAnswer{v: awsx.Verification{RolledBack: true, Want: tdNew, Primary: awsx.Deployment{TaskDefinition: tdOld}, Reason: "circuit breaker"}}
	// ECS went back to a revision other than the one it ran before.
	rolledBackElsewhere = waitAnswer{v: awsx.Verification{RolledBack: true, Want: tdNew, Primary: awsx.Deployment{TaskDefinition: tdX}, Reason: "circuit breaker"}}
	noPrimary           = waitAnswer{v: awsx.Verification{Want: tdNew, Reason: "no PRIMARY deployment"}}
	timedOut            = waitAnswer{v: awsx.Verification{InProgress: true, Want: tdNew, Reason: "IN_PROGRESS"}, err: fmt.Errorf("%w of api-service", awsx.ErrTimeout)}

	platformPlan = Plan{Changes: []Change{{Op: "update", Type: "aws:ec2/securityGroup:SecurityGroup", Name: "task-sg", Keys: []string{"ingress"}}}}
	queueURN     = "urn:pulumi:prod::slipway::slipway:infra:Data$aws:sqs/queue:Queue::queue"
	replaceQueue = Plan{Changes: []Change{{Op: "replace", Type: "aws:sqs/queue:Queue", Name: "queue", URN: queueURN, Keys: []string{"fifoQueue"}}}}
	tableURN     = "urn:pulumi:prod::slipway::slipway:infra:Data$aws:dynamodb/table:Table::table"
	// The queue replaced and the table deleted.
	replaceQueueAndTable = Plan{Changes: append(slices.Clone(replaceQueue.Changes), Change{Op: "delete", Type: "aws:dynamodb/table:Table", Name: "table", URN: tableURN})}
	deployPlan           = Plan{Changes: []Change{
		{Op: "replace", Type: taskDefinitionType, Name: "task", Keys: []string{"containerDefinitions"}},
		{Op: "update", Type: serviceType, Name: "service", Keys: []string{"taskDefinition"}},
	}}
)

// The decision table: one row per outcome and per branch of the deploy
// path, each with the outcome and the exact order of calls.
func TestDeployDecisions(t *testing.T) {
	deploy := contract.DeployMessage(shaNew).String()
	reconcile := contract.ReconcileMessage(shaOld, shaNew).String()
	rejected := contract.RejectedMessage(shaNew).String()
	inECR := map[string]imageAnswer{shaOld: {ok: true}, shaNew: {ok: true}}
	// What every deploy of a deployed stack does up to ECS's verdict.
	// ECS is asked what it runs before anything else.
	checked := []string{"outputs", "open us-east-1", "service", "images 1"}
	upTo := []string{"image-exists bbbbbbb", "preview bbbbbbb", "up " + deploy, "wait 2"}
	diagnosis := []string{"stopped-tasks", "service"}
	// What a reconcile to shaOld does after the rejection is recorded.
	reconciling := []string{"images 1", "image-exists aaaaaaa", "preview aaaaaaa", "up " + reconcile, "wait 3"}
	join := func(parts ...[]string) []string { return slices.Concat(parts...) }

	tests := []struct {
		name     string
		stack    fakeStack
		cloud    fakeCloud
		req      Request // Previous is shaOld unless noPrevious
		noPrev   bool
		ctxDone  bool
		want     Kind
		wantErr  string // in Outcome.Err
		calls    []string
		warnings int
		check    func(t *testing.T, o Outcome)
	}{
		{
			name:    "never deployed, not --all: refused before anything",
			stack:   fakeStack{outputs: map[string]interface{}{}},
			noPrev:  true,
			want:    RefusedNeverDeployed,
			wantErr: "up --all",
			calls:   []string{"outputs"},
		},
		{
			name:   "first deploy with --all: no image check (no repository yet), verified and tagged",
			stack:  fakeStack{outputs: map[string]interface{}{}, plan: platformPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:  fakeCloud{waits: []waitAnswer{verified}},
			req:    Request{All: true},
			noPrev: true,
			want:   Verified,
			calls:  []string{"outputs", "preview bbbbbbb", "up " + deploy, "open us-east-1", "wait 2", "add-tag deployed-bbbbbbb", "add-tag verified-prod-bbbbbbb"},
		},
		{
			name:  "first deploy after the registry's own update: the image is checked, verified and tagged",
			stack: fakeStack{outputs: registryOutputs, plan: platformPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{verified}},
			req:   Request{All: true},
			want:  Verified,
			calls: []string{"outputs", "open us-east-1", "image-exists bbbbbbb", "preview bbbbbbb", "up " + deploy, "wait 2", "add-tag deployed-bbbbbbb", "add-tag verified-prod-bbbbbbb"},
		},
		{
			name:    "first deploy after the registry's own update, image not pushed: refused, no up",
			stack:   fakeStack{outputs: registryOutputs},
			cloud:   fakeCloud{images: map[string]imageAnswer{}},
			req:     Request{All: true},
			want:    RefusedNoImage,
			wantErr: "not in ECR",
			calls:   []string{"outputs", "open us-east-1", "image-exists bbbbbbb"},
		},
		{
			name:    "the registry's own update only, not --all: refused before anything",
			stack:   fakeStack{outputs: registryOutputs},
			want:    RefusedNeverDeployed,
			wantErr: "up --all",
			calls:   []string{"outputs"},
		},
		{
			name:    "reading the outputs fails",
			stack:   fakeStack{outputsErr: errors.New("backend unreachable")},
			want:    Failed,
			wantErr: "backend unreachable",
			calls:   []string{"outputs"},
		},
		{
			name:    "image not in ECR: refused, no preview, no up",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			cloud:   fakeCloud{images: map[string]imageAnswer{}},
			want:    RefusedNoImage,
			wantErr: "not in ECR",
			calls:   join(checked, []string{"image-exists bbbbbbb"}),
		},
		{
			name:    "image archived: refused",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			cloud:   fakeCloud{images: map[string]imageAnswer{shaNew: {err: fmt.Errorf("is ARCHIVED: %w", awsx.ErrImageUnavailable)}}},
			want:    RefusedNoImage,
			wantErr: "ARCHIVED",
			calls:   join(checked, []string{"image-exists bbbbbbb"}),
		},
		{
			name:    "image check fails: failed, nothing applied",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			cloud:   fakeCloud{images: map[string]imageAnswer{shaNew: {err: errors.New("AccessDenied")}}},
			want:    Failed,
			wantErr: "checking the image",
			calls:   join(checked, []string{"image-exists bbbbbbb"}),
		},
		{
			name:    "platform changes pending: refused, no up",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: platformPlan},
			cloud:   fakeCloud{images: inECR},
			want:    RefusedPlatform,
			wantErr: "1 platform change(s)",
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb"}),
			check: func(t *testing.T, o Outcome) {
				if len(o.Platform) != 1 || o.Platform[0].Name != "task-sg" {
					t.Errorf("Platform = %+v, want the security group change", o.Platform)
				}
			},
		},
		{
			name:    "guard preview locked",
			stack:   fakeStack{outputs: stackOutputs(tdOld), previewErr: fmt.Errorf("%w: by alice", ErrLocked)},
			cloud:   fakeCloud{images: inECR},
			want:    Locked,
			wantErr: "locked",
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb"}),
		},
		{
			name:    "up fails: failed, with what ECS says, no verification",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{err: errors.New("up failed: timeout")}}},
			cloud:   fakeCloud{images: inECR},
			want:    Failed,
			wantErr: "up failed",
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb", "up " + deploy}, diagnosis),
			check: func(t *testing.T, o Outcome) {
				if o.Diagnostics == nil || o.Diagnostics.Headline != "pulumi up failed" || len(o.Diagnostics.StoppedTasks) != 2 {
					t.Errorf("Diagnostics = %+v, want the up failure with every stopped task", o.Diagnostics)
				}
			},
		},
		{
			name:    "up locked: no diagnostics",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{err: fmt.Errorf("%w: by bob", ErrLocked)}}},
			cloud:   fakeCloud{images: inECR},
			want:    Locked,
			wantErr: "by bob",
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb", "up " + deploy}),
		},
		{
			name:    "up interrupted",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{err: errors.New("up interrupted")}}},
			cloud:   fakeCloud{images: inECR},
			ctxDone: true,
			want:    Interrupted,
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb", "up " + deploy}),
		},
		{
			name:  "verified: the image is tagged after verification",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{verified}},
			want:  Verified,
			calls: join(checked, upTo, tagged(shaNew)),
			check: func(t *testing.T, o Outcome) {
				var names []string
				for _, p := range o.Phases {
					names = append(names, p.Name+":"+p.Result)
				}
				want := []string{PhaseImageCheck + ":ok", PhaseGuard + ":ok", PhaseUpdate + ":ok", PhaseVerify + ":ok", PhaseTag + ":ok"}
				if !slices.Equal(names, want) {
					t.Errorf("phases %v, want %v", names, want)
				}
				if o.TaskDefinitionArn != tdNew || o.Previous != shaOld || o.Changes["update"] != 1 {
					t.Errorf("outcome %+v, want task definition %s after %s with the update's counts", o, tdNew, shaOld)
				}
			},
		},
		{
			name:     "verified, tagging fails: still verified, with a warning for each tag",
			stack:    fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:    fakeCloud{images: inECR, waits: []waitAnswer{verified}, tagErr: errors.New("AccessDenied")},
			want:     Verified,
			calls:    join(checked, upTo, tagged(shaNew)),
			warnings: 2,
			check:    tagPhase("failed", "lifecycle policy", "deploy promote --from prod refuses it"),
		},
		{
			name:     "verified, the deployed tag fails: the verified tag is still added",
			stack:    fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:    fakeCloud{images: inECR, waits: []waitAnswer{verified}, tagErr: errors.New("AccessDenied"), tagErrPrefix: contract.DeployedTagPrefix},
			want:     Verified,
			calls:    join(checked, upTo, tagged(shaNew)),
			warnings: 1,
			check:    tagPhase("failed", "as deployed (deployed-"+shaNew+")"),
		},
		{
			name:     "verified, the verified tag fails: a warning that promote refuses the SHA",
			stack:    fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:    fakeCloud{images: inECR, waits: []waitAnswer{verified}, tagErr: errors.New("AccessDenied"), tagErrPrefix: contract.VerifiedTagPrefix},
			want:     Verified,
			calls:    join(checked, upTo, tagged(shaNew)),
			warnings: 1,
			check:    tagPhase("failed", "verified in prod (verified-prod-"+shaNew+"), so deploy promote --from prod refuses it"),
		},
		{
			name:     "verified, the stack has no repository output: neither tag, one warning",
			stack:    fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew, noRepo: true}}},
			cloud:    fakeCloud{images: inECR, waits: []waitAnswer{verified}},
			want:     Verified,
			calls:    join(checked, upTo),
			warnings: 1,
			check:    tagPhase("failed", "deployed-"+shaNew, "verified-prod-"+shaNew),
		},
		{
			name:    "verify times out: unverified, not tagged, nothing reconciled",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{timedOut}},
			want:    Unverified,
			wantErr: "had not finished the rollout",
			calls:   join(checked, upTo),
		},
		{
			name:    "verify times out in a stage: the stage ends timed out",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{{v: timedOut.v, err: timedOut.err, stages: []string{"SCALE_UP", "BAKE_TIME"}}}},
			want:    Unverified,
			wantErr: "had not finished the rollout",
			calls:   join(checked, upTo),
			check:   stagePhases(PhaseVerify, "timed-out", "SCALE_UP ok", "BAKE_TIME timed-out"),
		},
		{
			name:    "ECS does not confirm (no PRIMARY): unverified with diagnostics, nothing reconciled",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{noPrimary}},
			want:    Unverified,
			wantErr: "no PRIMARY deployment",
			calls:   join(checked, upTo, diagnosis),
		},
		{
			name:    "rolled back, the update also changed the platform: not blamed on the image",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: platformPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack}},
			req:     Request{All: true},
			want:    RolledBackPlatform,
			wantErr: "also applied 1 platform change(s)",
			calls:   join(checked, upTo, diagnosis),
		},
		{
			name:    "rolled back a re-deploy of the running SHA: no marker, no reconcile",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack}, running: map[string]string{tdOld: repo + ":" + shaNew}},
			req:     Request{Previous: shaNew},
			want:    RolledBackRedeploy,
			wantErr: "re-deploy of the running SHA",
			calls:   join(checked, upTo, diagnosis),
		},
		{
			name:    "rolled back, no earlier good SHA: rejection recorded, no reconcile",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack}},
			noPrev:  true,
			want:    RolledBackNoEarlier,
			wantErr: "no earlier good SHA",
			calls:   join([]string{"outputs", "open us-east-1"}, upTo, diagnosis, []string{"mark " + rejected}),
		},
		{
			name:    "rolled back, the running image cannot be read: no reconcile",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBackElsewhere}, badImages: map[string]error{tdX: errors.New("AccessDenied")}},
			want:    RolledBackDiverged,
			wantErr: "could not be read",
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected, "images 9"}),
		},
		{
			name:    "rolled back to something other than the last good SHA: no reconcile",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBackElsewhere}, running: map[string]string{tdX: repo + ":" + shaX}},
			want:    RolledBackDiverged,
			wantErr: `image tag "` + shaX + `"`,
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected, "images 9"}),
			check: func(t *testing.T, o Outcome) {
				if o.RunningImageTag != shaX {
					t.Errorf("RunningImageTag = %q, want %q", o.RunningImageTag, shaX)
				}
			},
		},
		{
			name:  "rolled back: rejection recorded, then reconciled to what ECS runs, and only that image tagged",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {taskDef: tdRec}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{rolledBack, verifiedRe}, running: map[string]string{tdOld: repo + ":" + shaOld}},
			want:  RolledBackReconciled,
			calls: join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling, tagged(shaOld)),
			check: func(t *testing.T, o Outcome) {
				if o.Reconciled != shaOld || o.Diagnostics == nil || len(o.Diagnostics.StoppedTasks) != 1 {
					t.Errorf("outcome %+v, want reconciled to %s with the new task definition's stopped task only", o, shaOld)
				}
			},
		},
		{
			name:     "rolled back, the marker fails: warned, and the reconcile records it",
			stack:    fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {taskDef: tdRec}}, markErr: errors.New("preview failed")},
			cloud:    fakeCloud{images: inECR, waits: []waitAnswer{rolledBack, verifiedRe}, running: map[string]string{tdOld: repo + ":" + shaOld}},
			want:     RolledBackReconciled,
			calls:    join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling, tagged(shaOld)),
			warnings: 1,
		},
		{
			name:    "rolled back, the last good image expired: reconcile refused",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: map[string]imageAnswer{shaNew: {ok: true}}, waits: []waitAnswer{rolledBack}, running: map[string]string{tdOld: repo + ":" + shaOld}},
			want:    RolledBackReconcileFailed,
			wantErr: "not in ECR",
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected, "images 1", "image-exists aaaaaaa"}),
		},
		{
			name:    "rolled back, the reconcile's up fails",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {err: errors.New("up failed: boom")}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack}, running: map[string]string{tdOld: repo + ":" + shaOld}},
			want:    RolledBackReconcileFailed,
			wantErr: "boom",
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling[:4]),
		},
		{
			name:    "rolled back, interrupted while the reconcile rolls out: interrupted, not a failed reconcile",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {taskDef: tdRec}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack, {err: context.Canceled}}, running: map[string]string{tdOld: repo + ":" + shaOld}, cancelOnWait: 2},
			want:    Interrupted,
			wantErr: "finish it with deploy up --sha " + shaOld,
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling),
		},
		{
			name:    "rolled back, ECS does not settle on the reconcile",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {taskDef: tdRec}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack, rolledBack}, running: map[string]string{tdOld: repo + ":" + shaOld}},
			want:    RolledBackReconcileFailed,
			wantErr: "did not settle on the reconciled task definition",
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling),
		},
		{
			name:    "interrupted while waiting for ECS: says what ECS does, through a context of its own",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{{err: context.Canceled}}, liveCtx: true, cancelOnWait: 1},
			want:    Interrupted,
			wantErr: "holds no lock",
			calls:   join(checked, upTo, diagnosis),
			check: func(t *testing.T, o Outcome) {
				if o.Diagnostics == nil || !strings.Contains(o.Diagnostics.Headline, "circuit breaker still guards it") || len(o.Diagnostics.Unavailable) != 0 {
					t.Errorf("Diagnostics = %+v, want what ECS does, read after the interrupt", o.Diagnostics)
				}
			},
		},
		{
			name:    "ECS could not roll back: its own outcome, nothing reconciled",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{{v: awsx.Verification{RollbackFailed: true, Want: tdNew, Reason: "ROLLBACK_FAILED"}}}},
			want:    RollbackFailed,
			wantErr: "could not roll back",
			calls:   join(checked, upTo, diagnosis),
		},
		{
			name:    "ECS stopped the deploy without a rollback: its own outcome",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{{v: awsx.Verification{Stopped: true, Want: tdNew, Reason: "STOPPED"}}}},
			want:    Stopped,
			wantErr: "without rolling it back",
			calls:   join(checked, upTo, diagnosis),
		},
		{
			name:  "rolled back by an alarm: the outcome names it",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {taskDef: tdRec}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{{v: awsx.Verification{RolledBack: true, Want: tdNew, RolledBackTo: tdOld, Alarms: []string{"api-service-5xx"}, Reason: "alarm api-service-5xx"}}, verifiedRe}},
			want:  RolledBackReconciled,
			calls: join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling, tagged(shaOld)),
			check: func(t *testing.T, o Outcome) {
				if !slices.Equal(o.Alarms, []string{"api-service-5xx"}) {
					t.Errorf("Alarms = %v, want the alarm that rolled the deploy back", o.Alarms)
				}
			},
		},
		{
			name:    "the state changed since the guard's preview, nothing applied: refused",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{err: &PlanMismatchError{Changed: []string{"config test:platform changed"}}}}},
			cloud:   fakeCloud{images: inECR},
			want:    RefusedStateChanged,
			wantErr: "config test:platform changed",
			calls:   join(checked, upTo[:3]),
		},
		{
			name:    "the engine refused a step of the bound update after applying part of it: failed",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{err: &PlanMismatchError{Changed: []string{"delete is not allowed by the plan"}, Applied: true}}}},
			cloud:   fakeCloud{images: inECR},
			want:    Failed,
			wantErr: "not allowed by the plan",
			calls:   join(checked, upTo[:3], diagnosis),
		},
		{
			name:    "the reconcile would change the platform: refused, reconcile failed",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}, previews: []Plan{deployPlan, platformPlan}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack}},
			want:    RolledBackReconcileFailed,
			wantErr: "would apply 1 platform change(s)",
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling[:3]),
		},
		{
			name:    "--all would replace a stateful resource: refused, naming it and what forces it",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: replaceQueue},
			cloud:   fakeCloud{images: inECR},
			req:     Request{All: true},
			want:    RefusedDestructive,
			wantErr: "replace or delete 1 stateful resource(s)",
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb"}),
			check: func(t *testing.T, o Outcome) {
				if len(o.Destructive) != 1 || o.Destructive[0].URN != queueURN || o.Destructive[0].Keys[0] != "fifoQueue" {
					t.Errorf("Destructive = %+v, want the queue's replacement for fifoQueue", o.Destructive)
				}
			},
		},
		{
			name:  "verified through ECS's lifecycle stages: each is a phase after the rollout's",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{{v: verified.v, stages: []string{"SCALE_UP", "BAKE_TIME", "CLEAN_UP"}}}},
			want:  Verified,
			calls: join(checked, upTo, tagged(shaNew)),
			check: stagePhases(PhaseVerify, "ok", "SCALE_UP ok", "BAKE_TIME ok", "CLEAN_UP ok"),
		},
		{
			name:  "rolled back in a stage: the stage ends rolled back",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {taskDef: tdRec}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{{v: rolledBack.v, stages: []string{"SCALE_UP", "BAKE_TIME"}}, verifiedRe}},
			want:  RolledBackReconciled,
			calls: join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling, tagged(shaOld)),
			check: stagePhases(PhaseVerify, "rolled-back", "SCALE_UP ok", "BAKE_TIME rolled-back"),
		},
		{
			name:    "--all --allow-destructive naming one of two: refused, naming the other",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: replaceQueueAndTable},
			cloud:   fakeCloud{images: inECR},
			req:     Request{All: true, AllowDestructive: []string{queueURN}},
			want:    RefusedDestructive,
			wantErr: "replace or delete 1 stateful resource(s)",
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb"}),
			check: func(t *testing.T, o Outcome) {
				if len(o.Destructive) != 1 || o.Destructive[0].URN != tableURN {
					t.Errorf("Destructive = %+v, want the table's deletion only", o.Destructive)
				}
			},
		},
		{
			name:  "--all --allow-destructive naming it: applied",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: replaceQueue, ups: []upAnswer{{taskDef: tdNew}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{verified}},
			req:   Request{All: true, AllowDestructive: []string{queueURN}},
			want:  Verified,
			calls: join(checked, upTo, tagged(shaNew)),
		},
		{
			name:    "the config renames the service: refused before the engine runs",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			req:     Request{All: true, Permanent: map[string]string{contract.OutServiceName: "api-v2", contract.OutClusterName: "prod-cluster"}},
			want:    RefusedRename,
			wantErr: `the serviceName "api-v2", but the stack's is "api-service"`,
			calls:   []string{"outputs"},
		},
		{
			name:    "a secret the task reads does not exist: refused before the preview",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			cloud:   fakeCloud{images: inECR, missing: []awsx.Missing{{Name: "DB_PASSWORD", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db", Reason: "not found"}}},
			req:     Request{Secrets: []contract.SecretRef{{Name: "DB_PASSWORD"}}},
			want:    RefusedMissingSecret,
			wantErr: "DB_PASSWORD",
			calls:   join(checked, []string{"image-exists bbbbbbb", "secrets 1"}),
		},
		{
			name:    "first deploy, a secret the task reads does not exist: refused, checked in the config's region",
			stack:   fakeStack{outputs: map[string]interface{}{}},
			cloud:   fakeCloud{missing: []awsx.Missing{{Name: "DB_PASSWORD", ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db", Reason: "not found"}}},
			req:     Request{All: true, Region: "eu-west-1", Secrets: []contract.SecretRef{{Name: "DB_PASSWORD"}}},
			noPrev:  true,
			want:    RefusedMissingSecret,
			wantErr: "DB_PASSWORD",
			calls:   []string{"outputs", "open eu-west-1", "secrets 1"},
		},
		{
			name:   "first deploy with secrets that exist: checked, then deployed",
			stack:  fakeStack{outputs: map[string]interface{}{}, plan: platformPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:  fakeCloud{waits: []waitAnswer{verified}},
			req:    Request{All: true, Region: "us-east-1", Secrets: []contract.SecretRef{{Name: "DB_PASSWORD"}}},
			noPrev: true,
			want:   Verified,
			calls:  []string{"outputs", "open us-east-1", "secrets 1", "preview bbbbbbb", "up " + deploy, "wait 2", "add-tag deployed-bbbbbbb", "add-tag verified-prod-bbbbbbb"},
		},
		{
			name:    "first deploy with secrets, the update fails: no diagnosis of a service that does not exist yet",
			stack:   fakeStack{outputs: map[string]interface{}{}, plan: platformPlan, ups: []upAnswer{{err: errors.New("up failed: boom")}}},
			req:     Request{All: true, Region: "us-east-1", Secrets: []contract.SecretRef{{Name: "DB_PASSWORD"}}},
			noPrev:  true,
			want:    Failed,
			wantErr: "boom",
			calls:   []string{"outputs", "open us-east-1", "secrets 1", "preview bbbbbbb", "up " + deploy},
		},
		{
			name:    "the secrets cannot be described: failed before the preview",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			cloud:   fakeCloud{images: inECR, secretsErr: errors.New("AccessDenied: secretsmanager:DescribeSecret")},
			req:     Request{Secrets: []contract.SecretRef{{Name: "DB_PASSWORD"}}},
			want:    Failed,
			wantErr: "checking the task's secrets",
			calls:   join(checked, []string{"image-exists bbbbbbb", "secrets 1"}),
		},
		{
			name:    "--all would commit workflow files to a branch that refuses it: refused before the update",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: Plan{Changes: []Change{{Op: "update", Type: repositoryFileType, Name: "workflow-cd", Keys: []string{"content"}}}}},
			cloud:   fakeCloud{images: inECR},
			req:     Request{All: true, CommitBlockers: []string{"ruleset 42 (acme/api) requires a pull request"}},
			want:    RefusedProtectedBranch,
			wantErr: "ruleset 42",
			calls:   join(checked, []string{"image-exists bbbbbbb", "preview bbbbbbb"}),
		},
		{
			name:  "a branch rule does not matter when no workflow file changes",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{verified}},
			req:   Request{All: true, CommitBlockers: []string{"ruleset 42 (acme/api) requires a pull request"}},
			want:  Verified,
			calls: join(checked, upTo, tagged(shaNew)),
		},
		{
			name:    "ECS runs something other than history's current SHA: refused before anything",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			cloud:   fakeCloud{running: map[string]string{tdOld: repo + ":" + shaX}},
			want:    RefusedDiverged,
			wantErr: `ECS runs image tag "` + shaX + `", but history's current SHA is ` + shaOld,
			calls:   checked,
		},
		{
			name:    "what ECS runs cannot be read: failed before anything",
			stack:   fakeStack{outputs: stackOutputs(tdOld)},
			cloud:   fakeCloud{badImages: map[string]error{tdOld: errors.New("AccessDenied")}},
			want:    Failed,
			wantErr: "reading the image ECS runs now",
			calls:   checked,
		},
		{
			name:  "--force deploys without asking ECS what it runs",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{verified}, running: map[string]string{tdOld: repo + ":" + shaX}},
			req:   Request{Force: true},
			want:  Verified,
			calls: join([]string{"outputs", "open us-east-1"}, upTo, tagged(shaNew)),
		},
		{
			name:    "rolled back with too little time left for a reconcile: skipped",
			stack:   fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}},
			cloud:   fakeCloud{images: inECR, waits: []waitAnswer{rolledBack}},
			req:     Request{Deadline: clockStart.Add(10 * time.Minute)},
			want:    RolledBackReconcileSkipped,
			wantErr: "cannot finish before the deadline",
			calls:   join(checked, upTo, diagnosis, []string{"mark " + rejected, "images 1"}),
		},
		{
			name:  "rolled back with time left for a reconcile: reconciled, each wait cut to the deadline",
			stack: fakeStack{outputs: stackOutputs(tdOld), plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}, {taskDef: tdRec}}},
			cloud: fakeCloud{images: inECR, waits: []waitAnswer{rolledBack, verifiedRe}},
			req:   Request{VerifyTimeout: 2 * time.Hour, Deadline: clockStart.Add(30 * time.Minute)},
			want:  RolledBackReconciled,
			calls: join(checked, upTo, diagnosis, []string{"mark " + rejected}, reconciling, tagged(shaOld)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log calls
			tt.stack.log, tt.cloud.log = &log, &log
			clock := clockStart
			d := &Deployer{
				Stack: &tt.stack,
				// Every reading of the clock is a minute later: each phase
				// takes a minute or more.
				Now: func() time.Time { clock = clock.Add(time.Minute); return clock },
				OpenCloud: func(_ context.Context, region string) (Cloud, error) {
					log.add("open %s", region)
					return &tt.cloud, nil
				},
			}
			req := tt.req
			req.Stack, req.SHA, req.Message = "prod", shaNew, contract.DeployMessage(shaNew)
			if req.Previous == "" && !tt.noPrev {
				req.Previous = shaOld
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.cloud.cancel = cancel
			if tt.ctxDone {
				cancel()
			}
			o := d.Deploy(ctx, req)
			if o.Kind != tt.want {
				t.Errorf("outcome %s (%v), want %s", o.Kind, o.Err, tt.want)
			}
			if !slices.Equal(log, tt.calls) {
				t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(log, "\n  "), strings.Join(tt.calls, "\n  "))
			}
			switch {
			case tt.wantErr == "" && o.Err != nil && tt.want == Verified:
				t.Errorf("Err = %v, want none", o.Err)
			case tt.wantErr != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), tt.wantErr)):
				t.Errorf("Err = %v, want it to contain %q", o.Err, tt.wantErr)
			}
			if (o.Err == nil) != (o.Error == "") {
				t.Errorf("Error %q does not carry Err %v", o.Error, o.Err)
			}
			if len(o.Warnings) != tt.warnings {
				t.Errorf("warnings %q, want %d", o.Warnings, tt.warnings)
			}
			// Every wait ends by the verify timeout and by the deadline.
			for i, got := range tt.cloud.timeouts {
				if (req.VerifyTimeout > 0 && got > req.VerifyTimeout) || (!req.Deadline.IsZero() && got > req.Deadline.Sub(clockStart)) {
					t.Errorf("wait %d had timeout %s, want at most --verify-timeout %s and the time to the deadline %s", i+1, got, req.VerifyTimeout, req.Deadline.Sub(clockStart))
				}
			}
			// The environment's link comes from the update's outputs: every
			// outcome after an applied update carries it, no other does.
			updated := slices.ContainsFunc(o.Phases, func(p Phase) bool { return p.Name == PhaseUpdate && p.Result == "ok" })
			if want := map[bool]string{true: serviceURL}[updated]; o.ServiceURL != want {
				t.Errorf("ServiceURL = %q, want %q (update applied: %v)", o.ServiceURL, want, updated)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

// stagePhases checks that the phase named rollout ended with result and is
// followed by exactly the stage phases wants ("STAGE result" each), in
// order and one after the other.
func stagePhases(rollout, result string, wants ...string) func(t *testing.T, o Outcome) {
	return func(t *testing.T, o Outcome) {
		t.Helper()
		i := slices.IndexFunc(o.Phases, func(p Phase) bool { return p.Name == rollout })
		if i < 0 || o.Phases[i].Result != result || len(o.Phases) < i+1+len(wants) {
			t.Fatalf("phases %+v, want %s %s followed by %d stages", o.Phases, rollout, result, len(wants))
		}
		for j, want := range wants {
			p := o.Phases[i+1+j]
			if got := strings.TrimPrefix(p.Name, PhaseStagePrefix) + " " + p.Result; got != want || !strings.HasPrefix(p.Name, PhaseStagePrefix) {
				t.Errorf("phase %d = %q (%s), want stage %q", i+1+j, p.Name, p.Result, want)
			}
			if p.End.Before(p.Start) || (j > 0 && !p.Start.Equal(o.Phases[i+j].End)) {
				t.Errorf("stage %s runs %s..%s, want it to start where the one before ended", p.Name, p.Start, p.End)
			}
		}
	}
}

// tagPhase checks that the tag phase ended with result and that the
// warnings say each of wants.
func tagPhase(result string, wants ...string) func(t *testing.T, o Outcome) {
	return func(t *testing.T, o Outcome) {
		t.Helper()
		if i := slices.IndexFunc(o.Phases, func(p Phase) bool { return p.Name == PhaseTag }); i < 0 || o.Phases[i].Result != result {
			t.Errorf("phases %+v, want %s %s", o.Phases, PhaseTag, result)
		}
		for _, want := range wants {
			if !strings.Contains(strings.Join(o.Warnings, "\n"), want) {
				t.Errorf("warnings %q do not say %q", o.Warnings, want)
			}
		}
	}
}

// Every kind is listed once, and the rolled-back ones say so.
func TestKinds(t *testing.T) {
	seen := map[Kind]bool{}
	for _, k := range Kinds {
		if seen[k] {
			t.Errorf("kind %s listed twice", k)
		}
		seen[k] = true
	}
	for _, k := range []Kind{RolledBackReconciled, RolledBackPlatform, RolledBackRedeploy, RolledBackNoEarlier, RolledBackDiverged, RolledBackReconcileFailed} {
		if !k.RolledBack() {
			t.Errorf("%s.RolledBack() = false, want true", k)
		}
	}
	for _, k := range []Kind{Verified, Unverified, Failed, Locked, Interrupted, RefusedNoImage} {
		if k.RolledBack() {
			t.Errorf("%s.RolledBack() = true, want false", k)
		}
	}
}

// up and rollback ask history first: what runs now, whether the SHA goes
// back in time or was rejected, and what a rollback goes to.
func TestUpAndRollbackDecisions(t *testing.T) {
	marker := withMessage(deployed(shaX), contract.RejectedMessage(shaX))
	history := memory{withMessage(deployed(shaOld), contract.ReconcileMessage(shaOld, shaX)), marker, deployed(shaX), deployed(shaOld), deployed(shaNew)}
	deployOld := []string{"outputs", "open us-east-1", "service", "images 1"}
	tests := []struct {
		name     string
		history  memory
		run      func(d *Deployer) Outcome
		want     Kind
		wantErr  string
		previous string
		calls    []string
	}{
		{"up of a SHA ECS rolled back: refused before anything", history,
			func(d *Deployer) Outcome { return d.Up(context.Background(), Request{Stack: "prod", SHA: shaX}) },
			RefusedRejected, "ECS rolled back a deploy of " + shaX, shaOld, nil},
		{"up of an older SHA: refused, it is a rollback", history,
			func(d *Deployer) Outcome { return d.Up(context.Background(), Request{Stack: "prod", SHA: shaNew}) },
			RefusedOlder, "deploy rollback --to " + shaNew, shaOld, nil},
		{"up --force of an older SHA: deployed", history,
			func(d *Deployer) Outcome {
				return d.Up(context.Background(), Request{Stack: "prod", SHA: shaNew, Force: true})
			},
			RefusedPlatform, "platform change", shaOld, []string{"outputs", "open us-east-1", "image-exists bbbbbbb", "preview bbbbbbb"}},
		{"up --force of a SHA ECS rolled back: past the history check, to the image check", history,
			func(d *Deployer) Outcome {
				return d.Up(context.Background(), Request{Stack: "prod", SHA: shaX, Force: true})
			},
			RefusedNoImage, shaX, shaOld, []string{"outputs", "open us-east-1", "image-exists ccccccc"}},
		{"up of a new SHA: its previous is what history says runs", memory{deployed(shaOld)},
			func(d *Deployer) Outcome { return d.Up(context.Background(), Request{Stack: "prod", SHA: shaNew}) },
			RefusedPlatform, "platform change", shaOld, append(deployOld, "image-exists bbbbbbb", "preview bbbbbbb")},
		{"rollback of a stack that never ran: refused", memory{failed(shaOld)},
			func(d *Deployer) Outcome { return d.Rollback(context.Background(), "", Request{Stack: "prod"}) },
			RefusedNeverDeployed, "nothing to roll back", "", nil},
		{"rollback --to a SHA that never ran: refused", history,
			func(d *Deployer) Outcome {
				return d.Rollback(context.Background(), shaX, Request{Stack: "prod"})
			},
			RefusedNoTarget, "never ran successfully", shaOld, nil},
		{"rollback: the previous good SHA, skipping the rejected one", history,
			func(d *Deployer) Outcome { return d.Rollback(context.Background(), "", Request{Stack: "prod"}) },
			RefusedPlatform, "platform change", shaOld, append([]string{"outputs", "open us-east-1", "in-flight"}, append(deployOld, "image-exists bbbbbbb", "preview bbbbbbb")...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log calls
			stack := &fakeStack{log: &log, outputs: stackOutputs(tdOld), plan: platformPlan}
			cloud := &fakeCloud{log: &log, images: map[string]imageAnswer{shaNew: {ok: true}}, inFlight: awsx.ServiceDeployment{Arn: "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod-cluster/api-service/other", TargetTaskDefinition: tdX}}
			d := &Deployer{Stack: stack, History: tt.history, OpenCloud: func(_ context.Context, region string) (Cloud, error) {
				log.add("open %s", region)
				return cloud, nil
			}}
			o := tt.run(d)
			if o.Kind != tt.want || o.Err == nil || !strings.Contains(o.Error, tt.wantErr) || o.Previous != tt.previous {
				t.Errorf("outcome %s (%v), previous %q; want %s with %q, previous %q", o.Kind, o.Err, o.Previous, tt.want, tt.wantErr, tt.previous)
			}
			if !slices.Equal(log, tt.calls) {
				t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(log, "\n  "), strings.Join(tt.calls, "\n  "))
			}
		})
	}
}

// Up's check of a new SHA's earlier deploys reads history back to a week
// before the SHA's commit when the request gives its time, all of it
// otherwise.
func TestUpReadsHistoryBackToTheCommit(t *testing.T) {
	history := hourly(1000, clockStart)
	history[0].ImageTag, history[0].Message = shaOld, contract.DeployMessage(shaOld).String()
	for _, tt := range []struct {
		name   string
		sha    string
		commit time.Time
		want   Kind
		reads  int
	}{
		{"commit time given", shaNew, clockStart.Add(-time.Hour), RefusedPlatform, 1},
		{"commit time unknown", shaNew, time.Time{}, RefusedPlatform, 3},
		// sha(997) ran 3 hours ago, under a commit time 3 days later (the
		// committer's clock ahead): commitSkew still finds it.
		{"a SHA that ran before its recorded commit time", sha(997), clockStart.Add(3 * 24 * time.Hour), RefusedOlder, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var log calls
			src := &counting{HistorySource: history}
			d := &Deployer{Stack: &fakeStack{log: &log, outputs: stackOutputs(tdOld), plan: platformPlan}, History: src,
				OpenCloud: func(context.Context, string) (Cloud, error) {
					return &fakeCloud{log: &log, images: map[string]imageAnswer{shaNew: {ok: true}}}, nil
				}}
			o := d.Up(context.Background(), Request{Stack: "prod", SHA: tt.sha, CommitTime: tt.commit})
			if o.Kind != tt.want || o.Previous != shaOld {
				t.Errorf("outcome %s (%v), previous %.7s; want %s after %.7s", o.Kind, o.Err, o.Previous, tt.want, shaOld)
			}
			if src.reads != tt.reads {
				t.Errorf("read %d pages of history, want %d", src.reads, tt.reads)
			}
		})
	}
}

// A rollback while the current deploy still rolls out asks ECS to roll it
// back (faster than deploying the target), then records the rejection
// and reconciles the stack, as after the circuit breaker.
func TestRollbackInFlight(t *testing.T) {
	const arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod-cluster/api-service/abc"
	inFlight := awsx.ServiceDeployment{Arn: arn, TargetTaskDefinition: tdNew}
	// history: shaNew is current (its rollout in flight, its engine update
	// took 3 minutes), shaOld before.
	current := deployed(shaNew)
	current.Start, current.End = clockStart.Add(-10*time.Minute), clockStart.Add(-7*time.Minute)
	history := memory{current, deployed(shaOld)}
	backToOld := waitAnswer{v: awsx.Verification{RolledBack: true, Want: tdNew, RolledBackTo: tdOld, Reason: "rolled back on request"}}
	backToX := waitAnswer{v: awsx.Verification{RolledBack: true, Want: tdNew, RolledBackTo: tdX, Reason: "rolled back on request"}}
	rollbackFailed := waitAnswer{v: awsx.Verification{RollbackFailed: true, Want: tdNew, Reason: "ROLLBACK_FAILED"}}
	stoppedOnly := waitAnswer{v: awsx.Verification{Stopped: true, Want: tdNew, Reason: "STOPPED"}}
	stillRolling := waitAnswer{v: awsx.Verification{InProgress: true, Want: tdNew, Reason: "ROLLBACK_IN_PROGRESS"}, err: fmt.Errorf("%w of api-service", awsx.ErrTimeout)}
	stopped := []string{"outputs", "open us-east-1", "in-flight", "stop abc", "wait 2"}
	marked := append(slices.Clone(stopped), "stopped-tasks", "service", "mark "+contract.RejectedMessage(shaNew).String(), "images 1")
	reconcile := contract.ReconcileMessage(shaOld, shaNew).String()
	// The rollback as a deploy of the target: what runs when no rollout is
	// in flight (or ECS cannot say), here refused by the guard.
	asDeploy := []string{"outputs", "open us-east-1", "service", "images 2", "image-exists aaaaaaa", "preview aaaaaaa"}
	tests := []struct {
		name     string
		to       string // rollback --to
		cloud    fakeCloud
		ups      []upAnswer
		deadline time.Duration // from the start; none when 0
		want     Kind
		wantIn   string
		phase    string // the result of the in-flight rollback's phase ("" when it has none)
		// ecsBack: the outcome reads as after the circuit breaker, the SHA
		// ECS rolled back (shaNew) and the one it went back to (shaOld);
		// otherwise as the rollback asked, shaOld after shaNew.
		ecsBack  bool
		warnings int
		calls    []string
	}{
		{name: "ECS rolls it back, the stack is reconciled: verified",
			cloud: fakeCloud{images: map[string]imageAnswer{shaOld: {ok: true}}, waits: []waitAnswer{backToOld, verifiedRe}, inFlight: inFlight},
			ups:   []upAnswer{{taskDef: tdRec}}, deadline: time.Hour, want: Verified, phase: "rolled-back",
			calls: append(slices.Clone(marked), "image-exists aaaaaaa", "preview aaaaaaa", "up "+reconcile, "wait 3", "add-tag deployed-aaaaaaa", "add-tag verified-prod-aaaaaaa")},
		{name: "ECS rolls it back, and the deadline leaves no room for a reconcile: skipped",
			cloud:    fakeCloud{images: map[string]imageAnswer{shaOld: {ok: true}}, waits: []waitAnswer{backToOld}, inFlight: inFlight},
			deadline: 9 * time.Minute, want: RolledBackReconcileSkipped, wantIn: "cannot finish before the deadline", phase: "rolled-back", ecsBack: true,
			calls: marked},
		{name: "ECS rolls it back, and the reconcile's rollout is interrupted",
			cloud: fakeCloud{images: map[string]imageAnswer{shaOld: {ok: true}}, waits: []waitAnswer{backToOld, {err: context.Canceled}}, inFlight: inFlight, cancelOnWait: 2},
			ups:   []upAnswer{{taskDef: tdRec}}, deadline: time.Hour, want: Interrupted, wantIn: "finish it with deploy up --sha " + shaOld, phase: "rolled-back", ecsBack: true,
			calls: append(slices.Clone(marked), "image-exists aaaaaaa", "preview aaaaaaa", "up "+reconcile, "wait 3")},
		{name: "ECS rolls it back to a SHA other than the target: nothing reconciled",
			cloud: fakeCloud{waits: []waitAnswer{backToX}, inFlight: inFlight, running: map[string]string{tdX: repo + ":" + shaX}},
			want:  RolledBackDiverged, wantIn: "last good SHA in history is " + shaOld, phase: "rolled-back", ecsBack: true,
			calls: append(slices.Clone(stopped), "stopped-tasks", "service", "mark "+contract.RejectedMessage(shaNew).String(), "images 9")},
		{name: "ECS cannot roll it back",
			cloud: fakeCloud{waits: []waitAnswer{rollbackFailed}, inFlight: inFlight},
			want:  RollbackFailed, wantIn: "did not: ROLLBACK_FAILED", phase: "failed",
			calls: append(slices.Clone(stopped), "stopped-tasks", "service")},
		{name: "ECS stops the deployment without rolling back: not a rollback",
			cloud: fakeCloud{waits: []waitAnswer{stoppedOnly}, inFlight: inFlight},
			want:  RollbackFailed, wantIn: "did not: STOPPED", phase: "failed",
			calls: append(slices.Clone(stopped), "stopped-tasks", "service")},
		{name: "ECS refuses the stop request: failed, and no deploy instead",
			cloud: fakeCloud{inFlight: inFlight, stopErr: errors.New("InvalidParameterException: the service deployment is not in progress")},
			want:  Failed, wantIn: "not in progress", phase: "failed",
			calls: []string{"outputs", "open us-east-1", "in-flight", "stop abc"}},
		{name: "the rollback is still under way at the verify timeout: unverified",
			cloud: fakeCloud{waits: []waitAnswer{stillRolling}, inFlight: inFlight},
			want:  Unverified, wantIn: "timed out", phase: "timed-out",
			calls: stopped},
		{name: "interrupted while ECS rolls back",
			cloud: fakeCloud{waits: []waitAnswer{stillRolling}, inFlight: inFlight, cancelOnWait: 1},
			want:  Interrupted, wantIn: "it goes on with the rollback", phase: "timed-out",
			calls: stopped},
		{name: "ECS cannot say what is in flight: a deploy of the target, with a warning",
			cloud: fakeCloud{images: map[string]imageAnswer{shaOld: {ok: true}}, inFlightErr: errors.New("AccessDeniedException")},
			want:  RefusedPlatform, wantIn: "platform change", warnings: 1,
			calls: append([]string{"outputs", "open us-east-1", "in-flight"}, asDeploy...)},
		{name: "nothing in flight: a deploy of the target",
			cloud: fakeCloud{images: map[string]imageAnswer{shaOld: {ok: true}}},
			want:  RefusedPlatform, wantIn: "platform change",
			calls: append([]string{"outputs", "open us-east-1", "in-flight"}, asDeploy...)},
		{name: "rollback --to: always a deploy of that SHA, even with a rollout in flight",
			to:    shaOld,
			cloud: fakeCloud{images: map[string]imageAnswer{shaOld: {ok: true}}, inFlight: inFlight},
			want:  RefusedPlatform, wantIn: "platform change",
			calls: asDeploy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log calls
			stack := &fakeStack{log: &log, outputs: stackOutputs(tdNew), ups: tt.ups}
			if tt.ups == nil {
				// No reconcile is scripted: a preview is the guard's, of a
				// deploy of the target, and it shows a platform change.
				stack.plan = platformPlan
			}
			tt.cloud.log = &log
			tt.cloud.primary = tdNew
			if tt.cloud.running == nil {
				tt.cloud.running = map[string]string{}
			}
			tt.cloud.running[tdNew] = repo + ":" + shaNew
			clock := clockStart
			d := &Deployer{
				Stack: stack, History: history,
				// Every reading of the clock is a minute later.
				Now: func() time.Time { clock = clock.Add(time.Minute); return clock },
				OpenCloud: func(_ context.Context, region string) (Cloud, error) {
					log.add("open %s", region)
					return &tt.cloud, nil
				}}
			req := Request{Stack: "prod", VerifyTimeout: 10 * time.Minute}
			if tt.deadline > 0 {
				req.Deadline = clockStart.Add(tt.deadline)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.cloud.cancel = cancel
			o := d.Rollback(ctx, tt.to, req)
			if o.Kind != tt.want || (tt.wantIn != "" && !strings.Contains(o.Error, tt.wantIn)) {
				t.Errorf("outcome %s (%v), want %s with %q", o.Kind, o.Err, tt.want, tt.wantIn)
			}
			if !slices.Equal(log, tt.calls) {
				t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(log, "\n  "), strings.Join(tt.calls, "\n  "))
			}
			got := ""
			if i := slices.IndexFunc(o.Phases, func(p Phase) bool { return p.Name == PhaseStopRollout }); i >= 0 {
				got = o.Phases[i].Result
			}
			if got != tt.phase {
				t.Errorf("phase %q ended %q, want %q (phases %+v)", PhaseStopRollout, got, tt.phase, o.Phases)
			}
			wantImage, wantPrevious := shaOld, shaNew
			if tt.ecsBack {
				wantImage, wantPrevious = shaNew, shaOld
			}
			if o.ImageTag != wantImage || o.Previous != wantPrevious {
				t.Errorf("ImageTag, Previous = %.7q, %.7q; want %.7s, %.7s", o.ImageTag, o.Previous, wantImage, wantPrevious)
			}
			if len(o.Warnings) != tt.warnings {
				t.Errorf("warnings %q, want %d", o.Warnings, tt.warnings)
			}
			if wantArn := map[bool]string{true: arn}[tt.phase == "rolled-back"]; o.StoppedDeployment != wantArn {
				t.Errorf("StoppedDeployment = %q, want %q", o.StoppedDeployment, wantArn)
			}
			if tt.phase != "" && o.ServiceURL != serviceURL {
				t.Errorf("ServiceURL = %q, want %s (the environment's link, which the rollback did not change)", o.ServiceURL, serviceURL)
			}
			// Every wait is bounded by the verify timeout and the deadline.
			for i, got := range tt.cloud.timeouts {
				if got <= 0 || got > req.VerifyTimeout || (tt.deadline > 0 && got > tt.deadline) {
					t.Errorf("wait %d had timeout %s, want (0, %s] and within the deadline", i+1, got, req.VerifyTimeout)
				}
			}
		})
	}
}
