package awsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The SSM Parameter Store and Secrets Manager model: the metadata of parameters and secrets, never a
// value. Only the describe operations are served (SSM DescribeParameters, Secrets Manager
// DescribeSecret); a value read (GetParameter, GetParameters, GetParametersByPath, GetSecretValue,
// BatchGetSecretValue) answers UnknownOperationException, so a test notices a client that reads one.
// Both stores are regional: a request sees the resources of the region its SigV4 credential scope
// names. Sources:
//   - Parameter names: "For parameters in a hierarchy, you must include a leading forward slash
//     character (/) when you create or reference a parameter. For example:
//     /Dev/DBServer/MySQL/db-string13" (aws-sdk-go-v2 service/ssm PutParameterInput.Name). In the
//     ARN, "arn:aws:ssm:us-east-2:111122223333:parameter/" (same doc comment) precedes the name, whose
//     leading slash is that separator: /a/b and a single-level "a" have the ARNs parameter/a/b and
//     parameter/a (the AWS CDK's arnForParameterName does the same).
//   - DescribeParameters: "If you specify MaxResults in the request, the response includes
//     information up to the limit specified ... and a NextToken" (service/ssm DescribeParameters);
//     ParameterStringFilter.Option: "For all filters used with DescribeParameters, valid options
//     include Equals and BeginsWith. The Name filter additionally supports the Contains option";
//     InvalidFilterOption: "The specified filter option isn't valid. Valid options are Equals and
//     BeginsWith. For Path filter, valid options are Recursive and OneLevel."; MaxResults 1 to 50
//     (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html).
//   - Secret ARNs: "The ARN includes the name of the secret followed by six random characters"
//     (service/secretsmanager CreateSecretOutput.ARN). DescribeSecret's SecretId is "The ARN or name
//     of the secret" and may be a partial ARN, without the hyphen and six characters, which "can
//     work as long as it uniquely matches only one secret"; one ending in a hyphen and six
//     characters is taken for a complete ARN
//     (https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen).
//   - A missing secret: ResourceNotFoundException, "Secrets Manager can't find the resource that you
//     asked for." (service/secretsmanager/types), with the message "Secrets Manager can't find the
//     specified secret." that the service sends.
//   - Deletion: DeletedDate is "The date the secret is scheduled for deletion. If it is not scheduled
//     for deletion, this field is omitted", after "a recovery window of at least 7 days"
//     (DescribeSecretOutput); DeleteSecret's RecoveryWindowInDays defaults to 30.
//   - VersionIdsToStages: "A list of the versions of the secret that have staging labels attached"
//     (DescribeSecretOutput).

const (
	ssmTargetPrefix = "AmazonSSM"
	smTargetPrefix  = "secretsmanager"
)

// RecoveryWindow is how long after ScheduleSecretDeletion a secret's DeletedDate is: DeleteSecret's
// default RecoveryWindowInDays.
const RecoveryWindow = 30 * 24 * time.Hour

type parameter struct {
	region, name string
	version      int
	modified     time.Time
}

type secret struct {
	region, name, arn string
	versions          map[string][]string // version ID → staging labels
	created, deleted  time.Time
}

// ParameterARN is the ARN of the parameter name in region: the name follows "parameter/", its
// leading slash (a hierarchical name's) being the separator.
func ParameterARN(region, name string) string {
	return "arn:aws:ssm:" + region + ":" + Account + ":parameter/" + strings.TrimPrefix(name, "/")
}

// PutParameter creates the SecureString parameter name (e.g. /prod/api/db-password, or plain-token)
// in Region, or makes a new version of it.
func (s *Server) PutParameter(name string) { s.PutParameterIn(Region, name) }

// PutParameterIn is PutParameter in region.
func (s *Server) PutParameterIn(region, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.parameters, func(p *parameter) bool { return p.region == region && p.name == name })
	if i < 0 {
		s.parameters = append(s.parameters, &parameter{region: region, name: name})
		i = len(s.parameters) - 1
	}
	p := s.parameters[i]
	p.version++
	p.modified = s.now
}

// CreateSecret creates the secret name in Region with the given versions (version ID → staging
// labels, e.g. {"v1": {"AWSCURRENT"}}; none is a secret created without a value) and returns its
// ARN, the name followed by a hyphen and six characters. A name already taken panics.
func (s *Server) CreateSecret(name string, versions map[string][]string) (arn string) {
	return s.CreateSecretIn(Region, name, versions)
}

// CreateSecretIn is CreateSecret in region.
func (s *Server) CreateSecretIn(region, name string, versions map[string][]string) (arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secretLocked(region, name) != nil {
		panic("awsfake: CreateSecret: the secret " + name + " already exists")
	}
	sum := sha256.Sum256([]byte(name + "/" + strconv.Itoa(s.next())))
	sec := &secret{
		region: region, name: name, created: s.now,
		arn:      "arn:aws:secretsmanager:" + region + ":" + Account + ":secret:" + name + "-" + hex.EncodeToString(sum[:])[:6],
		versions: map[string][]string{},
	}
	for id, stages := range versions {
		sec.versions[id] = slices.Clone(stages)
	}
	s.secrets = append(s.secrets, sec)
	return sec.arn
}

