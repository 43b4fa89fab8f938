// Package awsfake is an in-process fake of the slice of ECS, ECR, SSM Parameter Store and Secrets
// Manager that slipway's deploy tool uses.
// It speaks the AWS JSON 1.1 wire protocol on an httptest server, so the real SDK clients (in this
// process or in a child process) run against it unchanged: point them at it with Env.
//
// The fake is stateful and reacts to API calls as AWS documents the services; nothing is arranged
// in advance except what AWS cannot be asked for: which repositories and clusters exist (a test
// creates them), and how a rollout of a container image goes (SetRollout). See ecs.go for the ECS
// model and how simulated time advances, ecr.go for the ECR model, and secrets.go for parameters and
// secrets (their metadata: no value is ever stored or served).
//
// ECS operations: CreateCluster, RegisterTaskDefinition, DescribeTaskDefinition,
// DeregisterTaskDefinition, CreateService, UpdateService, DeleteService, DescribeServices,
// ListTasks, DescribeTasks, ListServiceDeployments, DescribeServiceDeployments,
// DescribeServiceRevisions, StopServiceDeployment. ECR operations: CreateRepository,
// DescribeRepositories, DescribeImages, BatchGetImage, PutImage, BatchDeleteImage. SSM: DescribeParameters. Secrets
// Manager: DescribeSecret. Errors have AWS's shape: HTTP 400
// with {"__type": "<Exception>", "message": ...}. Any operation can be made to answer slowly or
// never (SetDelay), to be throttled for a number of calls (Throttle), or to be denied by IAM
// (DenyOperation).
package awsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Account and Region appear in every ARN the fake returns.
const (
	Account = "123456789012"
	Region  = "us-east-1"
)

// Tick is the simulated time one step of the fake's clock takes (see Server.Advance).
const Tick = 15 * time.Second

// Epoch is the simulated time a new fake starts at.
var Epoch = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const (
	ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113"
	ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921"
)

// Server is a stateful fake of ECS and ECR. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	calls     []string
	seq       int
	now       time.Time
	delays    map[string]time.Duration // operation → how long its responses are held back
	throttled map[string]int           // operation → how many of its next calls are throttled
	denied    map[string]bool          // operations answered AccessDeniedException
	// listingLag is how many listings a new service deployment stays out
	// of (see SetListingLag).
	listingLag int

	repos   map[string]*repository
	tagsPut map[string][]string // repository → tags PutImage added, in order

	clusters    map[string]bool
	families    map[string][]*taskDef // family → revisions, revision N at index N-1
	services    map[serviceKey]*service
	statics     map[serviceKey]*static
	failures    map[serviceKey]string // DescribeServices failure reasons set by SetServiceFailure
	rollouts    map[string]Rollout    // container image → how its rollouts go
	deployments map[string]*svcDep    // service deployment ARN → service deployment
	revisions   map[string]*revision  // service revision ARN → revision

	parameters []*parameter // SSM parameters, in creation order
	secrets    []*secret    // Secrets Manager secrets, in creation order
}

type serviceKey struct{ cluster, service string }

// New starts a fake whose clock reads Epoch; Close it when done.
func New() *Server { return NewAt(Epoch) }

