package awsfake

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func ssmAuth(region string) string {
	return "AWS4-HMAC-SHA256 Credential=fake/20261125/" + region + "/ssm/aws4_request, SignedHeaders=host, Signature=00"
}

func smAuth(region string) string {
	return "AWS4-HMAC-SHA256 Credential=fake/20261125/" + region + "/secretsmanager/aws4_request, SignedHeaders=host, Signature=00"
}

// names lists the Name of each parameter in a DescribeParameters answer.
func names(out map[string]any) []string {
	var got []string
	params, _ := out["Parameters"].([]any)
	for _, p := range params {
		got = append(got, p.(map[string]any)["Name"].(string))
	}
	return got
}

func TestDescribeParameters(t *testing.T) {
	s := New()
	defer s.Close()
	for _, n := range []string{"/prod/api/db", "/prod/api/key", "token", "/token", "/prod/web/key"} {
		s.PutParameter(n)
	}
	s.PutParameter("token") // a new version, not a new parameter
	s.PutParameterIn("eu-west-1", "/prod/api/db")

	for _, tc := range []struct {
		name, body, region string
		want               []string
		next               string
	}{
		{"name equals", `{"ParameterFilters":[{"Key":"Name","Option":"Equals","Values":["/prod/api/db"]}]}`, Region, []string{"/prod/api/db"}, ""},
		{"equals is the default option", `{"ParameterFilters":[{"Key":"Name","Values":["/prod/api/db"]}]}`, Region, []string{"/prod/api/db"}, ""},
		{"a name with and without its leading slash", `{"ParameterFilters":[{"Key":"Name","Option":"Equals","Values":["token","/token"]}]}`, Region, []string{"token", "/token"}, ""},
		{"no such name", `{"ParameterFilters":[{"Key":"Name","Option":"Equals","Values":["/prod/api/nope"]}]}`, Region, nil, ""},
		{"begins with", `{"ParameterFilters":[{"Key":"Name","Option":"BeginsWith","Values":["/prod/api/"]}]}`, Region, []string{"/prod/api/db", "/prod/api/key"}, ""},
		{"contains", `{"ParameterFilters":[{"Key":"Name","Option":"Contains","Values":["key"]}]}`, Region, []string{"/prod/api/key", "/prod/web/key"}, ""},
		{"a page", `{"MaxResults":2}`, Region, []string{"/prod/api/db", "/prod/api/key"}, "2"},
		{"the next page", `{"MaxResults":2,"NextToken":"4"}`, Region, []string{"/prod/web/key"}, ""},
		{"another region", `{}`, "eu-west-1", []string{"/prod/api/db"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, s, ssmTargetPrefix+".DescribeParameters", tc.body, ssmAuth(tc.region))
			if status != 200 {
				t.Fatalf("status %d: %v", status, out)
			}
			if got := names(out); !slices.Equal(got, tc.want) {
				t.Errorf("names = %v, want %v", got, tc.want)
			}
			if got, _ := out["NextToken"].(string); got != tc.next {
				t.Errorf("NextToken = %q, want %q", got, tc.next)
			}
		})
	}

	_, out := post(t, s, ssmTargetPrefix+".DescribeParameters", `{"ParameterFilters":[{"Key":"Name","Values":["token"]}]}`, ssmAuth(Region))
	p := out["Parameters"].([]any)[0].(map[string]any)
	for k, want := range map[string]any{
		"Name": "token", "ARN": "arn:aws:ssm:us-east-1:123456789012:parameter/token", "Type": "SecureString",
		"Version": json.Number("2"), "Tier": "Standard", "DataType": "text",
	} {
		if p[k] != want {
			t.Errorf("%s = %v, want %v", k, p[k], want)
		}
	}
	if _, ok := p["Value"]; ok {
		t.Errorf("DescribeParameters answered a value: %v", p)
	}
	if got, want := ParameterARN("eu-west-1", "/prod/api/db"), "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/api/db"; got != want {
		t.Errorf("ParameterARN = %s, want %s", got, want)
	}
}

