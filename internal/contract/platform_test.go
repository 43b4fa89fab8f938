package contract

import "testing"

func TestParseSecretRef(t *testing.T) {
	const sm = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
	tests := []struct {
		valueFrom string
		ok        bool
		want      SecretRef
	}{
		{"arn:aws:ssm:us-east-1:123456789012:parameter/api/key", true,
			SecretRef{Kind: SecretSSM, ARN: "arn:aws:ssm:us-east-1:123456789012:parameter/api/key"}},
		{sm + "db-AbCdEf", true, SecretRef{Kind: SecretsManager, ARN: sm + "db-AbCdEf"}},
		{sm + "db", true, SecretRef{Kind: SecretsManager, ARN: sm + "db-??????"}},
		{sm + "db-AbCdEf:password::", true, SecretRef{Kind: SecretsManager, ARN: sm + "db-AbCdEf", JSONKey: "password"}},
		{sm + "db-AbCdEf:password:AWSPREVIOUS:", true, SecretRef{Kind: SecretsManager, ARN: sm + "db-AbCdEf", JSONKey: "password", VersionStage: "AWSPREVIOUS"}},
		{sm + "db-AbCdEf:::0123-abcd", true, SecretRef{Kind: SecretsManager, ARN: sm + "db-AbCdEf", VersionID: "0123-abcd"}},
		{sm + "db-AbCdEf:k:AWSCURRENT:0123", false, SecretRef{}},
		{sm + "db-AbCdEf:a:b:c:d", false, SecretRef{}},
		{"db-password", false, SecretRef{}},
		{"arn:aws:s3:::bucket/secret", false, SecretRef{}},
	}
	for _, tt := range tests {
		got, ok := ParseSecretRef("X", tt.valueFrom)
		if tt.ok {
			tt.want.Name, tt.want.ValueFrom = "X", tt.valueFrom
		}
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseSecretRef(%q) = %+v, %v; want %+v, %v", tt.valueFrom, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseExposesSecretsAndDefaults(t *testing.T) {
	cfg := map[string]string{
		"aws:region": "us-east-1", "github:owner": "o", "slipway:githubOwner": "o", "slipway:githubRepo": "r",
		"slipway:imageTag": "0123456789abcdef0123456789abcdef01234567", "slipway:stateBucket": "state", "slipway:slipwayRef": "0123456789abcdef0123456789abcdef01234567",
		"slipway:secrets": `{"B":"arn:aws:ssm:us-east-1:123456789012:parameter/b","A":"arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf:k::"}`,
	}
	c, err := ParseMap("prod", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{c.Secrets[0].Name, c.Secrets[1].Name}; got[0] != "A" || got[1] != "B" {
		t.Errorf("secrets in order %v, want [A B]", got)
	}
	checks := []struct {
		what      string
		got, want interface{}
	}{
		{"secret A's JSON key", c.Secrets[0].JSONKey, "k"},
		{"NAT gateways", c.NATGateways, 1},
		{"alarms on", c.Alarms.Enabled, true},
		{"alarm bake inputs", c.Alarms.PeriodSeconds * c.Alarms.EvaluationPeriods, 180},
		{"autoscaling off", c.Autoscaling.Enabled, false},
		{"read-only root", c.ReadonlyRootFilesystem, true},
		{"user", c.ContainerUser, "1000:1000"},
		{"stop timeout", c.StopTimeout, 60},
		{"exec off", c.EnableExec, false},
		{"zones", len(c.AvailabilityZones), 2},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.what, ck.got, ck.want)
		}
	}
}
