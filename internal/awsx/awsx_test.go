package awsx

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
)

// fast are deadlines that let retry and timeout tests run in milliseconds.
var fast = Timeouts{Attempt: 5 * time.Second, Call: 10 * time.Second, MaxBackoff: time.Millisecond}

// newFakeClient starts a fake and builds a Client through NewWithTimeouts(fast), i.e. through
// LoadDefaultConfig and the standard endpoint environment variables as the deploy tool does, with
// AWS_MAX_ATTEMPTS unset (the fake's Env sets 1), so calls retry as in production.
func newFakeClient(t *testing.T) (*Client, *awsfake.Server) {
	t.Helper()
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	for k, v := range fake.Env() {
		t.Setenv(k, v)
	}
	os.Unsetenv("AWS_MAX_ATTEMPTS")
	return newClient(t, fast), fake
}

// newClient builds a Client from the environment with the given deadlines.
func newClient(t *testing.T, timeouts Timeouts) *Client {
	t.Helper()
	c, err := NewWithTimeouts(t.Context(), "", timeouts)
	if err != nil {
		t.Fatalf("NewWithTimeouts: %v", err)
	}
	return c
}

func TestNewHonoursEndpointEnv(t *testing.T) {
	// Nothing listens on port 1: a call reaches the fake only through the variable under test.
	const dead = "http://127.0.0.1:1"
	for _, tc := range []struct {
		name string
		env  func(fakeURL string) map[string]string // "" means unset
	}{
		{name: "AWS_ENDPOINT_URL alone", env: func(u string) map[string]string {
			return map[string]string{"AWS_ENDPOINT_URL": u, "AWS_ENDPOINT_URL_ECS": "", "AWS_ENDPOINT_URL_ECR": ""}
		}},
		{name: "per-service variables win over AWS_ENDPOINT_URL", env: func(u string) map[string]string {
			return map[string]string{"AWS_ENDPOINT_URL": dead, "AWS_ENDPOINT_URL_ECS": u, "AWS_ENDPOINT_URL_ECR": u}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fake := newFakeClient(t)
			for k, v := range tc.env(fake.URL()) {
				t.Setenv(k, v) // also restores the variable after the test
				if v == "" {
					os.Unsetenv(k)
				}
			}
			c, err := New(t.Context(), "us-east-1")
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			fake.CreateRepository("api-service", awsfake.Immutable)
			fake.PushImage("api-service", "abc123")
			fake.SetService("prod", "api-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdOld, Desired: 1, Running: 1}})
			if _, err := c.ImageExists(t.Context(), "api-service", "abc123"); err != nil {
				t.Errorf("ImageExists: %v", err)
			}
			if _, err := c.Service(t.Context(), "prod", "api-service"); err != nil {
				t.Errorf("Service: %v", err)
			}
			if got, want := strings.Join(fake.Calls(), ","), "DescribeImages,DescribeServices"; got != want {
				t.Errorf("calls = %s, want %s", got, want)
			}
		})
	}
}

func TestNewRegion(t *testing.T) {
	newFakeClient(t)
	for _, tc := range []struct{ arg, env, want string }{
		{arg: "eu-west-1", env: "us-east-1", want: "eu-west-1"},
		{arg: "", env: "us-west-2", want: "us-west-2"},
	} {
		t.Setenv("AWS_REGION", tc.env)
		c, err := New(t.Context(), tc.arg)
		if err != nil {
			t.Fatalf("New(%q): %v", tc.arg, err)
		}
		if got := c.Region(); got != tc.want {
			t.Errorf("New(%q) with AWS_REGION=%s: region = %q, want %q", tc.arg, tc.env, got, tc.want)
		}
	}

	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	if _, err := New(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "region") {
		t.Errorf("New without any region: err = %v, want an error about the region", err)
	}
}

func TestNewRetryAttempts(t *testing.T) {
	newFakeClient(t)
	for _, tc := range []struct {
		env  string
		want int
	}{
		{env: "", want: DefaultMaxAttempts},
		{env: "25", want: 25},
		{env: "2", want: 2},
		{env: "1", want: 1},
	} {
		t.Run("AWS_MAX_ATTEMPTS="+tc.env, func(t *testing.T) {
			t.Setenv("AWS_MAX_ATTEMPTS", tc.env)
			if tc.env == "" {
				os.Unsetenv("AWS_MAX_ATTEMPTS")
			}
			c, err := New(t.Context(), "")
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			for name, got := range map[string]int{
				"ECS": c.ecs.Options().Retryer.MaxAttempts(),
				"ECR": c.ecr.Options().Retryer.MaxAttempts(),
			} {
				if got != tc.want {
					t.Errorf("%s max attempts = %d, want %d", name, got, tc.want)
				}
			}
		})
	}
}

// TestHungEndpoint: an endpoint that accepts requests and never answers fails each call within its
// deadline, with an error naming the operation, after retrying the timed-out attempts.
func TestHungEndpoint(t *testing.T) {
	short := Timeouts{Attempt: 20 * time.Millisecond, Call: 300 * time.Millisecond, MaxBackoff: time.Millisecond}
	for _, tc := range []struct {
		name, op string
		call     func(context.Context, *Client) error
	}{
		{name: "ImageExists", op: "DescribeImages", call: func(ctx context.Context, c *Client) error {
			_, err := c.ImageExists(ctx, "api-service", "abc123")
			return err
		}},
		{name: "AddTag", op: "BatchGetImage", call: func(ctx context.Context, c *Client) error {
			return c.AddTag(ctx, "api-service", "abc123", "deployed-abc123")
		}},
		{name: "Service", op: "DescribeServices", call: func(ctx context.Context, c *Client) error {
			_, err := c.Service(ctx, "prod", "api-service")
			return err
		}},
		{name: "InFlight", op: "ListServiceDeployments", call: func(ctx context.Context, c *Client) error {
			_, _, err := c.InFlight(ctx, "prod", "api-service")
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, fake := newFakeClient(t)
			// Attempts enough for hours: the call's deadline, not their count, must end the call.
			t.Setenv("AWS_MAX_ATTEMPTS", "100000")
			c := newClient(t, short)
			fake.CreateRepository("api-service", awsfake.Immutable)
			fake.PushImage("api-service", "abc123")
			fake.SetService("prod", "api-service", awsfake.ServiceSpec{Primary: awsfake.Deployment{TaskDefinition: tdOld, Desired: 1, Running: 1}})
			fake.SetDelay(tc.op, time.Hour)
			done := make(chan error, 1)
			go func() { done <- tc.call(t.Context(), c) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatalf("%s did not come back from a hung %s", tc.name, tc.op)
			}
			if err == nil || !strings.Contains(err.Error(), "operation error") || !strings.Contains(err.Error(), tc.op) {
				t.Errorf("err = %v, want the SDK's operation error naming %s", err, tc.op)
			}
			if got := countCalls(fake.Calls(), tc.op); got < 2 {
				t.Errorf("%s attempted %d times, want the timed-out attempt retried", tc.op, got)
			}
		})
	}
}

// TestThrottlingIsRetried: a throttling burst shorter than the attempts is invisible to callers.
func TestThrottlingIsRetried(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.CreateRepository("api-service", awsfake.Immutable)
	fake.PushImage("api-service", "abc123")
	fake.Throttle("DescribeImages", DefaultMaxAttempts-1)
	if ok, err := c.ImageExists(t.Context(), "api-service", "abc123"); !ok || err != nil {
		t.Errorf("ImageExists = %v, %v; want true, nil after the burst", ok, err)
	}
	if got, want := countCalls(fake.Calls(), "DescribeImages"), DefaultMaxAttempts; got != want {
		t.Errorf("DescribeImages called %d times, want %d", got, want)
	}
	fake.Throttle("DescribeImages", DefaultMaxAttempts)
	_, err := c.ImageExists(t.Context(), "api-service", "abc123")
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException") || !strings.Contains(err.Error(), "Rate exceeded") {
		t.Errorf("ImageExists throttled on every attempt: err = %v, want ECS's ThrottlingException", err)
	}
}

