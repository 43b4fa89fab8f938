package awsfake

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Task definitions, after RegisterTaskDefinition, DescribeTaskDefinition and
// DeregisterTaskDefinition in aws-sdk-go-v2 service/ecs:
//   - "Registers a new task definition ... each time you call RegisterTaskDefinition, a new
//     revision of the family is created": revisions count 1, 2, ... per family, and the ARN is
//     arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION.
//   - DescribeTaskDefinition takes "The family for the latest ACTIVE revision, family and revision
//     (family:revision) for a specific revision in the family, or full Amazon Resource Name (ARN)".
//   - "Upon deregistration, the task definition is marked as INACTIVE ... You can't use an INACTIVE
//     task definition to run new tasks or create new services, and you can't update an existing
//     service to reference an INACTIVE task definition ... INACTIVE task definitions remain
//     discoverable in your account indefinitely."

type taskDef struct {
	arn, family, status string
	revision            int
	containers          []map[string]any // the containerDefinitions as registered
	extra               map[string]json.RawMessage
	registeredAt        time.Time
	deregisteredAt      time.Time
}

// images returns its containers' images, in order.
func (td *taskDef) images() []containerImage {
	var out []containerImage
	for _, c := range td.containers {
		name, _ := c["name"].(string)
		img, _ := c["image"].(string)
		out = append(out, containerImage{name: name, image: img})
	}
	return out
}

type containerImage struct{ name, image string }

// TaskDefinitionARN returns the ARN ECS gives revision of task definition family.
func TaskDefinitionARN(family string, revision int) string {
	return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", Region, Account, family, revision)
}

// lookupTaskDefLocked resolves a family, family:revision or ARN.
func (s *Server) lookupTaskDefLocked(ref string) *taskDef {
	family, rev, hasRev := strings.Cut(lastSegment(ref), ":")
	if strings.HasPrefix(ref, "arn:") && !strings.Contains(ref, ":task-definition/") {
		return nil
	}
	revs := s.families[family]
	if !hasRev {
		for i := len(revs) - 1; i >= 0; i-- {
			if revs[i].status == "ACTIVE" {
				return revs[i]
			}
		}
		return nil
	}
	n, err := strconv.Atoi(rev)
	if err != nil || n < 1 || n > len(revs) {
		return nil
	}
	return revs[n-1]
}

func (s *Server) registerTaskDefinition(in map[string]json.RawMessage) (any, *apiError) {
	var family string
	var containers []map[string]any
	if err := json.Unmarshal(in["family"], &family); err != nil || family == "" {
		return nil, clientError("ClientException", "Family cannot be blank.")
	}
	if err := json.Unmarshal(in["containerDefinitions"], &containers); err != nil || len(containers) == 0 {
		return nil, clientError("ClientException", "Container list cannot be empty.")
	}
	for _, c := range containers {
		if _, ok := c["name"].(string); !ok {
			return nil, clientError("ClientException", "Container.name should not be null or empty.")
		}
		if _, ok := c["image"].(string); !ok {
			return nil, clientError("ClientException", "Container.image should not be null or empty.")
		}
		if _, ok := c["essential"]; !ok {
			c["essential"] = true
		}
	}
	extra := map[string]json.RawMessage{}
	for k, v := range in {
		if k != "family" && k != "containerDefinitions" && k != "tags" {
			extra[k] = v
		}
	}
	n := len(s.families[family]) + 1
	td := &taskDef{arn: TaskDefinitionARN(family, n), family: family, revision: n, status: "ACTIVE", containers: containers, extra: extra, registeredAt: s.now}
	s.families[family] = append(s.families[family], td)
	return map[string]any{"taskDefinition": wireTaskDef(td)}, nil
}

func wireTaskDef(td *taskDef) map[string]any {
	w := map[string]any{}
	for k, v := range td.extra {
		w[k] = v
	}
	w["taskDefinitionArn"] = td.arn
	w["family"] = td.family
	w["revision"] = td.revision
	w["status"] = td.status
	w["containerDefinitions"] = td.containers
	w["registeredAt"] = epoch(td.registeredAt)
	if !td.deregisteredAt.IsZero() {
		w["deregisteredAt"] = epoch(td.deregisteredAt)
	}
	return w
}

func (s *Server) describeTaskDefinition(in struct {
	TaskDefinition string `json:"taskDefinition"`
}) (any, *apiError) {
	td := s.lookupTaskDefLocked(in.TaskDefinition)
	if td == nil {
		return nil, clientError("ClientException", "Unable to describe task definition.")
	}
	return map[string]any{"taskDefinition": wireTaskDef(td)}, nil
}

func (s *Server) deregisterTaskDefinition(in struct {
	TaskDefinition string `json:"taskDefinition"`
}) (any, *apiError) {
	if !strings.Contains(lastSegment(in.TaskDefinition), ":") {
		return nil, clientError("ClientException", "Revision must be specified: %s", in.TaskDefinition)
	}
	td := s.lookupTaskDefLocked(in.TaskDefinition)
	if td == nil {
		return nil, clientError("ClientException", "The specified task definition does not exist.")
	}
	if td.status == "ACTIVE" {
		td.status, td.deregisteredAt = "INACTIVE", s.now
	}
	return map[string]any{"taskDefinition": wireTaskDef(td)}, nil
}