func TestDescribeSecret(t *testing.T) {
	s := New()
	defer s.Close()
	arn := s.CreateSecret("prod/api/key", map[string][]string{"v1": {"AWSCURRENT"}, "v0": {}})
	// A name ending in a hyphen and six characters: its partial ARN reads as a complete one.
	odd := s.CreateSecret("prod/db-abcdef", map[string][]string{"v1": {"AWSCURRENT"}})
	old := s.CreateSecret("prod/old", nil)
	s.ScheduleSecretDeletion("prod/old")
	eu := s.CreateSecretIn("eu-west-1", "prod/api/key", map[string][]string{"v9": {"AWSCURRENT"}})

	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api/key-") || !completeSecretARN(arn) {
		t.Errorf("CreateSecret ARN = %s, want the name followed by a hyphen and six characters", arn)
	}
	for _, tc := range []struct {
		name, id, region, want string // want: the ARN found, "" for ResourceNotFoundException
	}{
		{"full ARN", arn, Region, arn},
		{"partial ARN", arn[:len(arn)-7], Region, arn},
		{"name", "prod/api/key", Region, arn},
		{"another region", "prod/api/key", "eu-west-1", eu},
		{"an ARN of another region", arn, "eu-west-1", ""},
		{"no such name", "prod/api/nope", Region, ""},
		{"a wrong suffix", arn[:len(arn)-6] + "zzzzzz", Region, ""},
		{"partial ARN of a name that looks suffixed", odd[:len(odd)-7], Region, ""},
		{"full ARN of a name that looks suffixed", odd, Region, odd},
		{"scheduled for deletion", old, Region, old},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, s, smTargetPrefix+".DescribeSecret", `{"SecretId":"`+tc.id+`"}`, smAuth(tc.region))
			if tc.want == "" {
				if status != 400 || out["__type"] != "ResourceNotFoundException" || out["message"] != "Secrets Manager can't find the specified secret." || len(out) != 2 {
					t.Errorf("got %d %v, want 400 ResourceNotFoundException", status, out)
				}
				return
			}
			if status != 200 || out["ARN"] != tc.want {
				t.Errorf("got %d %v, want the secret %s", status, out, tc.want)
			}
			if _, ok := out["SecretString"]; ok {
				t.Errorf("DescribeSecret answered a value: %v", out)
			}
		})
	}

	_, out := post(t, s, smTargetPrefix+".DescribeSecret", `{"SecretId":"`+arn+`"}`, smAuth(Region))
	if got, _ := json.Marshal(out["VersionIdsToStages"]); string(got) != `{"v1":["AWSCURRENT"]}` {
		t.Errorf("VersionIdsToStages = %s, want the staged versions only", got)
	}
	if _, ok := out["DeletedDate"]; ok {
		t.Errorf("DeletedDate set on a secret not scheduled for deletion: %v", out)
	}
	_, out = post(t, s, smTargetPrefix+".DescribeSecret", `{"SecretId":"prod/old"}`, smAuth(Region))
	deleted, _ := epoch(s.Now().Add(RecoveryWindow)).MarshalJSON()
	if got, want := out["DeletedDate"], json.Number(deleted); got != want {
		t.Errorf("DeletedDate = %v, want %v (RecoveryWindow from now)", got, want)
	}
	if _, ok := out["VersionIdsToStages"]; ok {
		t.Errorf("VersionIdsToStages on a secret without versions: %v", out)
	}
}

func TestSecretStoreErrors(t *testing.T) {
	s := New()
	defer s.Close()
	s.PutParameter("/prod/db")
	s.CreateSecret("prod/key", map[string][]string{"v1": {"AWSCURRENT"}})
	s.DenyOperation("DescribeSecret")
	auth := ssmAuth(Region)
	for _, tc := range []struct {
		name, target, body, typ, msg string
	}{
		{"filter key", ssmTargetPrefix + ".DescribeParameters", `{"ParameterFilters":[{"Key":"Type","Values":["SecureString"]}]}`, "InvalidFilterKey", "The specified key isn't valid"},
		{"filter option", ssmTargetPrefix + ".DescribeParameters", `{"ParameterFilters":[{"Key":"Name","Option":"Recursive","Values":["/prod"]}]}`, "InvalidFilterOption", "The specified filter option isn't valid."},
		{"filter value", ssmTargetPrefix + ".DescribeParameters", `{"ParameterFilters":[{"Key":"Name","Values":[]}]}`, "InvalidFilterValue", "The filter value isn't valid."},
		{"next token", ssmTargetPrefix + ".DescribeParameters", `{"NextToken":"x"}`, "InvalidNextToken", "The specified token isn't valid."},
		{"max results", ssmTargetPrefix + ".DescribeParameters", `{"MaxResults":51}`, "ValidationException", "less than or equal to 50"},
		{"denied", smTargetPrefix + ".DescribeSecret", `{"SecretId":"prod/key"}`, "AccessDeniedException", "is not authorized to perform: secretsmanager:DescribeSecret"},
		{"GetParameter is not served", ssmTargetPrefix + ".GetParameter", `{"Name":"/prod/db","WithDecryption":true}`, "UnknownOperationException", "not implemented by awsfake"},
		{"GetParameters is not served", ssmTargetPrefix + ".GetParameters", `{"Names":["/prod/db"]}`, "UnknownOperationException", "not implemented by awsfake"},
		{"GetParametersByPath is not served", ssmTargetPrefix + ".GetParametersByPath", `{"Path":"/prod"}`, "UnknownOperationException", "not implemented by awsfake"},
		{"GetSecretValue is not served", smTargetPrefix + ".GetSecretValue", `{"SecretId":"prod/key"}`, "UnknownOperationException", "not implemented by awsfake"},
		{"BatchGetSecretValue is not served", smTargetPrefix + ".BatchGetSecretValue", `{"SecretIdList":["prod/key"]}`, "UnknownOperationException", "not implemented by awsfake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, s, tc.target, tc.body, auth)
			msg, _ := out["message"].(string)
			if status != 400 || out["__type"] != tc.typ || !strings.Contains(msg, tc.msg) || len(out) != 2 {
				t.Errorf("got %d %v, want 400 %s containing %q", status, out, tc.typ, tc.msg)
			}
		})
	}

	env := s.Env()
	for _, k := range []string{"AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		if env[k] != s.URL() {
			t.Errorf("Env()[%s] = %q, want %s", k, env[k], s.URL())
		}
	}
}
