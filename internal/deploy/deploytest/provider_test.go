package deploytest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

// ecsServer answers the ECS JSON protocol for the calls of two deploys,
// numbering revisions from 41 in another account, so that an ARN in the
// stack can only have come from its answers. It records each call as
// "Operation taskDefinition" and the signing scope of each request.
type ecsServer struct {
	mu       sync.Mutex
	revision int
	calls    []string
	scopes   map[string]bool
}

const otherAccount = "210987654321"

func (s *ecsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
	var in struct {
		ClusterName    string `json:"clusterName"`
		ServiceName    string `json:"serviceName"`
		TaskDefinition string `json:"taskDefinition"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, strings.TrimSpace(op+" "+in.TaskDefinition))
	if _, scope, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		s.scopes[strings.Join(strings.Split(scope, "/")[2:4], "/")] = true
	}
	var out any
	switch op {
	case "CreateCluster":
		out = map[string]any{"cluster": map[string]any{"clusterName": in.ClusterName, "clusterArn": "arn:aws:ecs:us-east-1:" + otherAccount + ":cluster/" + in.ClusterName}}
	case "RegisterTaskDefinition":
		s.revision++
		out = map[string]any{"taskDefinition": map[string]any{"family": "api-service", "revision": 40 + s.revision,
			"taskDefinitionArn": fmt.Sprintf("arn:aws:ecs:us-east-1:%s:task-definition/api-service:%d", otherAccount, 40+s.revision)}}
	case "CreateService", "UpdateService":
		out = map[string]any{"service": map[string]any{"serviceName": "api-service", "serviceArn": "arn:aws:ecs:us-east-1:" + otherAccount + ":service/prod-cluster/api-service"}}
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"InvalidParameterException","message":"unexpected %s"}`, op)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// With an ECS endpoint in the environment, the provider's calls go through
// the AWS SDK to it, signed for the stack's aws:region: the task
// definition ARN in the stack is the one ECS answered, and a new SHA
// registers a revision and updates the service to it (skipDestroy: the old
// revision is never deregistered). The engine runs attached to the
// in-process provider: no plugin is installed or downloaded.
func TestProviderCallsECSThroughTheSDK(t *testing.T) {
	srv := &ecsServer{scopes: map[string]bool{}}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_ECS":        hs.URL,
		"AWS_ACCESS_KEY_ID":           "fake",
		"AWS_SECRET_ACCESS_KEY":       "fake",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "eu-west-1", // the provider's aws:region wins
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "1",
	} {
		t.Setenv(k, v)
	}
	rev := func(n int) string {
		return fmt.Sprintf("arn:aws:ecs:us-east-1:%s:task-definition/api-service:%d", otherAccount, n)
	}
	// The engine creates the cluster and the task definition in parallel;
	// the service gets the revision ECS answered.
	tests := []struct {
		name      string
		sha       string
		wantArn   string
		wantCalls []string
	}{
		{"first deploy", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", rev(41), []string{"CreateCluster", "CreateService " + rev(41), "RegisterTaskDefinition"}},
		{"new SHA", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", rev(42), []string{"RegisterTaskDefinition", "UpdateService " + rev(42)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := deploy.Open(context.Background(), deploy.Options{ProjectDir: p.Dir, Stack: p.Stack, Program: deploytest.Program, ImageTagKey: "slipway:imageTag", Env: p.Env})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			srv.mu.Lock()
			srv.calls = nil
			srv.mu.Unlock()
			res, err := s.Up(context.Background(), tt.sha, contract.DeployMessage(tt.sha).String())
			if err != nil {
				t.Fatalf("up %s: %v", tt.sha, err)
			}
			if got := res.Outputs[contract.OutTaskDefinitionArn]; got != tt.wantArn {
				t.Errorf("taskDefinitionArn = %v, want ECS's answer %s", got, tt.wantArn)
			}
			if diff := cmp.Diff(tt.wantCalls, srv.calls, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("ECS calls (-want +got):\n%s", diff)
			}
		})
	}
	if want := map[string]bool{"us-east-1/ecs": true}; !cmp.Equal(srv.scopes, want) {
		t.Errorf("requests signed for %v, want %v", srv.scopes, want)
	}
	if _, ok := p.ECS.Service(p.Stack+"-cluster", "api-service"); ok {
		t.Error("the project's MemoryECS has the service, want every call sent to the endpoint")
	}
	if _, err := os.Stat(filepath.Join(os.Getenv("PULUMI_HOME"), "plugins")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PULUMI_HOME/plugins: %v, want none (the engine attaches to the in-process provider)", err)
	}
}
