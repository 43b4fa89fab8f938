package contract

import (
	"strings"
	"testing"
)

func TestUnknownKeys(t *testing.T) {
	cases := []struct {
		name   string
		config map[string]string
		want   string // the whole error; "" for none
	}{
		{"no keys", nil, ""},
		{"known keys", map[string]string{"slipway:desiredCount": "5", "slipway:imageTag": toolRef}, ""},
		{"known bare key", map[string]string{"desiredCount": "5"}, ""},
		{"other namespaces", map[string]string{"aws:region": "us-east-1", "github:owner": "o", "test:desiredcount": "5"}, ""},
		{"wrong case", map[string]string{"slipway:desiredcount": "5"},
			"config slipway:desiredcount: unknown key, which the program would ignore; did you mean slipway:desiredCount?"},
		{"bare key of wrong case", map[string]string{"desiredcount": "5"},
			"config slipway:desiredcount: unknown key, which the program would ignore; did you mean slipway:desiredCount?"},
		{"wrong case of a short key", map[string]string{"slipway:CPU": "256"},
			"config slipway:CPU: unknown key, which the program would ignore; did you mean slipway:cpu?"},
		{"misspelt", map[string]string{"slipway:desiredCont": "5"},
			"config slipway:desiredCont: unknown key, which the program would ignore; did you mean slipway:desiredCount?"},
		{"transposed and cased", map[string]string{"slipway:Memroy": "1024"},
			"config slipway:Memroy: unknown key, which the program would ignore; did you mean slipway:memory?"},
		{"nearest of several", map[string]string{"slipway:githubOwnerID": "1"},
			"config slipway:githubOwnerID: unknown key, which the program would ignore; did you mean slipway:githubOwnerId?"},
		{"nothing near", map[string]string{"slipway:replicas": "3"},
			"config slipway:replicas: unknown key, which the program would ignore; the keys are listed in the README's config reference and in Pulumi.yaml"},
		{"too far for a short key", map[string]string{"slipway:vpc": "vpc-1"},
			"config slipway:vpc: unknown key, which the program would ignore; the keys are listed in the README's config reference and in Pulumi.yaml"},
		{"every unknown key, sorted", map[string]string{"slipway:replicas": "3", "slipway:imagetag": toolRef, "slipway:cpu": "256"},
			"config slipway:imagetag: unknown key, which the program would ignore; did you mean slipway:imageTag?\n" +
				"config slipway:replicas: unknown key, which the program would ignore; the keys are listed in the README's config reference and in Pulumi.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			if err := UnknownKeys(c.config); err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("UnknownKeys(%v) = %q, want %q", c.config, got, c.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "cpu", 3},
		{"cpu", "cpu", 0},
		{"cpu", "cpus", 1},
		{"memroy", "memory", 2},
		{"kitten", "sitting", 3},
	}
	for _, c := range cases {
		t.Run(c.a+"/"+c.b, func(t *testing.T) {
			if got := editDistance(c.a, c.b); got != c.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
			}
		})
	}
}

// validConfig is a minimal valid stack config as the engine passes it.
func validConfig() map[string]string {
	return map[string]string{
		"aws:region":           "us-east-1",
		"github:owner":         "example-org",
		"slipway:githubOwner":  "example-org",
		"slipway:githubRepo":   "example-api",
		"slipway:stateBucket":  "example-state",
		"slipway:imageTag":     toolRef,
		"slipway:slipwayRef":   toolRef,
		"slipway:desiredCount": "3",
	}
}

func TestParseMapReportsUnknownKeys(t *testing.T) {
	cases := []struct {
		name string
		set  map[string]string
		want []string // fragments of the error, in order; nil for none
	}{
		{"valid", nil, nil},
		{"other namespace", map[string]string{"test:anything": "x"}, nil},
		{"misspelt key", map[string]string{"slipway:desiredcount": "5"},
			[]string{"config slipway:desiredcount: unknown key", "did you mean slipway:desiredCount?"}},
		{"unknown key before the problems it explains", map[string]string{"slipway:githubRepo": "", "slipway:githubrepo": "example-api"},
			[]string{"config slipway:githubrepo: unknown key", "did you mean slipway:githubRepo?", "config slipway:githubRepo: got \"\"", "required"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			config := validConfig()
			for k, v := range c.set {
				config[k] = v
			}
			got, err := ParseMap("prod", config)
			if c.want == nil {
				if err != nil || got.DesiredCount != 3 {
					t.Fatalf("ParseMap: desired count %d, err %v; want 3, no error", got.DesiredCount, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseMap: no error, want %q", c.want)
			}
			rest := err.Error()
			for _, w := range c.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("ParseMap error = %q, want %q (in this order)", err, c.want)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}