// NewAt starts a fake whose clock reads start. Tests of a client that
// compares ECS's times with its own clock (a deploy ignores service
// deployments created before its update began) start it at time.Now(),
// so that the fake's clock, which only moves forward, is never behind.
func NewAt(start time.Time) *Server {
	s := &Server{
		now: start.UTC().Truncate(time.Millisecond), delays: map[string]time.Duration{}, throttled: map[string]int{}, denied: map[string]bool{},
		repos: map[string]*repository{}, tagsPut: map[string][]string{},
		clusters: map[string]bool{}, families: map[string][]*taskDef{},
		services: map[serviceKey]*service{}, statics: map[serviceKey]*static{}, failures: map[serviceKey]string{},
		rollouts: map[string]Rollout{}, deployments: map[string]*svcDep{}, revisions: map[string]*revision{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	return s
}

// URL is the fake's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the fake down.
func (s *Server) Close() { s.srv.Close() }

// Env returns the environment that points the AWS SDK (or a child process using it) at the fake with
// dummy credentials. Besides the endpoint and credentials it neutralises settings a developer's shell
// may carry that would otherwise win or break the run: per-service endpoints, profiles, shared files
// in ~/.aws, IMDS and FIPS/dual-stack endpoints. It sets 3 attempts per call (the tool's default is
// 10): a test's flow is not retried unless an attempt fails in transit, as one read of an answer did
// here once ("use of closed network connection" on a pooled connection), which a single attempt
// turned into a failed command. The per-service variables are
// AWS_ENDPOINT_URL_ followed by the SDK's ServiceID in upper case with spaces as underscores: "ECS",
// "ECR", "SSM", "Secrets Manager".
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":                    s.URL(),
		"AWS_ENDPOINT_URL_ECS":                s.URL(),
		"AWS_ENDPOINT_URL_ECR":                s.URL(),
		"AWS_ENDPOINT_URL_SSM":                s.URL(),
		"AWS_ENDPOINT_URL_SECRETS_MANAGER":    s.URL(),
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
		"AWS_ACCESS_KEY_ID":                   "fake",
		"AWS_SECRET_ACCESS_KEY":               "fake",
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          Region,
		"AWS_DEFAULT_REGION":                  Region,
		"AWS_PROFILE":                         "",
		"AWS_DEFAULT_PROFILE":                 "",
		"AWS_CONFIG_FILE":                     os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE":         os.DevNull,
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_USE_FIPS_ENDPOINT":               "false",
		"AWS_USE_DUALSTACK_ENDPOINT":          "false",
		"AWS_MAX_ATTEMPTS":                    "3",
	}
}

// Calls returns the names of the operations received so far, in order (e.g. "DescribeImages").
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Now is the fake's simulated time: what its timestamps say.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves simulated time on by d, in whole Ticks (a remainder is dropped), stepping every
// service's rollout once per Tick.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range d / Tick {
		s.tickLocked()
	}
}

// SetDelay makes the fake hold every response to op (e.g. "DescribeServices") back by d of real
// time, or until the client gives up on the request; 0 removes the delay.
func (s *Server) SetDelay(op string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[op] = d
}

// Throttle makes the next n calls to op answer as ECS and ECR do when a caller exceeds the
// operation's request rate: HTTP 400 with {"__type": "ThrottlingException", "message": "Rate
// exceeded"} ("ThrottlingException: The request was denied due to request throttling. HTTP Status
// Code: 400", https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html; the
// message is the one ECS sends, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html).
// Later calls are answered normally.
func (s *Server) Throttle(op string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttled[op] = n
}

// SetListingLag keeps each new service deployment out of the first lag ListServiceDeployments
// answers that would list it. The ECS API Reference (RunTask): "The Amazon ECS API follows an
// eventual consistency model ... the result of an API command you run that affects your Amazon
// ECS resources might not be immediately visible to all subsequent commands you run." Observed
// for service deployments: right after an update, Service.currentServiceDeployment can still
// name the previous one (kayac/ecspresso #873, #945). That the listing lags the same way is this
// fake's reading of the general rule, not a case AWS documents; a client must give a new
// deployment a few polls to show up either way.
func (s *Server) SetListingLag(lag int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.listingLag = lag
}

// DenyOperation makes every call to op answer as AWS does when the caller's IAM policies do not
// allow the action: HTTP 400 with __type AccessDeniedException ("You do not have sufficient access
// to perform this action. HTTP Status Code: 400",
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/CommonErrors.html) and IAM's message
// naming the action ("... is not authorized to perform: ecs:ListServiceDeployments on resource: ...
// because no identity-based policy allows the ecs:ListServiceDeployments action",
// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
func (s *Server) DenyOperation(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[op] = true
}

