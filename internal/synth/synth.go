// Package synth runs the Pulumi program offline, under the SDK's mock
// monitor, and records every resource it registers: no engine, no network,
// no cloud account. Cloud-computed values are deterministic placeholders.
package synth

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AccountID is the placeholder AWS account of a synth.
const AccountID = "123456789012"

// Resource is one registered resource, as written to resources.json.
type Resource struct {
	Type           string                 `json:"type"`
	Name           string                 `json:"name"`
	Parent         string                 `json:"parent"`
	Protect        bool                   `json:"protect"`
	RetainOnDelete bool                   `json:"retainOnDelete"`
	Inputs         map[string]interface{} `json:"inputs"`

	// Options the tests check; not part of resources.json.
	UpdateTimeout string   `json:"-"`
	Dependencies  []string `json:"-"`
	ParentType    string   `json:"-"`
	IsCustom      bool     `json:"-"`
	IgnoreChanges []string `json:"-"`
	// Outputs are the placeholder outputs the mock returned (ARNs, names).
	Outputs map[string]interface{} `json:"-"`
}

// Result is what a synth produced.
type Result struct {
	Resources []Resource
}

// Find returns the resources of a type, in registration order.
func (r Result) Find(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// Get returns the one resource with this type and name.
func (r Result) Get(typ, name string) (Resource, bool) {
	for _, res := range r.Resources {
		if res.Type == typ && res.Name == name {
			return res, true
		}
	}
	return Resource{}, false
}

// JSON renders the resources as the resources.json array.
func (r Result) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r.Resources, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Run runs program for project/stack with config (namespace:key → value)
// under mocks and returns what it registered, in a stable order.
func Run(program pulumi.RunFunc, project, stack string, config map[string]string) (Result, error) {
	m := &mocks{region: config["aws:region"]}
	withConfig := func(info *pulumi.RunInfo) { info.Config = config }
	if err := pulumi.RunErr(program, pulumi.WithMocks(project, stack, m), withConfig); err != nil {
		return Result{}, err
	}
	key := func(r Resource) string { return r.ParentType + "/" + r.Parent + "/" + r.Type + "/" + r.Name }
	sort.SliceStable(m.resources, func(i, j int) bool { return key(m.resources[i]) < key(m.resources[j]) })
	return Result{Resources: m.resources}, nil
}

type mocks struct {
	region    string
	mu        sync.Mutex
	resources []Resource
}

// urnName is the logical name in a URN (urn:pulumi:stack::project::type::name).
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return ""
}

// urnType is the resource type in a URN (the last of the parent$child chain).
func urnType(urn string) string {
	parts := strings.Split(urn, "::")
	if len(parts) < 4 {
		return ""
	}
	chain := strings.Split(parts[2], "$")
	return chain[len(chain)-1]
}

func (m *mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	res := Resource{
		Type:     args.TypeToken,
		Name:     args.Name,
		Inputs:   plainInputs(args.Inputs),
		IsCustom: args.Custom,
	}
	if rpc != nil {
		res.Protect = rpc.GetProtect()
		res.IgnoreChanges = rpc.GetIgnoreChanges()
		res.RetainOnDelete = rpc.GetRetainOnDelete()
		res.Parent = urnName(rpc.GetParent())
		res.ParentType = urnType(rpc.GetParent())
		for _, d := range rpc.GetDependencies() {
			res.Dependencies = append(res.Dependencies, urnName(d))
		}
		if t := rpc.GetCustomTimeouts(); t != nil {
			res.UpdateTimeout = t.GetUpdate()
		}
		if res.ParentType == "pulumi:pulumi:Stack" {
			res.Parent = ""
		}
	}
	id, outputs := "", args.Inputs
	if args.Custom {
		id, outputs = m.placeholders(args)
	}
	res.Outputs = plainInputs(outputs)
	m.mu.Lock()
	m.resources = append(m.resources, res)
	m.mu.Unlock()
	return id, outputs, nil
}

func (m *mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]interface{}{
			"accountId": AccountID,
			"arn":       "arn:aws:iam::" + AccountID + ":user/synth",
			"userId":    "SYNTH",
			"id":        AccountID,
		}), nil
	case "aws:index/getPartition:getPartition":
		return resource.NewPropertyMapFromMap(map[string]interface{}{
			"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws",
		}), nil
	}
	return nil, fmt.Errorf("synth: the program calls %s, which the offline synth does not model; add it to internal/synth", args.Token)
}