func TestImageExists(t *testing.T) {
	c, fake := newFakeClient(t)
	for repo, tag := range map[string]string{"api-service": "abc123", "team/worker": "def456", "old": "v1"} {
		fake.CreateRepository(repo, awsfake.Immutable)
		fake.PushImage(repo, tag)
	}
	fake.ArchiveImage("old", "v1")
	const host = awsfake.Account + ".dkr.ecr.us-east-1.amazonaws.com/"

	for _, tc := range []struct {
		name, repository, tag string
		want                  bool
		wantErr               string // substring; "" means no error
	}{
		{name: "bare name, present", repository: "api-service", tag: "abc123", want: true},
		{name: "bare name, missing tag", repository: "api-service", tag: "nope", want: false},
		{name: "repository URL", repository: host + "api-service", tag: "abc123", want: true},
		{name: "namespaced repository URL", repository: host + "team/worker", tag: "def456", want: true},
		{name: "repository URL, missing tag", repository: host + "team/worker", tag: "abc123", want: false},
		{name: "missing repository", repository: "nope-service", tag: "abc123", wantErr: "ECR repository nope-service not found"},
		{name: "other account's registry", repository: "999999999999.dkr.ecr.us-east-1.amazonaws.com/api-service", tag: "abc123", wantErr: "registry 999999999999"},
		{name: "archived image", repository: "old", tag: "v1", wantErr: "ARCHIVED"},
		{name: "no tag", repository: "api-service", tag: "", wantErr: "no image tag"},
		{name: "no repository", repository: host, tag: "abc123", wantErr: "no ECR repository name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.ImageExists(t.Context(), tc.repository, tc.tag)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ImageExists(%q, %q) = %v, %v; want an error containing %q", tc.repository, tc.tag, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ImageExists(%q, %q) = %v, %v; want %v, nil", tc.repository, tc.tag, got, err, tc.want)
			}
		})
	}
}