// ScheduleSecretDeletion does what DeleteSecret without ForceDeleteWithoutRecovery does to the
// secret of that ARN or name: DescribeSecret then reports a DeletedDate RecoveryWindow ahead. An
// unknown secret panics.
func (s *Server) ScheduleSecretDeletion(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.secrets {
		if sec.arn == id || sec.name == id {
			sec.deleted = s.now.Add(RecoveryWindow)
			return
		}
	}
	panic("awsfake: ScheduleSecretDeletion: no secret " + id)
}

// secretLocked resolves a SecretId in region as Secrets Manager does: a complete ARN, a partial ARN
// (without the hyphen and six characters) or a name. The caller holds s.mu.
func (s *Server) secretLocked(region, id string) *secret {
	for _, sec := range s.secrets {
		if sec.region != region {
			continue
		}
		switch {
		case sec.arn == id, sec.name == id:
			return sec
		case strings.HasPrefix(id, "arn:") && !completeSecretARN(id) && sec.arn[:len(sec.arn)-7] == id:
			return sec
		}
	}
	return nil
}

// completeSecretARN reports whether a secret ARN ends in a hyphen and six letters or digits.
func completeSecretARN(arn string) bool {
	i := len(arn) - 7
	if i < 0 || arn[i] != '-' {
		return false
	}
	for _, r := range arn[i+1:] {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// signingRegion is the region of a request's SigV4 credential scope
// (Credential=KEY/DATE/REGION/SERVICE/aws4_request), or Region when there is none.
func signingRegion(r *http.Request) string {
	_, cred, _ := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	cred, _, _ = strings.Cut(cred, ",")
	if parts := strings.Split(cred, "/"); len(parts) == 5 && parts[2] != "" {
		return parts[2]
	}
	return Region
}

type wireParameterFilter struct {
	Key    string   `json:"Key"`
	Option string   `json:"Option"`
	Values []string `json:"Values"`
}

type wireParameterMetadata struct {
	Name             string `json:"Name"`
	ARN              string `json:"ARN"`
	Type             string `json:"Type"`
	DataType         string `json:"DataType"`
	Tier             string `json:"Tier"`
	Version          int    `json:"Version"`
	LastModifiedDate epoch  `json:"LastModifiedDate"`
}

// describeParameters lists region's parameters that match every filter, in creation order, a page
// of MaxResults (default 10) at a time. Only the Name filter key is implemented.
func (s *Server) describeParameters(region string, in struct {
	Filters          []any                 `json:"Filters"`
	ParameterFilters []wireParameterFilter `json:"ParameterFilters"`
	MaxResults       *int                  `json:"MaxResults"`
	NextToken        string                `json:"NextToken"`
}) (any, *apiError) {
	if len(in.Filters) > 0 {
		return nil, clientError("ValidationException", "awsfake implements ParameterFilters, not the deprecated Filters")
	}
	limit := 10
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, clientError("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50", *in.MaxResults)
		}
		limit = *in.MaxResults
	}
	for _, f := range in.ParameterFilters {
		if f.Key != "Name" {
			return nil, clientError("InvalidFilterKey", "The specified key isn't valid (awsfake implements the Name key only): %s", f.Key)
		}
		if f.Option != "" && f.Option != "Equals" && f.Option != "BeginsWith" && f.Option != "Contains" {
			return nil, clientError("InvalidFilterOption", "The specified filter option isn't valid. Valid options are Equals and BeginsWith. For Path filter, valid options are Recursive and OneLevel.")
		}
		if len(f.Values) == 0 {
			return nil, clientError("InvalidFilterValue", "The filter value isn't valid. Verify the value and try again.")
		}
	}
	var matched []*parameter
	for _, p := range s.parameters {
		if p.region == region && matchesAll(p.name, in.ParameterFilters) {
			matched = append(matched, p)
		}
	}
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 || n > len(matched) {
			return nil, clientError("InvalidNextToken", "The specified token isn't valid.")
		}
		start = n
	}
	end := min(start+limit, len(matched))
	page := []wireParameterMetadata{}
	for _, p := range matched[start:end] {
		page = append(page, wireParameterMetadata{
			Name: p.name, ARN: ParameterARN(p.region, p.name), Type: "SecureString", DataType: "text", Tier: "Standard",
			Version: p.version, LastModifiedDate: epoch(p.modified),
		})
	}
	out := map[string]any{"Parameters": page}
	if end < len(matched) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

func matchesAll(name string, filters []wireParameterFilter) bool {
	for _, f := range filters {
		if !slices.ContainsFunc(f.Values, func(v string) bool {
			switch f.Option {
			case "BeginsWith":
				return strings.HasPrefix(name, v)
			case "Contains":
				return strings.Contains(name, v)
			default:
				return name == v
			}
		}) {
			return false
		}
	}
	return true
}

// describeSecret answers the secret's metadata, without its value.
func (s *Server) describeSecret(region string, in struct {
	SecretID string `json:"SecretId"`
}) (any, *apiError) {
	sec := s.secretLocked(region, in.SecretID)
	if sec == nil {
		return nil, clientError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
	}
	out := map[string]any{
		"ARN": sec.arn, "Name": sec.name, "CreatedDate": epoch(sec.created), "LastChangedDate": epoch(sec.created),
		"PrimaryRegion": sec.region,
	}
	if !sec.deleted.IsZero() {
		out["DeletedDate"] = epoch(sec.deleted)
	}
	staged := map[string][]string{}
	for id, stages := range sec.versions {
		if len(stages) > 0 {
			staged[id] = stages
		}
	}
	if len(staged) > 0 {
		out["VersionIdsToStages"] = staged
	}
	return out, nil
}