// plainInputs turns inputs into plain JSON values (secrets unwrapped, so
// the offline synth must only ever see placeholder values).
func plainInputs(in resource.PropertyMap) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range in {
		out[string(k)] = plainValue(v)
	}
	return out
}

func plainValue(v resource.PropertyValue) interface{} {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsOutput():
		return plainValue(v.OutputValue().Element)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]interface{}, len(arr))
		for i, e := range arr {
			out[i] = plainValue(e)
		}
		return out
	case v.IsObject():
		return plainInputs(v.ObjectValue())
	case v.IsComputed(), v.IsNull():
		return nil
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	}
	return v.V
}

// short is a stable 7-hex-digit suffix, like the engine's autonaming.
func short(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%07x", h.Sum32()&0xfffffff)
}

// elbID is a stand-in for the 16 hex digits ELB puts at the end of a load
// balancer's or target group's ARN.
func elbID(name string) string {
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("%016x", h.Sum64())
}

// placeholders computes the ID and the outputs a real provider would return.
func (m *mocks) placeholders(args pulumi.MockResourceArgs) (string, resource.PropertyMap) {
	out := args.Inputs.Copy()
	module := strings.SplitN(strings.SplitN(args.TypeToken, ":", 3)[1], "/", 2)[0]
	name := args.Name + "-" + short(args.TypeToken+args.Name)
	if v, ok := args.Inputs["name"]; ok && v.IsString() && v.StringValue() != "" {
		name = v.StringValue()
	}
	set := func(k string, v interface{}) { out[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	id := name
	arn := fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", module, m.region, AccountID, strings.ToLower(args.Name), name)

	switch args.TypeToken {
	case "aws:ecr/repository:Repository":
		set("repositoryUrl", fmt.Sprintf("%s.dkr.ecr.%s.amazonaws.com/%s", AccountID, m.region, name))
		arn = fmt.Sprintf("arn:aws:ecr:%s:%s:repository/%s", m.region, AccountID, name)
	case "aws:ecs/cluster:Cluster":
		arn = fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", m.region, AccountID, name)
		id = arn
	case "aws:ecs/taskDefinition:TaskDefinition":
		family := args.Inputs["family"].StringValue()
		arn = fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:1", m.region, AccountID, family)
		set("revision", 1)
		id = family
	case "aws:ecs/service:Service":
		cluster := args.Inputs["cluster"].StringValue()
		arn = strings.Replace(cluster, ":cluster/", ":service/", 1) + "/" + name
		id = arn
	case "aws:iam/role:Role":
		arn = fmt.Sprintf("arn:aws:iam::%s:role/%s", AccountID, name)
	case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
		arn = fmt.Sprintf("arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com", AccountID)
		id = arn
	case "aws:lb/loadBalancer:LoadBalancer":
		set("dnsName", fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, short(name), m.region))
		// ELB's shapes: ARN ...:loadbalancer/app/<name>/<id>, arnSuffix
		// app/<name>/<id> (what CloudWatch's LoadBalancer dimension takes).
		suffix := fmt.Sprintf("app/%s/%s", name, elbID(name))
		arn = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s", m.region, AccountID, suffix)
		set("arnSuffix", suffix)
	case "aws:lb/targetGroup:TargetGroup":
		// ...:targetgroup/<name>/<id>, arnSuffix targetgroup/<name>/<id>.
		suffix := fmt.Sprintf("targetgroup/%s/%s", name, elbID(name))
		arn = fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", m.region, AccountID, suffix)
		set("arnSuffix", suffix)
	case "aws:sqs/queue:Queue":
		arn = fmt.Sprintf("arn:aws:sqs:%s:%s:%s", m.region, AccountID, name)
		id = fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", m.region, AccountID, name)
		set("url", id)
	case "aws:dynamodb/table:Table":
		arn = fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", m.region, AccountID, name)
	case "aws:cloudwatch/logGroup:LogGroup":
		arn = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", m.region, AccountID, name)
	case "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup",
		"aws:ec2/internetGateway:InternetGateway", "aws:ec2/routeTable:RouteTable", "aws:ec2/natGateway:NatGateway":
		prefix := map[string]string{"Vpc": "vpc", "Subnet": "subnet", "SecurityGroup": "sg",
			"InternetGateway": "igw", "RouteTable": "rtb", "NatGateway": "nat"}[args.TypeToken[strings.LastIndex(args.TypeToken, ":")+1:]]
		id = prefix + "-" + short(args.Name) + "0000000000"
	}
	set("name", name)
	set("arn", arn)
	return id, out
}
