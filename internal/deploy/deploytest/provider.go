package deploytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// providerVersion is the version the fake "aws" provider reports: the
// pinned pulumi-aws.
const providerVersion = "6.83.4"

// provider is a fake "aws" resource provider for the four types the
// stand-in registers, with the real provider's diff semantics. The engine
// attaches to it through PULUMI_DEBUG_PROVIDERS (see serveProvider).
type provider struct {
	pulumirpc.UnimplementedResourceProviderServer

	ecs func(ctx context.Context, region string) (ECS, error)

	mu     sync.Mutex
	region string // the provider's aws:region, set by Configure
}

// kind is one resource type: its required inputs, which inputs force a
// replacement, the outputs only the cloud knows (unknown in a preview), and
// its cloud calls.
type kind struct {
	required []string
	replaces func(key string) bool
	computed []string
	create   func(ctx context.Context, p *provider, urn string, news resource.PropertyMap) (id string, outs resource.PropertyMap, err error)
	update   func(ctx context.Context, p *provider, olds, news resource.PropertyMap) error
	delete   func(ctx context.Context, p *provider, olds resource.PropertyMap) error
}

func only(keys ...string) func(string) bool {
	return func(k string) bool {
		for _, r := range keys {
			if k == r {
				return true
			}
		}
		return false
	}
}

// kinds are the types the provider serves. As in pulumi-aws: every input
// of a task definition but its tags and skipDestroy forces a new revision
// (ECS task definitions are immutable); a service is updated in place
// unless its name, cluster or launch type changes; a cluster is replaced
// when renamed; a security group when renamed, re-described or moved to
// another VPC.
var kinds = map[string]kind{
	"aws:ecs/cluster:Cluster": {
		required: []string{"name"},
		replaces: only("name"),
		computed: []string{"arn"},
		create:   createCluster,
		// The interface has no UpdateCluster or DeleteCluster: settings
		// and tags change only in the state, and a deleted cluster is
		// forgotten, like a retained resource.
	},
	"aws:ecs/taskDefinition:TaskDefinition": {
		required: []string{"family", "containerDefinitions"},
		replaces: func(k string) bool { return k != "tags" && k != "skipDestroy" },
		computed: []string{"arn", "arnWithoutRevision", "revision"},
		create:   createTaskDefinition,
		delete:   deleteTaskDefinition,
	},
	"aws:ecs/service:Service": {
		required: []string{"name", "cluster", "taskDefinition"},
		replaces: only("name", "cluster", "launchType"),
		create:   createService,
		update:   updateService,
		delete:   deleteService,
	},
	"aws:ec2/securityGroup:SecurityGroup": {
		replaces: only("name", "description", "vpcId"),
		computed: []string{"arn"},
		create:   createSecurityGroup,
	},
}

func kindOf(typ string) (kind, error) {
	k, ok := kinds[typ]
	if !ok {
		return kind{}, status.Errorf(codes.InvalidArgument, "deploytest provider: unknown resource type %s", typ)
	}
	return k, nil
}

var marshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func props(s *structpb.Struct) (resource.PropertyMap, error) {
	m, err := plugin.UnmarshalProperties(s, marshal)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "deploytest provider: %v", err)
	}
	return m, nil
}

func str(m resource.PropertyMap, key string) string {
	if v := m[resource.PropertyKey(key)]; v.IsString() {
		return v.StringValue()
	}
	return ""
}

func boolean(m resource.PropertyMap, key string) bool {
	v := m[resource.PropertyKey(key)]
	return v.IsBool() && v.BoolValue()
}

// int32Of is a number input, nil when unset.
func int32Of(m resource.PropertyMap, key string) *int32 {
	if v := m[resource.PropertyKey(key)]; v.IsNumber() {
		return aws.Int32(int32(v.NumberValue()))
	}
	return nil
}

func (p *provider) cloud(ctx context.Context) (ECS, error) {
	p.mu.Lock()
	region := p.region
	p.mu.Unlock()
	return p.ecs(ctx, region)
}

func (p *provider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{}, nil
}

