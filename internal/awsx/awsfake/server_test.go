package awsfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
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

func TestErrorShapes(t *testing.T) {
	s := New()
	defer s.Close()
	s.PutImage("api-service", "abc123")
	s.PutImage("api-service", "old")
	s.ArchiveImage("api-service", "old")
	s.Deploy("prod", "api-service", TaskDefinitionARN("api-service", 1))

	for _, tc := range []struct {
		name, target, body, auth string
		status                   int
		typ                      string
	}{
		{"image not found", ecrTargetPrefix + ".DescribeImages", `{"repositoryName":"api-service","imageIds":[{"imageTag":"nope"}]}`, fakeAuth, 400, "ImageNotFoundException"},
		{"archived image, no status filter (ACTIVE only)", ecrTargetPrefix + ".DescribeImages", `{"repositoryName":"api-service","imageIds":[{"imageTag":"old"}]}`, fakeAuth, 400, "ImageNotFoundException"},
		{"repository not found", ecrTargetPrefix + ".DescribeImages", `{"repositoryName":"nope","imageIds":[{"imageTag":"abc123"}]}`, fakeAuth, 400, "RepositoryNotFoundException"},
		{"cluster not found", ecsTargetPrefix + ".DescribeServices", `{"cluster":"staging","services":["api-service"]}`, fakeAuth, 400, "ClusterNotFoundException"},
		{"service not found in ListTasks", ecsTargetPrefix + ".ListTasks", `{"cluster":"prod","serviceName":"nope"}`, fakeAuth, 400, "ServiceNotFoundException"},
		{"too many tasks", ecsTargetPrefix + ".DescribeTasks", `{"cluster":"prod","tasks":[` + strings.Repeat(`"t",`, 100) + `"t"]}`, fakeAuth, 400, "InvalidParameterException"},
		{"malformed body", ecsTargetPrefix + ".DescribeServices", `{`, fakeAuth, 400, "SerializationException"},
		{"unknown operation", ecsTargetPrefix + ".UpdateService", `{}`, fakeAuth, 400, "UnknownOperationException"},
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

func TestTimestampsAreEpochSecondNumbers(t *testing.T) {
	s := New()
	defer s.Close()
	s.RollBack("prod", "api-service", TaskDefinitionARN("api-service", 2), TaskDefinitionARN("api-service", 1))

	_, out := post(t, s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["api-service"]}`, fakeAuth)
	svc := out["services"].([]any)[0].(map[string]any)
	deployment := svc["deployments"].([]any)[0].(map[string]any)
	event := svc["events"].([]any)[0].(map[string]any)

	_, list := post(t, s, ecsTargetPrefix+".ListTasks", `{"cluster":"prod","serviceName":"api-service","desiredStatus":"STOPPED"}`, fakeAuth)
	arns := list["taskArns"].([]any)
	if len(arns) != 2 {
		t.Fatalf("ListTasks = %v, want 2 stopped tasks", list)
	}
	_, tasks := post(t, s, ecsTargetPrefix+".DescribeTasks", fmt.Sprintf(`{"cluster":"prod","tasks":[%q]}`, arns[0]), fakeAuth)
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

func TestListTasksIsRunningOnlyByDefault(t *testing.T) {
	s := New()
	defer s.Close()
	s.RollBack("prod", "api-service", TaskDefinitionARN("api-service", 2), TaskDefinitionARN("api-service", 1))
	_, out := post(t, s, ecsTargetPrefix+".ListTasks", `{"cluster":"prod","serviceName":"api-service"}`, fakeAuth)
	if arns := out["taskArns"].([]any); len(arns) != 0 {
		t.Errorf("ListTasks without desiredStatus = %v, want no tasks (the fake has no running ones)", arns)
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
		"AWS_ENDPOINT_URL": s.URL(), "AWS_REGION": Region, "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_ACCESS_KEY_ID": "fake", "AWS_SECRET_ACCESS_KEY": "fake",
	} {
		if env[k] != want {
			t.Errorf("Env()[%s] = %q, want %q", k, env[k], want)
		}
	}
}

// TestConcurrentUse is meant for -race: programming the fake while requests are served.
func TestConcurrentUse(t *testing.T) {
	s := New()
	defer s.Close()
	s.Deploy("prod", "api-service", TaskDefinitionARN("api-service", 1))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				switch (i + j) % 4 {
				case 0:
					s.Deploy("prod", "api-service", TaskDefinitionARN("api-service", j))
				case 1:
					s.RollBackAfter("prod", "api-service", TaskDefinitionARN("api-service", j+1), TaskDefinitionARN("api-service", j), 1)
				case 2:
					s.PutImage("api-service", fmt.Sprint(j))
				default:
					s.Calls()
				}
				if status, out, err := send(s, ecsTargetPrefix+".DescribeServices", `{"cluster":"prod","services":["api-service"]}`, fakeAuth); err != nil || status != 200 {
					t.Errorf("DescribeServices = %d %v %v", status, out, err)
				}
				if status, out, err := send(s, ecsTargetPrefix+".ListTasks", `{"cluster":"prod","serviceName":"api-service","desiredStatus":"STOPPED"}`, fakeAuth); err != nil || status != 200 {
					t.Errorf("ListTasks = %d %v %v", status, out, err)
				}
			}
		})
	}
	wg.Wait()
}