func TestAddTag(t *testing.T) {
	const host = awsfake.Account + ".dkr.ecr.us-east-1.amazonaws.com/"
	for _, mutability := range []string{awsfake.Immutable, awsfake.Mutable} {
		t.Run(mutability, func(t *testing.T) {
			c, fake := newFakeClient(t)
			fake.CreateRepository("api-service", mutability)
			fake.PushImage("api-service", "abc123")
			fake.PushImage("api-service", "other")
			fake.CreateRepository("old", mutability)
			fake.PushImage("old", "v1")
			fake.ArchiveImage("old", "v1")

			if err := c.AddTag(t.Context(), host+"api-service", "abc123", "deployed-abc123"); err != nil {
				t.Fatalf("AddTag: %v", err)
			}
			if ok, err := c.ImageExists(t.Context(), host+"api-service", "deployed-abc123"); !ok || err != nil {
				t.Errorf("ImageExists(deployed-abc123) = %v, %v after AddTag; want true, nil", ok, err)
			}
			// ECR refuses the repeat (ImageTagAlreadyExists when IMMUTABLE, ImageAlreadyExists when
			// MUTABLE); AddTag must take either as "already tagged".
			if err := c.AddTag(t.Context(), host+"api-service", "abc123", "deployed-abc123"); err != nil {
				t.Errorf("AddTag again: %v, want nil (the tag is already on the image)", err)
			}
			if got, want := fake.TagsPut("api-service"), []string{"deployed-abc123"}; !slices.Equal(got, want) {
				t.Errorf("tags put %v, want %v", got, want)
			}

			for _, tc := range []struct {
				name, repository, tag, newTag, wantErr string
			}{
				{"missing image", "api-service", "nope", "deployed-nope", "ImageNotFound"},
				{"archived image", "old", "v1", "deployed-v1", "ImageNotFound"},
				{"missing repository", "nope-service", "abc123", "deployed-abc123", "RepositoryNotFoundException"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					err := c.AddTag(t.Context(), host+tc.repository, tc.tag, tc.newTag)
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), tc.tag) {
						t.Errorf("AddTag(%s:%s, %s) = %v, want an error naming %s and containing %q", tc.repository, tc.tag, tc.newTag, err, tc.tag, tc.wantErr)
					}
				})
			}
		})
	}
}