func (p *provider) Attach(context.Context, *pulumirpc.PluginAttach) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: providerVersion}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) Configure(_ context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	args, err := props(req.GetArgs())
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.region = str(args, "region")
	p.mu.Unlock()
	return &pulumirpc.ConfigureResponse{SupportsPreview: true}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

// Check fails on a missing required input or on container definitions
// that are not a JSON list of containers each with an image; it sets no
// defaults.
func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	k, err := kindOf(req.GetType())
	if err != nil {
		return nil, err
	}
	news, err := props(req.GetNews())
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, key := range k.required {
		if v, ok := news[resource.PropertyKey(key)]; !ok || v.IsNull() {
			failures = append(failures, &pulumirpc.CheckFailure{Property: key, Reason: "missing required property '" + key + "'"})
		}
	}
	if v := news["containerDefinitions"]; v.IsString() {
		if _, err := containers(v.StringValue()); err != nil {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "containerDefinitions", Reason: err.Error()})
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func containers(js string) ([]types.ContainerDefinition, error) {
	var defs []types.ContainerDefinition
	if err := json.Unmarshal([]byte(js), &defs); err != nil {
		return nil, fmt.Errorf("containerDefinitions: %v", err)
	}
	if len(defs) == 0 {
		return nil, fmt.Errorf("containerDefinitions: no container")
	}
	for _, d := range defs {
		if aws.ToString(d.Name) == "" || aws.ToString(d.Image) == "" {
			return nil, fmt.Errorf("containerDefinitions: every container needs a name and an image")
		}
	}
	return defs, nil
}

// Diff compares the new inputs with the old ones: each changed input is a
// diff, an update unless the type says it forces a replacement, which ECS
// and EC2 make before deleting the old resource. An input not known yet
// (another resource's output in a preview) counts as changed.
func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	k, err := kindOf(req.GetType())
	if err != nil {
		return nil, err
	}
	olds, err := props(req.GetOldInputs())
	if err != nil {
		return nil, err
	}
	news, err := props(req.GetNews())
	if err != nil {
		return nil, err
	}
	res := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true, DetailedDiff: map[string]*pulumirpc.PropertyDiff{}}
	keys := map[resource.PropertyKey]bool{}
	for key := range olds {
		keys[key] = true
	}
	for key := range news {
		keys[key] = true
	}
	for key := range keys {
		o, inOld := olds[key]
		n, inNew := news[key]
		if inOld && inNew && !n.ContainsUnknowns() && o.DeepEquals(n) {
			continue
		}
		diff := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !inOld:
			diff = pulumirpc.PropertyDiff_ADD
		case !inNew:
			diff = pulumirpc.PropertyDiff_DELETE
		}
		name := string(key)
		if k.replaces(name) {
			diff++ // the _REPLACE variant of each kind
			res.Replaces = append(res.Replaces, name)
		}
		res.Diffs = append(res.Diffs, name)
		res.DetailedDiff[name] = &pulumirpc.PropertyDiff{Kind: diff, InputDiff: true}
	}
	if len(res.Diffs) > 0 {
		res.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	sort.Strings(res.Diffs)
	sort.Strings(res.Replaces)
	return res, nil
}

// Create creates the resource in the cloud; a preview only marks the
// outputs the cloud would give as unknown.
func (p *provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	k, err := kindOf(req.GetType())
	if err != nil {
		return nil, err
	}
	news, err := props(req.GetProperties())
	if err != nil {
		return nil, err
	}
	outs := news.Copy()
	var id string
	if req.GetPreview() {
		for _, key := range k.computed {
			outs[resource.PropertyKey(key)] = resource.MakeComputed(resource.NewStringProperty(""))
		}
	} else {
		var computed resource.PropertyMap
		if id, computed, err = k.create(ctx, p, req.GetUrn(), news); err != nil {
			return nil, err
		}
		for key, v := range computed {
			outs[key] = v
		}
	}
	s, err := plugin.MarshalProperties(outs, marshal)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: s}, nil
}

// Update applies in-place changes; the outputs only the cloud knows stay.
func (p *provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	k, err := kindOf(req.GetType())
	if err != nil {
		return nil, err
	}
	olds, err := props(req.GetOlds())
	if err != nil {
		return nil, err
	}
	news, err := props(req.GetNews())
	if err != nil {
		return nil, err
	}
	if !req.GetPreview() && k.update != nil {
		if err := k.update(ctx, p, olds, news); err != nil {
			return nil, err
		}
	}
	outs := news.Copy()
	for _, key := range k.computed {
		outs[resource.PropertyKey(key)] = olds[resource.PropertyKey(key)]
	}
	s, err := plugin.MarshalProperties(outs, marshal)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: s}, nil
}

