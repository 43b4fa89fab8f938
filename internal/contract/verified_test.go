package contract

import (
	"regexp"
	"strings"
	"testing"
)

// tagPattern is the image tag grammar ECR and Docker take.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// Verified tags are valid ECR tags, at most 128 characters, end with the
// SHA, and differ per stack, even for stack names too long or too odd for
// a tag.
func TestVerifiedTag(t *testing.T) {
	long := strings.Repeat("s", 100)
	for _, tc := range []struct {
		stack, want string
	}{
		{"staging", "verified-staging-" + shaA},
		{"prod", "verified-prod-" + shaA},
		{"Pre_prod.2-eu", "verified-Pre_prod.2-eu-" + shaA},
		{strings.Repeat("s", 78), "verified-" + strings.Repeat("s", 78) + "-" + shaA},
		{strings.Repeat("s", 79), ""},
		{long, ""},
		{"bad/stack", ""},
		{"", ""},
	} {
		got := VerifiedTag(tc.stack, shaA)
		if tc.want != "" && got != tc.want {
			t.Errorf("VerifiedTag(%q) = %q, want %q", tc.stack, got, tc.want)
		}
		if !tagPattern.MatchString(got) || !strings.HasPrefix(got, VerifiedTagPrefix) || !strings.HasSuffix(got, "-"+shaA) {
			t.Errorf("VerifiedTag(%q) = %q (%d characters): want a valid tag of at most 128 characters, verified-...-<sha>", tc.stack, got, len(got))
		}
	}
	seen := map[string]string{}
	for _, stack := range []string{"staging", "prod", strings.Repeat("s", 79), strings.Repeat("s", 80), long, long[:99] + "t", "bad/stack", "bad_stack", ""} {
		tag := VerifiedTag(stack, shaA)
		if other, ok := seen[tag]; ok {
			t.Errorf("stacks %q and %q share the verified tag %q", other, stack, tag)
		}
		seen[tag] = stack
	}
}

func TestValidateStack(t *testing.T) {
	for stack, ok := range map[string]bool{
		"staging": true, "prod": true, "Pre_prod.2-eu": true, strings.Repeat("s", 100): true,
		"": false, strings.Repeat("s", 101): false, "acme/prod": false, "prod ": false, "--to": true,
		".": false, "..": false, "pre.prod": true,
	} {
		if err := ValidateStack(stack); (err == nil) != ok {
			t.Errorf("ValidateStack(%q) = %v, want ok %v", stack, err, ok)
		}
	}
}

func TestPlainBackend(t *testing.T) {
	for backend, plain := range map[string]bool{
		"s3://acme-state":                                  false,
		"s3://acme-state/prod?region=us-east-1":            false,
		"s3://acme-state?endpoint=https://minio.internal":  false,
		"s3://acme-state?disableSSL=false":                 false,
		"https://api.pulumi.com":                           false,
		"file:///tmp/state":                                false,
		"http://state.example.com":                         true,
		"HTTP://STATE.EXAMPLE.COM":                         true,
		"s3://acme-state?endpoint=http://minio:9000":       true,
		"s3://acme-state?region=us-east-1&disableSSL=true": true,
		"s3://acme-state?disablessl=1":                     true,
	} {
		if got := PlainBackend(backend); got != plain {
			t.Errorf("PlainBackend(%q) = %v, want %v", backend, got, plain)
		}
	}
}
