package awsx

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-dev/slipway/internal/contract"
)

// Missing is a secret of slipway:secrets that ECS could not give the task: no such parameter or
// secret, a secret scheduled for deletion, or a secret without the version the reference asks for.
type Missing struct {
	Name   string // the environment variable
	ARN    string // the parameter or secret as referenced (contract.SecretRef.ARN)
	Reason string // why it counts as missing
}

func (m Missing) String() string { return m.Name + " (" + m.ARN + "): " + m.Reason }

// partialSuffix ends a Secrets Manager ARN that contract.ParseSecretRef read without the secret's
// six random characters.
const partialSuffix = "-??????"

// currentStage is the staging label ECS reads when a reference names no version.
const currentStage = "AWSCURRENT"

// MissingSecrets checks, before a deploy, that every secret in refs exists, by describing it: SSM
// DescribeParameters and Secrets Manager DescribeSecret, never a call that reads a value. It returns
// the refs whose secret is missing. An error (access denied, throttled past the retries, a deadline)
// is not a verdict: it names the call, the variable and the ARN, and is joined with the others;
// the refs that could be checked are still returned.
//
// Each secret is looked up in its ARN's region (clients are kept per region) within its own call
// deadline (Timeouts.Call).
//
//   - An SSM parameter ARN arn:aws:ssm:REGION:ACCOUNT:parameter/NAME is the parameter /NAME when
//     NAME has a slash (hierarchical names start with one, which the ARN's separator stands for),
//     else the parameter NAME or /NAME, which share that ARN. The parameter must be listed with
//     that ARN: DescribeParameters lists the caller's own account's parameters.
//   - A Secrets Manager ARN is described as it is; one without its random suffix (ending in
//     "-??????") is described by the partial ARN, the suffix left out, which DescribeSecret resolves
//     as GetSecretValue does for ECS, within the ARN's account and region. A secret scheduled for
//     deletion is missing, and so is one without the referenced version stage or version ID among
//     its staged versions (VersionIdsToStages), AWSCURRENT when the reference names neither. A JSON
//     key cannot be checked without reading the value, so it is not.
func (c *Client) MissingSecrets(ctx context.Context, refs []contract.SecretRef) ([]Missing, error) {
	var missing []Missing
	var errs []error
	for _, ref := range refs {
		reason, err := c.missingSecret(ctx, ref)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("check secret %s (%s): %w", ref.Name, ref.ARN, err))
		case reason != "":
			missing = append(missing, Missing{Name: ref.Name, ARN: ref.ARN, Reason: reason})
		}
	}
	return missing, errors.Join(errs...)
}

// missingSecret is why ref's secret is missing, or "" when it exists.
func (c *Client) missingSecret(ctx context.Context, ref contract.SecretRef) (string, error) {
	ctx, cancel := c.call(ctx)
	defer cancel()
	a, err := arn.Parse(ref.ARN)
	if err != nil {
		return "", fmt.Errorf("not an ARN: %w", err)
	}
	switch {
	case ref.Kind == contract.SecretSSM && a.Service == "ssm" && strings.HasPrefix(a.Resource, "parameter/"):
		return c.missingParameter(ctx, ref, a)
	case ref.Kind == contract.SecretsManager && a.Service == "secretsmanager" && strings.HasPrefix(a.Resource, "secret:"):
		return c.missingSecretsManager(ctx, ref, a)
	}
	return "", fmt.Errorf("not an SSM parameter or Secrets Manager secret ARN (kind %q)", ref.Kind)
}

// parameterNames are the names of the parameter an ARN's resource (parameter/NAME) can be.
func parameterNames(resource string) []string {
	name := strings.TrimPrefix(resource, "parameter/")
	if strings.Contains(name, "/") {
		return []string{"/" + name}
	}
	return []string{name, "/" + name}
}

func (c *Client) missingParameter(ctx context.Context, ref contract.SecretRef, a arn.ARN) (string, error) {
	names := parameterNames(a.Resource)
	pages := ssm.NewDescribeParametersPaginator(c.storesIn(a.Region).ssm, &ssm.DescribeParametersInput{
		ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Name"), Option: aws.String("Equals"), Values: names}},
	})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return "", describeError("ssm:DescribeParameters", ref.ARN, err)
		}
		for _, p := range out.Parameters {
			if slices.Contains(names, aws.ToString(p.Name)) && (p.ARN == nil || *p.ARN == ref.ARN) {
				return "", nil
			}
		}
	}
	return fmt.Sprintf("no SSM parameter %s in account %s, region %s", strings.Join(names, " or "), a.AccountID, a.Region), nil
}

func (c *Client) missingSecretsManager(ctx context.Context, ref contract.SecretRef, a arn.ARN) (string, error) {
	out, err := c.storesIn(a.Region).sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{
		SecretId: aws.String(strings.TrimSuffix(ref.ARN, partialSuffix)),
	})
	var notFound *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &notFound):
		return fmt.Sprintf("no Secrets Manager secret %s in account %s, region %s",
			strings.TrimSuffix(strings.TrimPrefix(a.Resource, "secret:"), partialSuffix), a.AccountID, a.Region), nil
	case err != nil:
		return "", describeError("secretsmanager:DescribeSecret", ref.ARN, err)
	case out.DeletedDate != nil:
		return fmt.Sprintf("scheduled for deletion on %s (aws secretsmanager restore-secret --secret-id %s cancels it)",
			out.DeletedDate.UTC().Format(time.RFC3339), aws.ToString(out.ARN)), nil
	}
	stage := ref.VersionStage
	if stage == "" && ref.VersionID == "" {
		stage = currentStage
	}
	switch {
	case ref.VersionID != "" && out.VersionIdsToStages[ref.VersionID] == nil:
		return fmt.Sprintf("no version %s among the secret's staged versions (%s)", ref.VersionID, staged(out.VersionIdsToStages)), nil
	case stage != "" && !hasStage(out.VersionIdsToStages, stage):
		return fmt.Sprintf("no version has the staging label %s (staged versions: %s)", stage, staged(out.VersionIdsToStages)), nil
	}
	return "", nil
}

func hasStage(versions map[string][]string, stage string) bool {
	for _, stages := range versions {
		if slices.Contains(stages, stage) {
			return true
		}
	}
	return false
}

// staged lists versions as "ID [STAGE ...]", sorted by ID.
func staged(versions map[string][]string) string {
	if len(versions) == 0 {
		return "none: the secret has no value"
	}
	var out []string
	for _, id := range slices.Sorted(maps.Keys(versions)) {
		out = append(out, id+" ["+strings.Join(versions[id], " ")+"]")
	}
	return strings.Join(out, ", ")
}

// describeError names the failed call; when IAM denied it, it says which permission the deploy role
// lacks.
func describeError(action, resource string, err error) error {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
		return fmt.Errorf("%s was denied: the deploy role needs %s on %s to check the secret before a deploy: %w", action, action, resource, err)
	}
	return fmt.Errorf("%s: %w", action, err)
}

// secretStores are the SSM and Secrets Manager clients of one region.
type secretStores struct {
	ssm *ssm.Client
	sm  *secretsmanager.Client
}

// storesIn returns the clients for region, built on first use from the Client's configuration (its
// credentials, endpoints, HTTP client and retryer).
func (c *Client) storesIn(region string) *secretStores {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stores[region]; st != nil {
		return st
	}
	cfg := c.cfg.Copy()
	cfg.Region = region
	st := &secretStores{ssm: ssm.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg)}
	if c.stores == nil {
		c.stores = map[string]*secretStores{}
	}
	c.stores[region] = st
	return st
}
