package infra

import (
	"encoding/json"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// IAM documents are built from these Go values, never from JSON string
// literals, so every ARN comes from the resource that owns it.

// Statement is one IAM policy statement. Resources and condition values may
// be outputs of other resources.
type Statement struct {
	Sid        string
	Actions    []string
	Resources  []pulumi.StringInput
	Federated  pulumi.StringInput // trust policies: the federated principal
	Service    string             // trust policies: the service principal
	Accounts   []string           // resource policies: the AWS principals (account root ARNs)
	Conditions []Condition
}

// Condition is one IAM condition: Operator (StringEquals, ArnEquals, ...)
// on Key, matching any of Values.
type Condition struct {
	Operator string
	Key      string
	Values   []pulumi.StringInput
}

// Strings turns plain strings into inputs.
func Strings(values ...string) []pulumi.StringInput {
	out := make([]pulumi.StringInput, len(values))
	for i, v := range values {
		out[i] = pulumi.String(v)
	}
	return out
}

// Document renders statements (Effect Allow) as an IAM policy document.
func Document(statements ...Statement) pulumi.StringOutput {
	// Collect every input in a fixed order, resolve them together, then
	// take the resolved values back in the same order.
	var inputs []interface{}
	for _, s := range statements {
		for _, r := range s.Resources {
			inputs = append(inputs, r)
		}
		if s.Federated != nil {
			inputs = append(inputs, s.Federated)
		}
		for _, c := range s.Conditions {
			for _, v := range c.Values {
				inputs = append(inputs, v)
			}
		}
	}

	return pulumi.All(inputs...).ApplyT(func(vals []interface{}) (string, error) {
		next := func() string {
			v := vals[0].(string)
			vals = vals[1:]
			return v
		}
		type principal struct {
			Federated string   `json:"Federated,omitempty"`
			Service   string   `json:"Service,omitempty"`
			AWS       []string `json:"AWS,omitempty"`
		}
		type statement struct {
			Sid       string                         `json:"Sid,omitempty"`
			Effect    string                         `json:"Effect"`
			Principal *principal                     `json:"Principal,omitempty"`
			Action    []string                       `json:"Action"`
			Resource  []string                       `json:"Resource,omitempty"`
			Condition map[string]map[string][]string `json:"Condition,omitempty"`
		}
		doc := struct {
			Version   string      `json:"Version"`
			Statement []statement `json:"Statement"`
		}{Version: "2012-10-17"}
		for _, s := range statements {
			out := statement{Sid: s.Sid, Effect: "Allow", Action: s.Actions}
			for range s.Resources {
				out.Resource = append(out.Resource, next())
			}
			if s.Federated != nil {
				out.Principal = &principal{Federated: next()}
			}
			if s.Service != "" {
				out.Principal = &principal{Service: s.Service}
			}
			if len(s.Accounts) > 0 {
				out.Principal = &principal{AWS: s.Accounts}
			}
			for _, c := range s.Conditions {
				if out.Condition == nil {
					out.Condition = map[string]map[string][]string{}
				}
				if out.Condition[c.Operator] == nil {
					out.Condition[c.Operator] = map[string][]string{}
				}
				for range c.Values {
					out.Condition[c.Operator][c.Key] = append(out.Condition[c.Operator][c.Key], next())
				}
			}
			doc.Statement = append(doc.Statement, out)
		}
		b, err := json.Marshal(doc)
		return string(b), err
	}).(pulumi.StringOutput)
}
