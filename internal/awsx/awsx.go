// Package awsx holds the thin AWS clients slipway's deploy tool needs around `pulumi up`: check that
// an image tag exists in ECR and that the task's secrets exist in SSM Parameter Store and Secrets
// Manager before deploying, and afterwards verify that ECS really runs the new task
// definition. The second check exists because, with the deployment circuit breaker's rollback on,
// ECS's steady-state wait succeeds after a rollback, so `pulumi up` can report success while ECS runs
// the old task definition.
package awsx

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Deadlines and retries of AWS calls. Every HTTP attempt has its own deadline, so an endpoint that
// accepts the connection and never answers costs one attempt, not the whole run; throttling, 5xx
// answers and timed-out attempts are retried with the SDK's exponential backoff with jitter (at most
// DefaultMaxBackoff apart) until the attempts run out or the operation's deadline passes: the
// caller's context, within DefaultCallTimeout for the one-shot calls (ImageExists, ImageDigest, AddTag, Service,
// StoppedTasks, Images, InFlight, StopRollout, each secret MissingSecrets looks up) and the wait's
// own timeout for WaitVerified.
const (
	// DefaultAttemptTimeout bounds one HTTP attempt, connection to last byte. ECS and ECR answer
	// the calls made here in well under a second; 20 s leaves room for a slow network.
	DefaultAttemptTimeout = 20 * time.Second
	// DefaultCallTimeout bounds a one-shot call with all its retries: about six attempts of a hung
	// endpoint, or a minute or two of throttling, before the deploy gives up with the operation's name.
	DefaultCallTimeout = 2 * time.Minute
	// DefaultMaxBackoff is the longest wait between two attempts (the SDK's default).
	DefaultMaxBackoff = retry.DefaultMaxBackoff
	// DefaultMaxAttempts is how many attempts a call makes unless AWS_MAX_ATTEMPTS (or
	// max_attempts in the shared config) says otherwise: enough that DefaultCallTimeout, not the
	// count, ends a call against a throttled or hung endpoint.
	DefaultMaxAttempts = 10
)

// Timeouts are the deadlines of a Client's AWS calls; zero fields take the defaults above. Tests
// shorten them to milliseconds.
type Timeouts struct {
	Attempt    time.Duration // one HTTP attempt (DefaultAttemptTimeout)
	Call       time.Duration // a one-shot call with all its retries (DefaultCallTimeout)
	MaxBackoff time.Duration // the longest wait between attempts (DefaultMaxBackoff)
}

func (t Timeouts) withDefaults() Timeouts {
	return Timeouts{
		Attempt:    cmp.Or(t.Attempt, DefaultAttemptTimeout),
		Call:       cmp.Or(t.Call, DefaultCallTimeout),
		MaxBackoff: cmp.Or(t.MaxBackoff, DefaultMaxBackoff),
	}
}

// ErrServiceNotFound is wrapped by errors for an ECS service that does not exist (or was deleted).
var ErrServiceNotFound = errors.New("ECS service not found")

// ErrTimeout is wrapped by WaitVerified's error when the rollout did not finish in time.
var ErrTimeout = errors.New("timed out waiting for the ECS deployment")

// ErrImageUnavailable is wrapped by ImageExists when the image exists but
// cannot be pulled (archived).
var ErrImageUnavailable = errors.New("image not available to ECS")

// Client talks to ECR and ECS in one region, and to SSM and Secrets Manager in the regions of the
// secrets it checks.
type Client struct {
	region   string
	ecr      *ecr.Client
	ecs      *ecs.Client
	timeouts Timeouts

	cfg    aws.Config // what the per-region secret store clients are built from
	mu     sync.Mutex
	stores map[string]*secretStores // region → its SSM and Secrets Manager clients
}

// New loads the default AWS configuration (environment, shared config and credentials files, SSO,
// web identity, IMDS...) for region, with the default Timeouts; an empty region falls back to
// AWS_REGION or the profile's region.
//
// Endpoints come from the SDK's standard settings, which LoadDefaultConfig and the service clients
// honour: AWS_ENDPOINT_URL, the per-service AWS_ENDPOINT_URL_ECS, AWS_ENDPOINT_URL_ECR,
// AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_SECRETS_MANAGER (which win over the global one), endpoint_url in the shared config, and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
//
// Retries use the SDK's standard retryer without its client-side retry quota (a long verification
// must not run out of retry tokens): DefaultMaxAttempts attempts per call, or exactly
// AWS_MAX_ATTEMPTS (max_attempts in the shared config) when set, e.g. 1 to never retry. Either
// way the call's deadline ends the retries first when it comes first.
func New(ctx context.Context, region string) (*Client, error) {
	return NewWithTimeouts(ctx, region, Timeouts{})
}

// NewWithTimeouts is New with the given deadlines.
func NewWithTimeouts(ctx context.Context, region string, t Timeouts) (*Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: pass one or set AWS_REGION")
	}
	t = t.withDefaults()
	attempts := cmp.Or(cfg.RetryMaxAttempts, DefaultMaxAttempts)
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(t.Attempt)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = t.MaxBackoff
			o.RateLimiter = ratelimit.None
		})
	}
	c := NewFromConfig(cfg)
	c.timeouts = t
	return c, nil
}

// NewFromConfig builds a Client from an already loaded configuration, used as is (its HTTP client
// and retryer decide the attempts), with DefaultCallTimeout for the one-shot calls.
func NewFromConfig(cfg aws.Config) *Client {
	return &Client{region: cfg.Region, ecr: ecr.NewFromConfig(cfg), ecs: ecs.NewFromConfig(cfg), timeouts: Timeouts{}.withDefaults(), cfg: cfg}
}

// Region is the region the client's requests go to.
func (c *Client) Region() string { return c.region }

// call bounds a one-shot call, retries included, by the client's call deadline.
func (c *Client) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.timeouts.Call)
}

// optional leaves empty strings out of requests, so the service applies its default (e.g. the
// "default" cluster) instead of rejecting an empty value.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