func (p *provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	k, err := kindOf(req.GetType())
	if err != nil {
		return nil, err
	}
	olds, err := props(req.GetProperties())
	if err != nil {
		return nil, err
	}
	if k.delete != nil {
		if err := k.delete(ctx, p, olds); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read answers the state as it is: a refresh finds no drift (the ECS
// interface has no Describe calls).
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func createCluster(ctx context.Context, p *provider, _ string, news resource.PropertyMap) (string, resource.PropertyMap, error) {
	c, err := p.cloud(ctx)
	if err != nil {
		return "", nil, err
	}
	out, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(str(news, "name"))})
	if err != nil {
		return "", nil, err
	}
	arn := aws.ToString(out.Cluster.ClusterArn)
	return arn, resource.PropertyMap{"arn": resource.NewStringProperty(arn)}, nil
}

// createTaskDefinition registers a revision; its ARN and revision number
// are ECS's answer. The id is the family, as in pulumi-aws.
func createTaskDefinition(ctx context.Context, p *provider, _ string, news resource.PropertyMap) (string, resource.PropertyMap, error) {
	defs, err := containers(str(news, "containerDefinitions"))
	if err != nil {
		return "", nil, err
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String(str(news, "family")),
		ContainerDefinitions: defs,
		NetworkMode:          types.NetworkMode(str(news, "networkMode")),
	}
	if v := str(news, "cpu"); v != "" {
		in.Cpu = aws.String(v)
	}
	if v := str(news, "memory"); v != "" {
		in.Memory = aws.String(v)
	}
	if v := news["requiresCompatibilities"]; v.IsArray() {
		for _, c := range v.ArrayValue() {
			in.RequiresCompatibilities = append(in.RequiresCompatibilities, types.Compatibility(c.StringValue()))
		}
	}
	c, err := p.cloud(ctx)
	if err != nil {
		return "", nil, err
	}
	out, err := c.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", nil, err
	}
	td := out.TaskDefinition
	arn := aws.ToString(td.TaskDefinitionArn)
	return aws.ToString(td.Family), resource.PropertyMap{
		"arn":                resource.NewStringProperty(arn),
		"arnWithoutRevision": resource.NewStringProperty(arn[:len(arn)-len(":"+strconv.Itoa(int(td.Revision)))]),
		"revision":           resource.NewNumberProperty(float64(td.Revision)),
	}, nil
}

// deleteTaskDefinition deregisters the revision, unless skipDestroy keeps
// it registered (what the real program sets, so that ECS's rollback and a
// rollback of the stack can use it).
func deleteTaskDefinition(ctx context.Context, p *provider, olds resource.PropertyMap) error {
	if boolean(olds, "skipDestroy") {
		return nil
	}
	c, err := p.cloud(ctx)
	if err != nil {
		return err
	}
	_, err = c.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(str(olds, "arn"))})
	return err
}

func createService(ctx context.Context, p *provider, _ string, news resource.PropertyMap) (string, resource.PropertyMap, error) {
	c, err := p.cloud(ctx)
	if err != nil {
		return "", nil, err
	}
	out, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster:        aws.String(str(news, "cluster")),
		ServiceName:    aws.String(str(news, "name")),
		TaskDefinition: aws.String(str(news, "taskDefinition")),
		DesiredCount:   int32Of(news, "desiredCount"),
		LaunchType:     types.LaunchType(str(news, "launchType")),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{
			Enable: boolean(news, "circuitBreakerEnable"), Rollback: boolean(news, "circuitBreakerRollback"),
		}},
	})
	if err != nil {
		return "", nil, err
	}
	return aws.ToString(out.Service.ServiceArn), nil, nil
}

// updateService sends the task definition and desired count when they
// changed: a new task definition starts a deployment, the rolling deploy.
func updateService(ctx context.Context, p *provider, olds, news resource.PropertyMap) error {
	in := &ecs.UpdateServiceInput{Cluster: aws.String(str(news, "cluster")), Service: aws.String(str(news, "name"))}
	if td := str(news, "taskDefinition"); td != str(olds, "taskDefinition") {
		in.TaskDefinition = aws.String(td)
	}
	if n := int32Of(news, "desiredCount"); n != nil && (int32Of(olds, "desiredCount") == nil || *n != *int32Of(olds, "desiredCount")) {
		in.DesiredCount = n
	}
	if in.TaskDefinition == nil && in.DesiredCount == nil {
		return nil
	}
	c, err := p.cloud(ctx)
	if err != nil {
		return err
	}
	_, err = c.UpdateService(ctx, in)
	return err
}

func deleteService(ctx context.Context, p *provider, olds resource.PropertyMap) error {
	c, err := p.cloud(ctx)
	if err != nil {
		return err
	}
	_, err = c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(str(olds, "cluster")), Service: aws.String(str(olds, "name")), Force: aws.Bool(true)})
	return err
}

// createSecurityGroup makes no cloud call (the interface is ECS only): its
// id is derived from the URN.
func createSecurityGroup(_ context.Context, p *provider, urn string, _ resource.PropertyMap) (string, resource.PropertyMap, error) {
	sum := sha256.Sum256([]byte(urn))
	id := "sg-" + hex.EncodeToString(sum[:])[:17]
	p.mu.Lock()
	region := p.region
	p.mu.Unlock()
	return id, resource.PropertyMap{"arn": resource.NewStringProperty(fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, Account, id))}, nil
}

// serveProvider serves p as the "aws" provider on a free port of
// 127.0.0.1 until the test ends, and returns the PULUMI_DEBUG_PROVIDERS
// value that makes the engine attach to it instead of starting (or
// downloading) pulumi-resource-aws.
func serveProvider(t testing.TB, p *provider) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pulumirpc.RegisterResourceProviderServer(srv, p)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return fmt.Sprintf("aws:%d", lis.Addr().(*net.TCPAddr).Port)
}