func TestAddTagOnAnotherImage(t *testing.T) {
	const host = awsfake.Account + ".dkr.ecr.us-east-1.amazonaws.com/"
	for _, tc := range []struct {
		mutability string
		wantErr    string // substring; "" means the tag moves, as ECR does in a MUTABLE repository
	}{
		{mutability: awsfake.Immutable, wantErr: "ImageTagAlreadyExistsException"},
		{mutability: awsfake.Mutable},
	} {
		t.Run(tc.mutability, func(t *testing.T) {
			c, fake := newFakeClient(t)
			fake.CreateRepository("api-service", tc.mutability)
			fake.PushImage("api-service", "abc123")
			fake.PushImage("api-service", "other")
			err := c.AddTag(t.Context(), host+"api-service", "other", "abc123")
			if (tc.wantErr == "" && err != nil) || (tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "already on another image"))) {
				t.Errorf("AddTag(other, abc123) = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestImageExistsKeepsSDKError(t *testing.T) {
	c, _ := newFakeClient(t)
	_, err := c.ImageExists(t.Context(), "nope-service", "abc123")
	var notFound *ecrtypes.RepositoryNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("err = %v; want it to wrap *types.RepositoryNotFoundException", err)
	}
}

func TestImageExistsMakesNoECSCalls(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.CreateRepository("api-service", awsfake.Immutable)
	fake.PushImage("api-service", "abc123")
	if _, err := c.ImageExists(t.Context(), "api-service", "abc123"); err != nil {
		t.Fatal(err)
	}
	if got := fake.Calls(); len(got) != 1 || got[0] != "DescribeImages" {
		t.Errorf("calls = %v, want [DescribeImages]", got)
	}
}

func TestSplitRepositoryName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"api-service", "api-service"},
		{"team/api-service", "team/api-service"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service", "api-service"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api-service", "team/api-service"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service:abc123", "api-service"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service@sha256:0123abcd", "api-service"},
		{"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/api-service/", "api-service"},
		{"localhost/api-service", "api-service"},
		{"localhost:5000/api-service:v1", "api-service"},
		{"  api-service\n", "api-service"},
		{"", ""},
	} {
		if _, got := splitRepository(tc.in); got != tc.want {
			t.Errorf("splitRepository(%q) name = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRegistryID(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012"},
		{"123456789012.dkr.ecr-fips.us-east-1.amazonaws.com", "123456789012"},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "123456789012"},
		{"public.ecr.aws", ""},
		{"localhost:5000", ""},
		{"12345.dkr.ecr.us-east-1.amazonaws.com", ""},
		{"12345678901x.dkr.ecr.us-east-1.amazonaws.com", ""},
		{"", ""},
	} {
		if got := registryID(tc.host); got != tc.want {
			t.Errorf("registryID(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

func TestImageDigest(t *testing.T) {
	c, fake := newFakeClient(t)
	const host = awsfake.Account + ".dkr.ecr.us-east-1.amazonaws.com/"
	fake.CreateRepository("api-service", awsfake.Immutable)
	a := fake.PushImage("api-service", "abc123")
	if err := c.AddTag(t.Context(), host+"api-service", "abc123", "verified-staging-abc123"); err != nil {
		t.Fatal(err)
	}
	old := fake.PushImage("api-service", "old")
	fake.ArchiveImage("api-service", "old")

	for _, tc := range []struct {
		name, repository, tag string
		want                  string // the digest; "" for not found
		wantErr               string
	}{
		{name: "tag", repository: host + "api-service", tag: "abc123", want: a},
		{name: "second tag: the same digest", repository: host + "api-service", tag: "verified-staging-abc123", want: a},
		{name: "bare name", repository: "api-service", tag: "abc123", want: a},
		{name: "archived: still its digest", repository: "api-service", tag: "old", want: old},
		{name: "missing tag", repository: "api-service", tag: "nope"},
		{name: "missing repository", repository: host + "nope-service", tag: "abc123", wantErr: "ECR repository nope-service not found"},
		{name: "other account's registry", repository: "999999999999.dkr.ecr.us-east-1.amazonaws.com/api-service", tag: "abc123", wantErr: "registry 999999999999"},
		{name: "no tag", repository: "api-service", wantErr: "no image tag"},
		{name: "no repository", repository: host, tag: "abc123", wantErr: "no ECR repository name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := c.ImageDigest(t.Context(), tc.repository, tc.tag)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ImageDigest(%q, %q) = %q, %v, %v; want an error containing %q", tc.repository, tc.tag, got, found, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want || found != (tc.want != "") {
				t.Fatalf("ImageDigest(%q, %q) = %q, %v, %v; want %q, %v, nil", tc.repository, tc.tag, got, found, err, tc.want, tc.want != "")
			}
		})
	}
	fake.Throttle("DescribeImages", DefaultMaxAttempts)
	if _, _, err := c.ImageDigest(t.Context(), "api-service", "abc123"); err == nil || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Errorf("ImageDigest throttled on every attempt: err = %v, want the ThrottlingException", err)
	}
}
