package awsx

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
	"github.com/slipway-dev/slipway/internal/contract"
)

// valueReads are the operations that return a parameter's or a secret's value: MissingSecrets must
// call none of them (the fake implements none, so a call would also fail).
var valueReads = []string{"GetParameter", "GetParameters", "GetParametersByPath", "GetParameterHistory", "GetSecretValue", "BatchGetSecretValue"}

// secretRef parses a slipway:secrets entry as the contract does.
func secretRef(t *testing.T, name, valueFrom string) contract.SecretRef {
	t.Helper()
	ref, ok := contract.ParseSecretRef(name, valueFrom)
	if !ok {
		t.Fatalf("ParseSecretRef(%q) refused it", valueFrom)
	}
	return ref
}

func TestParameterNames(t *testing.T) {
	for _, tc := range []struct {
		resource string
		want     []string
	}{
		{"parameter/prod/api/db-password", []string{"/prod/api/db-password"}},
		{"parameter/plain-token", []string{"plain-token", "/plain-token"}},
	} {
		if got := parameterNames(tc.resource); !slices.Equal(got, tc.want) {
			t.Errorf("parameterNames(%q) = %q, want %q", tc.resource, got, tc.want)
		}
	}
}

func TestMissingSecrets(t *testing.T) {
	c, fake := newFakeClient(t)
	fake.PutParameter("/prod/api/db-password")
	fake.PutParameter("plain-token")
	fake.PutParameter("/single")
	fake.PutParameterIn("eu-west-1", "/eu/token")
	apiKey := fake.CreateSecret("prod/api/key", map[string][]string{"v2": {"AWSCURRENT"}, "v1": {"AWSPREVIOUS"}})
	old := fake.CreateSecret("prod/api/old", map[string][]string{"v1": {"AWSCURRENT"}})
	fake.ScheduleSecretDeletion(old)
	empty := fake.CreateSecret("prod/api/empty", nil)
	euKey := fake.CreateSecretIn("eu-west-1", "eu/key", map[string][]string{"v1": {"AWSCURRENT"}})
	deleted := fake.Now().Add(awsfake.RecoveryWindow).Format(time.RFC3339)

	ssmARN := func(region, name string) string {
		return "arn:aws:ssm:" + region + ":" + awsfake.Account + ":parameter/" + name
	}
	partial := func(arn string) string { return arn[:len(arn)-7] }
	missing := func(ref contract.SecretRef, reason string) Missing {
		return Missing{Name: ref.Name, ARN: ref.ARN, Reason: reason}
	}

	for _, tc := range []struct {
		name      string
		valueFrom string
		want      string // the reason it is missing, "" when present
	}{
		{"hierarchical parameter", ssmARN("us-east-1", "prod/api/db-password"), ""},
		{"parameter without a leading slash", ssmARN("us-east-1", "plain-token"), ""},
		{"single-level parameter with a leading slash", ssmARN("us-east-1", "single"), ""},
		{"missing hierarchical parameter", ssmARN("us-east-1", "prod/api/nope"),
			"no SSM parameter /prod/api/nope in account 123456789012, region us-east-1"},
		{"missing single-level parameter", ssmARN("us-east-1", "nope"),
			"no SSM parameter nope or /nope in account 123456789012, region us-east-1"},
		{"parameter of another region", ssmARN("eu-west-1", "eu/token"), ""},
		{"parameter looked up in the ARN's region", ssmARN("eu-west-1", "prod/api/db-password"),
			"no SSM parameter /prod/api/db-password in account 123456789012, region eu-west-1"},
		{"parameter of another account", "arn:aws:ssm:us-east-1:210987654321:parameter/prod/api/db-password",
			"no SSM parameter /prod/api/db-password in account 210987654321, region us-east-1"},
		{"secret by full ARN", apiKey, ""},
		{"secret by partial ARN", partial(apiKey), ""},
		{"secret with a JSON key and a stage", apiKey + ":password:AWSPREVIOUS:", ""},
		{"secret with a version ID", partial(apiKey) + ":password::v1", ""},
		{"missing secret by full ARN", partial(apiKey) + "x-abcdef",
			"no Secrets Manager secret prod/api/keyx-abcdef in account 123456789012, region us-east-1"},
		{"missing secret by partial ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api/nope",
			"no Secrets Manager secret prod/api/nope in account 123456789012, region us-east-1"},
		{"secret scheduled for deletion", old,
			"scheduled for deletion on " + deleted + " (aws secretsmanager restore-secret --secret-id " + old + " cancels it)"},
		{"missing version stage", apiKey + "::AWSPENDING:",
			"no version has the staging label AWSPENDING (staged versions: v1 [AWSPREVIOUS], v2 [AWSCURRENT])"},
		{"missing version ID", apiKey + ":::v0",
			"no version v0 among the secret's staged versions (v1 [AWSPREVIOUS], v2 [AWSCURRENT])"},
		{"secret without a value", empty,
			"no version has the staging label AWSCURRENT (staged versions: none: the secret has no value)"},
		{"secret of another region", partial(euKey), ""},
		{"secret looked up in the ARN's region", strings.Replace(apiKey, "us-east-1", "eu-west-1", 1),
			"no Secrets Manager secret prod/api/key-" + apiKey[len(apiKey)-6:] + " in account 123456789012, region eu-west-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := secretRef(t, "SECRET", tc.valueFrom)
			got, err := c.MissingSecrets(t.Context(), []contract.SecretRef{ref})
			if err != nil {
				t.Fatalf("MissingSecrets: %v", err)
			}
			var want []Missing
			if tc.want != "" {
				want = []Missing{missing(ref, tc.want)}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("MissingSecrets(%s) (-want +got):\n%s", tc.valueFrom, diff)
			}
		})
	}

	calls := fake.Calls()
	for _, op := range calls {
		if slices.Contains(valueReads, op) || (op != "DescribeParameters" && op != "DescribeSecret") {
			t.Errorf("MissingSecrets called %s; want DescribeParameters and DescribeSecret only (calls: %v)", op, calls)
		}
	}
	c.mu.Lock()
	regions := slices.Sorted(maps.Keys(c.stores))
	c.mu.Unlock()
	if want := []string{"eu-west-1", "us-east-1"}; !slices.Equal(regions, want) {
		t.Errorf("secret store clients for regions %v, want one each for %v", regions, want)
	}
}

func TestMissingSecretsErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  func(*awsfake.Server)
		want    []string // substrings of the error, nil for none
		missing []string // the variables reported missing
	}{
		{
			name:    "DescribeSecret denied",
			script:  func(f *awsfake.Server) { f.DenyOperation("DescribeSecret") },
			want:    []string{"check secret API_KEY", "secretsmanager:DescribeSecret was denied: the deploy role needs secretsmanager:DescribeSecret on arn:aws:secretsmanager:", "AccessDeniedException"},
			missing: []string{"MISSING_TOKEN"},
		},
		{
			name:    "DescribeParameters denied",
			script:  func(f *awsfake.Server) { f.DenyOperation("DescribeParameters") },
			want:    []string{"check secret DB_PASSWORD", "check secret MISSING_TOKEN", "ssm:DescribeParameters was denied: the deploy role needs ssm:DescribeParameters on arn:aws:ssm:us-east-1:123456789012:parameter/prod/db"},
			missing: nil,
		},
		{
			name:    "throttled calls are retried",
			script:  func(f *awsfake.Server) { f.Throttle("DescribeParameters", 2); f.Throttle("DescribeSecret", 2) },
			missing: []string{"MISSING_TOKEN"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fake := newFakeClient(t)
			fake.PutParameter("/prod/db")
			key := fake.CreateSecret("prod/key", map[string][]string{"v1": {"AWSCURRENT"}})
			tc.script(fake)
			refs := []contract.SecretRef{
				secretRef(t, "API_KEY", key),
				secretRef(t, "DB_PASSWORD", "arn:aws:ssm:us-east-1:123456789012:parameter/prod/db"),
				secretRef(t, "MISSING_TOKEN", "arn:aws:ssm:us-east-1:123456789012:parameter/prod/nope"),
			}
			got, err := c.MissingSecrets(t.Context(), refs)
			var names []string
			for _, m := range got {
				names = append(names, m.Name)
			}
			if !slices.Equal(names, tc.missing) {
				t.Errorf("missing = %v, want %v", names, tc.missing)
			}
			if tc.want == nil && err != nil {
				t.Fatalf("MissingSecrets: %v", err)
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

// TestMissingSecretsDeadline: a hung secret store ends each lookup at the call deadline with the
// call's name, not after the whole run.
func TestMissingSecretsDeadline(t *testing.T) {
	_, fake := newFakeClient(t)
	c := newClient(t, Timeouts{Attempt: 50 * time.Millisecond, Call: 200 * time.Millisecond, MaxBackoff: time.Millisecond})
	fake.SetDelay("DescribeSecret", time.Minute)
	key := fake.CreateSecret("prod/key", map[string][]string{"v1": {"AWSCURRENT"}})
	start := time.Now()
	_, err := c.MissingSecrets(t.Context(), []contract.SecretRef{secretRef(t, "API_KEY", key)})
	if err == nil || !strings.Contains(err.Error(), "secretsmanager:DescribeSecret") {
		t.Errorf("err = %v, want the DescribeSecret call named", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("MissingSecrets took %s, want about the call deadline (200ms)", d)
	}
}

func TestMissingString(t *testing.T) {
	m := Missing{Name: "API_KEY", ARN: "arn:aws:ssm:us-east-1:123456789012:parameter/k", Reason: "no SSM parameter k or /k"}
	if got, want := m.String(), "API_KEY (arn:aws:ssm:us-east-1:123456789012:parameter/k): no SSM parameter k or /k"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
