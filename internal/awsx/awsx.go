// Package awsx holds the thin AWS clients slipway's deploy tool needs around `pulumi up`: check that
// an image tag exists in ECR before deploying, and afterwards verify that ECS really runs the new task
// definition. The second check exists because, with the deployment circuit breaker's rollback on,
// ECS's steady-state wait succeeds after a rollback, so `pulumi up` can report success while ECS runs
// the old task definition.
package awsx

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// maxAttempts caps the SDK's retries so a failing check surfaces within seconds, not minutes.
const maxAttempts = 3

// ErrServiceNotFound is wrapped by errors for an ECS service that does not exist (or was deleted).
var ErrServiceNotFound = errors.New("ECS service not found")

// ErrTimeout is wrapped by WaitVerified's error when the rollout did not finish in time.
var ErrTimeout = errors.New("timed out waiting for the ECS deployment")

// ErrImageUnavailable is wrapped by ImageExists when the image exists but
// cannot be pulled (archived).
var ErrImageUnavailable = errors.New("image not available to ECS")

// Client talks to ECR and ECS in one region.
type Client struct {
	region string
	ecr    *ecr.Client
	ecs    *ecs.Client
}

// New loads the default AWS configuration (environment, shared config and credentials files, SSO,
// web identity, IMDS...) for region; an empty region falls back to AWS_REGION or the profile's region.
//
// Endpoints come from the SDK's standard settings, which LoadDefaultConfig and the service clients
// honour: AWS_ENDPOINT_URL, the per-service AWS_ENDPOINT_URL_ECS and AWS_ENDPOINT_URL_ECR (which win
// over the global one), endpoint_url in the shared config, and AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
// Retries keep the SDK's mode and defaults, but never more than 3 attempts; AWS_MAX_ATTEMPTS can
// lower that.
func New(ctx context.Context, region string) (*Client, error) {
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
	if cfg.RetryMaxAttempts == 0 || cfg.RetryMaxAttempts > maxAttempts {
		cfg.RetryMaxAttempts = maxAttempts
	}
	return NewFromConfig(cfg), nil
}

// NewFromConfig builds a Client from an already loaded configuration, used as is.
func NewFromConfig(cfg aws.Config) *Client {
	return &Client{region: cfg.Region, ecr: ecr.NewFromConfig(cfg), ecs: ecs.NewFromConfig(cfg)}
}

// Region is the region the client's requests go to.
func (c *Client) Region() string { return c.region }

// optional leaves empty strings out of requests, so the service applies its default (e.g. the
// "default" cluster) instead of rejecting an empty value.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
