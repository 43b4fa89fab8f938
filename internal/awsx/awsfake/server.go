// Package awsfake is an in-process fake of the slice of ECS and ECR that slipway's deploy tool uses.
// It speaks the AWS JSON 1.1 wire protocol on an httptest server, so the real SDK clients (in this
// process or in a child process) run against it unchanged: point them at it with Env.
//
// Implemented operations: ECR DescribeImages, BatchGetImage, PutImage (a new tag for an image it
// holds); ECS DescribeServices, ListTasks, DescribeTasks, DescribeTaskDefinition. Errors have AWS's
// shape: HTTP 400 with {"__type": "<Exception>", "message": ...}.
package awsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
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

const (
	ecsTargetPrefix = "AmazonEC2ContainerServiceV20141113"
	ecrTargetPrefix = "AmazonEC2ContainerRegistry_V20150921"
)

// Server is a programmable fake of ECS and ECR. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	calls    []string
	seq      int
	repos    map[string]map[string]*image // repository → tag → image
	tagsPut  map[string][]string          // repository → tags PutImage added, in order
	services map[serviceKey]*serviceState
	clusters map[string]bool   // clusters exist once a service was set in them
	taskDefs map[string]string // task definition ARN → its container's image
}

type serviceKey struct{ cluster, service string }

type image struct {
	digest   string
	status   string
	pushedAt time.Time
}

// serviceState is the sequence of specs a service goes through as DescribeServices polls it. The
// last step lasts forever; ListTasks and DescribeTasks see the current step's spec.
type serviceState struct {
	steps  []step
	cur    int
	served int // DescribeServices calls served from steps[cur]
}

type step struct {
	spec  ServiceSpec
	polls int // DescribeServices calls this step serves before the next one takes over
}

// spec is the current spec.
func (st *serviceState) spec() ServiceSpec { return st.steps[st.cur].spec }

// poll returns the spec a DescribeServices call sees and advances the sequence.
func (st *serviceState) poll() ServiceSpec {
	if st.served >= st.steps[st.cur].polls && st.cur < len(st.steps)-1 {
		st.cur, st.served = st.cur+1, 0
	}
	st.served++
	return st.spec()
}

// New starts a fake; Close it when done.
func New() *Server {
	s := &Server{repos: map[string]map[string]*image{}, services: map[serviceKey]*serviceState{}, clusters: map[string]bool{}, taskDefs: map[string]string{}}
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
// in ~/.aws, IMDS, FIPS/dual-stack endpoints and retries.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":                    s.URL(),
		"AWS_ENDPOINT_URL_ECS":                s.URL(),
		"AWS_ENDPOINT_URL_ECR":                s.URL(),
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
		"AWS_MAX_ATTEMPTS":                    "1",
	}
}

// Calls returns the names of the operations received so far, in order (e.g. "DescribeImages").
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// PutImage records tag in repository, creating the repository if needed.
func (s *Server) PutImage(repository, tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repository] == nil {
		s.repos[repository] = map[string]*image{}
	}
	sum := sha256.Sum256([]byte(repository + ":" + tag))
	s.repos[repository][tag] = &image{digest: "sha256:" + hex.EncodeToString(sum[:]), status: "ACTIVE", pushedAt: time.Now()}
}

// SetTaskDefinition registers a task definition whose one container runs image.
func (s *Server) SetTaskDefinition(arn, image string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taskDefs[arn] = image
}

func (s *Server) describeTaskDefinition(in struct {
	TaskDefinition string `json:"taskDefinition"`
}) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	image, ok := s.taskDefs[in.TaskDefinition]
	if !ok {
		return nil, clientError("ClientException", "Unable to describe task definition.")
	}
	return map[string]any{"taskDefinition": map[string]any{
		"taskDefinitionArn":    in.TaskDefinition,
		"containerDefinitions": []map[string]any{{"name": "app", "image": image, "essential": true}},
		"status":               "ACTIVE",
	}}, nil
}

// ArchiveImage moves an existing image to ECR's archive storage class, from which it cannot be pulled.
func (s *Server) ArchiveImage(repository, tag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if img := s.repos[repository][tag]; img != nil {
		img.status = "ARCHIVED"
	}
}

// TaskDefinitionARN returns the ARN ECS gives revision of task definition family.
func TaskDefinitionARN(family string, revision int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", Region, Account, family, revision)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	s.mu.Lock()
	s.calls = append(s.calls, op)
	s.mu.Unlock()

	out, aerr := s.dispatch(r, prefix, op)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", s.requestID())
	if aerr != nil {
		w.WriteHeader(aerr.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": aerr.typ, "message": aerr.msg})
		return
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Server) dispatch(r *http.Request, prefix, op string) (any, *apiError) {
	if r.Method != http.MethodPost {
		return nil, &apiError{http.StatusMethodNotAllowed, "UnknownOperationException", "only POST is supported"}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, clientError("SerializationException", "read request body: %v", err)
	}
	// The real services reject unsigned requests; failing here catches a client built without credentials.
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		return nil, &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	switch prefix + "." + op {
	case ecrTargetPrefix + ".DescribeImages":
		return handle(body, s.describeImages)
	case ecrTargetPrefix + ".BatchGetImage":
		return handle(body, s.batchGetImage)
	case ecrTargetPrefix + ".PutImage":
		return handle(body, s.putImage)
	case ecsTargetPrefix + ".DescribeServices":
		return handle(body, s.describeServices)
	case ecsTargetPrefix + ".ListTasks":
		return handle(body, s.listTasks)
	case ecsTargetPrefix + ".DescribeTasks":
		return handle(body, s.describeTasks)
	case ecsTargetPrefix + ".DescribeTaskDefinition":
		return handle(body, s.describeTaskDefinition)
	}
	return nil, &apiError{http.StatusBadRequest, "UnknownOperationException", fmt.Sprintf("operation %q is not implemented by awsfake", r.Header.Get("X-Amz-Target"))}
}

// handle decodes a request body into In and runs fn on it.
func handle[In any](body []byte, fn func(In) (any, *apiError)) (any, *apiError) {
	var in In
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{http.StatusBadRequest, "SerializationException", err.Error()}
	}
	return fn(in)
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
