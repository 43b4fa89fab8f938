// Package tests holds cross-package tests: the program under the SDK's mock
// monitor (through the same synth path as `deploy synth`), its IAM
// invariants, and its config validation.
package tests

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/infra"
	"github.com/slipway-dev/slipway/internal/project"
	"github.com/slipway-dev/slipway/internal/synth"
)

const (
	sha1 = "0123456789abcdef0123456789abcdef01234567"
	sha2 = "89abcdef0123456789abcdef0123456789abcdef"
)

// root is the project folder (holding Pulumi.yaml).
func root(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// prodConfig is the prod stack's config as the engine would pass it, with
// the image tag and overrides ("key" = slipway:key; "" deletes the key).
func prodConfig(t testing.TB, sha string, overrides map[string]string) map[string]string {
	t.Helper()
	return stackConfig(t, "prod", sha, overrides)
}

// stacks are the example stacks, in CD's order.
var stacks = []string{"staging", "prod"}

// stackConfig is stack's config as the engine would pass it, with the
// image tag and overrides ("key" = slipway:key; "" deletes the key).
func stackConfig(t testing.TB, stack, sha string, overrides map[string]string) map[string]string {
	t.Helper()
	p, err := project.Load(root(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := p.StackConfig(stack)
	if err != nil {
		t.Fatal(err)
	}
	cfg["slipway:imageTag"] = sha
	for k, v := range overrides {
		if !strings.Contains(k, ":") {
			k = "slipway:" + k
		}
		if v == "" {
			delete(cfg, k)
			continue
		}
		cfg[k] = v
	}
	return cfg
}

// synthProd runs the program under mocks with the prod config.
func synthProd(t testing.TB, sha string, overrides map[string]string) synth.Result {
	t.Helper()
	return synthStack(t, "prod", sha, overrides)
}

// synthStack runs the program under mocks with stack's config.
func synthStack(t testing.TB, stack, sha string, overrides map[string]string) synth.Result {
	t.Helper()
	res, err := synth.Run(infra.Program, "slipway", stack, stackConfig(t, stack, sha, overrides))
	if err != nil {
		t.Fatalf("synth %s: %v", stack, err)
	}
	return res
}

func mustGet(t testing.TB, res synth.Result, typ, name string) synth.Resource {
	t.Helper()
	r, ok := res.Get(typ, name)
	if !ok {
		t.Fatalf("no %s %q among %d resources", typ, name, len(res.Resources))
	}
	return r
}

// policyDoc is an IAM policy document as AWS reads it.
type policyDoc struct {
	Version   string
	Statement []policyStatement
}

type policyStatement struct {
	Sid       string
	Effect    string
	Principal map[string]interface{}
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]stringList
}

// stringList is an IAM value: one string or a list of them.
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	var many []string
	err := json.Unmarshal(b, &many)
	*s = many
	return err
}

func parsePolicy(t testing.TB, r synth.Resource, field string) policyDoc {
	t.Helper()
	raw, ok := r.Inputs[field].(string)
	if !ok {
		t.Fatalf("%s %s: input %s is %T, want a JSON string", r.Type, r.Name, field, r.Inputs[field])
	}
	var d policyDoc
	if err := json.Unmarshal([]byte(raw), &d); err != nil {
		t.Fatalf("%s %s: %s is not a policy document: %v\n%s", r.Type, r.Name, field, err, raw)
	}
	if d.Version != "2012-10-17" {
		t.Errorf("%s %s: Version = %q, want 2012-10-17", r.Type, r.Name, d.Version)
	}
	return d
}

// rolePolicy returns the inline policy attached to role (by logical names).
func rolePolicy(t testing.TB, res synth.Result, policyName string) policyDoc {
	t.Helper()
	return parsePolicy(t, mustGet(t, res, "aws:iam/rolePolicy:RolePolicy", policyName), "policy")
}

func trustPolicy(t testing.TB, res synth.Result, roleName string) policyDoc {
	t.Helper()
	return parsePolicy(t, mustGet(t, res, "aws:iam/role:Role", roleName), "assumeRolePolicy")
}

// assumes evaluates a trust policy the way STS does for
// AssumeRoleWithWebIdentity: some Allow statement for the action and the
// federated principal whose every condition holds for the token's claims.
// Only the operators slipway uses are understood; any other fails the test
// so that a new operator cannot slip by unevaluated.
func assumes(t testing.TB, d policyDoc, provider string, claims map[string]string) bool {
	t.Helper()
	for _, s := range d.Statement {
		if s.Effect != "Allow" || !contains(s.Action, "sts:AssumeRoleWithWebIdentity") || s.Principal["Federated"] != provider {
			continue
		}
		ok := true
		for op, keys := range s.Condition {
			for key, values := range keys {
				claim, present := claims[key]
				switch op {
				case "StringEquals":
					ok = ok && present && contains(values, claim)
				case "StringLike":
					matched := false
					for _, v := range values {
						matched = matched || (present && iamGlob(v).MatchString(claim))
					}
					ok = ok && matched
				default:
					t.Fatalf("trust policy uses condition operator %s, which this evaluator does not model", op)
				}
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// iamGlob compiles an IAM StringLike pattern: * is any run of characters
// (slashes included), ? is one character.
func iamGlob(pattern string) *regexp.Regexp {
	q := regexp.QuoteMeta(pattern)
	q = strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(q)
	return regexp.MustCompile("^" + q + "$")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