// refusal is the throttling or access-denied answer scripted for op, consuming one throttled call.
func (s *Server) refusal(prefix, op string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[op] {
		service := map[string]string{ecrTargetPrefix: "ecr", ssmTargetPrefix: "ssm", smTargetPrefix: "secretsmanager"}[prefix]
		if service == "" {
			service = "ecs"
		}
		return clientError("AccessDeniedException",
			"User: arn:aws:sts::%s:assumed-role/slipway-deploy/fake is not authorized to perform: %s:%s on resource: * because no identity-based policy allows the %s:%s action",
			Account, service, op, service, op)
	}
	if s.throttled[op] > 0 {
		s.throttled[op]--
		return clientError("ThrottlingException", "Rate exceeded")
	}
	return nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	s.mu.Lock()
	s.calls = append(s.calls, op)
	delay := s.delays[op]
	s.mu.Unlock()

	// Reading the body first lets the server notice a client that gives up during the delay.
	body, err := io.ReadAll(r.Body)
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	out, aerr := s.dispatch(r, prefix, op, body, err)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", s.requestID())
	if aerr != nil {
		w.WriteHeader(aerr.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": aerr.typ, "message": aerr.msg})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) dispatch(r *http.Request, prefix, op string, body []byte, err error) (any, *apiError) {
	if r.Method != http.MethodPost {
		return nil, &apiError{http.StatusMethodNotAllowed, "UnknownOperationException", "only POST is supported"}
	}
	if err != nil {
		return nil, clientError("SerializationException", "read request body: %v", err)
	}
	// The real services reject unsigned requests; failing here catches a client built without credentials.
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		return nil, &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	if aerr := s.refusal(prefix, op); aerr != nil {
		return nil, aerr
	}
	var h func([]byte) (any, *apiError)
	switch prefix {
	case ecrTargetPrefix:
		h = map[string]func([]byte) (any, *apiError){
			"CreateRepository":     handler(s, (*Server).createRepository),
			"DescribeRepositories": handler(s, (*Server).describeRepositories),
			"DescribeImages":       handler(s, (*Server).describeImages),
			"BatchGetImage":        handler(s, (*Server).batchGetImage),
			"PutImage":             handler(s, (*Server).putImage),
			"BatchDeleteImage":     handler(s, (*Server).batchDeleteImage),
		}[op]
	case ecsTargetPrefix:
		h = map[string]func([]byte) (any, *apiError){
			"CreateCluster":              handler(s, (*Server).createCluster),
			"RegisterTaskDefinition":     handler(s, (*Server).registerTaskDefinition),
			"DescribeTaskDefinition":     handler(s, (*Server).describeTaskDefinition),
			"DeregisterTaskDefinition":   handler(s, (*Server).deregisterTaskDefinition),
			"CreateService":              handler(s, (*Server).createService),
			"UpdateService":              handler(s, (*Server).updateService),
			"DeleteService":              handler(s, (*Server).deleteService),
			"DescribeServices":           handler(s, (*Server).describeServices),
			"ListTasks":                  handler(s, (*Server).listTasks),
			"DescribeTasks":              handler(s, (*Server).describeTasks),
			"ListServiceDeployments":     handler(s, (*Server).listServiceDeployments),
			"DescribeServiceDeployments": handler(s, (*Server).describeServiceDeployments),
			"DescribeServiceRevisions":   handler(s, (*Server).describeServiceRevisions),
			"StopServiceDeployment":      handler(s, (*Server).stopServiceDeployment),
		}[op]
	case ssmTargetPrefix:
		if op == "DescribeParameters" {
			h = handler(s, regional(signingRegion(r), (*Server).describeParameters))
		}
	case smTargetPrefix:
		if op == "DescribeSecret" {
			h = handler(s, regional(signingRegion(r), (*Server).describeSecret))
		}
	}
	if h == nil {
		return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("operation %q is not implemented by awsfake", r.Header.Get("X-Amz-Target"))}
	}
	return h(body)
}

// handler decodes a request body into In and runs fn on it with s.mu held.
func handler[In any](s *Server, fn func(*Server, In) (any, *apiError)) func([]byte) (any, *apiError) {
	return func(body []byte) (any, *apiError) {
		var in In
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return fn(s, in)
	}
}

// regional binds fn, an operation of a regional store, to the region of the request.
func regional[In any](region string, fn func(*Server, string, In) (any, *apiError)) func(*Server, In) (any, *apiError) {
	return func(s *Server, in In) (any, *apiError) { return fn(s, region, in) }
}

type apiError struct {
	status int
	typ    string
	msg    string
}

func clientError(typ, format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, typ, fmt.Sprintf(format, args...)}
}

// next returns a fresh sequence number; the caller holds s.mu.
func (s *Server) next() int {
	s.seq++
	return s.seq
}

func (s *Server) requestID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", s.next())
}

// epoch is a timestamp on the wire: AWS JSON protocols send epoch seconds as a JSON number.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64)), nil
}

// fromEpoch reads a timestamp sent as epoch seconds, to the millisecond the fake keeps.
func fromEpoch(sec float64) time.Time {
	return time.UnixMilli(int64(math.Round(sec * 1000))).UTC()
}

// optEpoch is an optional timestamp: nil for the zero time, so omitempty leaves it out.
func optEpoch(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

// lastSegment is what follows the last "/" of an ARN (or the whole of a name).
func lastSegment(s string) string { return s[strings.LastIndexByte(s, '/')+1:] }
