package deploy

import (
	"fmt"
	"github.com/slipway-dev/slipway/internal/contract"
	"strings"
	"testing"
)

const (
	a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	c = "cccccccccccccccccccccccccccccccccccccccc"
	d = "dddddddddddddddddddddddddddddddddddddddd"
)

func deployed(sha string) Update {
	return Update{Kind: "update", Result: "succeeded", ImageTag: sha, Message: contract.DeployMessage(sha).String()}
}

func rollbackTo(target, from string) Update {
	u := deployed(target)
	u.Message = contract.RollbackMessage(target, from).String()
	return u
}

func failed(sha string) Update {
	return Update{Kind: "update", Result: "failed", ImageTag: sha, Message: contract.DeployMessage(sha).String()}
}

func TestRollbackTarget(t *testing.T) {
	rolledBack := deployed(a)
	rolledBack.Message = contract.RollbackMessage(a, c).String()
	reconciled := deployed(a)
	reconciled.Message = contract.ReconcileMessage(a, b).String()
	refresh := Update{Kind: "refresh", Result: "succeeded", ImageTag: c}
	failedReconcile := failed(a)
	failedReconcile.Message = contract.ReconcileMessage(a, b).String()
	rejected := deployed(b) // the no-change update marking the rejection
	rejected.Message = contract.RejectedMessage(b).String()
	tests := []struct {
		name        string
		history     []Update // newest first
		to          string
		wantCurrent string
		wantTarget  string
		wantErr     string
	}{
		{"previous deploy", []Update{deployed(c), deployed(b), deployed(a)}, "", c, b, ""},
		{"skips failed updates", []Update{deployed(c), failed(b), deployed(a)}, "", c, a, ""},
		{"skips failed newest", []Update{failed(d), deployed(c), deployed(b)}, "", c, b, ""},
		{"skips re-deploys of the current SHA", []Update{deployed(c), deployed(c), deployed(b)}, "", c, b, ""},
		{"skips refreshes and previews", []Update{deployed(c), refresh, {Kind: "preview", ImageTag: d}, deployed(b)}, "", c, b, ""},
		{"a second rollback goes further back, never forward", []Update{rolledBack, deployed(c), deployed(b), deployed(a)}, "", a, "", "no deploy older"},
		{"a second rollback after going back one", []Update{rollbackTo(b, c), deployed(c), deployed(b), deployed(a)}, "", b, a, ""},
		{"never back to what a rollback left", []Update{rolledBack, deployed(c), deployed(a), deployed(d)}, "", a, d, ""},
		{"a re-deploy after a rollback keeps going back", []Update{deployed(b), rollbackTo(b, c), deployed(c), deployed(b), deployed(a)}, "", b, a, ""},
		{"a re-deploy after two rollbacks", []Update{deployed(a), rollbackTo(a, b), rollbackTo(b, c), deployed(c), deployed(b), deployed(a), deployed(d)}, "", a, d, ""},
		{"a re-deploy after a reconcile keeps going back", []Update{deployed(a), reconciled, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a SHA deployed again later starts a new era", []Update{deployed(a), deployed(b), deployed(a)}, "", a, b, ""},
		{"never back to what ECS rolled back", []Update{reconciled, failed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"ECS-rolled-back deploy is never a target", []Update{reconciled, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"--to an ECS-rolled-back SHA", []Update{reconciled, deployed(b), deployed(a), deployed(c)}, b, a, "", "ECS rolled it back"},
		{"--to a SHA that ran before ECS later rejected it", []Update{reconciled, deployed(b), deployed(a), deployed(b)}, b, a, b, ""},
		{"default never picks a SHA ECS rejected, even one that ran before", []Update{reconciled, deployed(b), deployed(a), deployed(b)}, "", a, "", "no deploy older"},
		{"a failed reconcile still marks the deploy as rejected", []Update{failedReconcile, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a rejection marker without a reconcile", []Update{rejected, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a rejection marker and its reconcile", []Update{reconciled, rejected, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a later fix after an unreconciled rejection never goes back to it", []Update{deployed(d), rejected, deployed(b), deployed(a)}, "", d, a, ""},
		{"--to a SHA only marked rejected", []Update{deployed(d), rejected, deployed(b), deployed(a)}, b, d, "", "ECS rolled it back"},
		{"--to what a rollback left (going forward again)", []Update{rolledBack, deployed(c), deployed(a)}, c, a, c, ""},
		{"--to an earlier deploy", []Update{deployed(c), deployed(b), deployed(a)}, a, c, a, ""},
		{"--to a SHA only seen failing", []Update{deployed(c), failed(b), deployed(a)}, b, c, "", "never ran successfully"},
		{"--to an unknown SHA", []Update{deployed(c), deployed(b)}, d, c, "", "never ran successfully"},
		{"--to the current SHA", []Update{deployed(c), deployed(b)}, c, c, "", "already the deployed SHA"},
		{"only one version", []Update{deployed(c), deployed(c)}, "", c, "", "no deploy older"},
		{"never deployed", []Update{failed(c)}, "", "", "", "no successful deploy"},
		{"empty history", nil, "", "", "", "no successful deploy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur, target, err := RollbackTarget(tt.history, tt.to)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("err = %v, want none", err)
			}
			if cur != tt.wantCurrent || target != tt.wantTarget {
				t.Errorf("RollbackTarget = (%.7s, %.7s), want (%.7s, %.7s)", cur, target, tt.wantCurrent, tt.wantTarget)
			}
		})
	}
}

func TestPlatformChanges(t *testing.T) {
	tests := []struct {
		name   string
		change Change
		want   bool // true: a platform change the deploy must refuse
	}{
		{"new task definition", Change{Op: "create", Type: "aws:ecs/taskDefinition:TaskDefinition"}, false},
		{"old revision dropped from the stack", Change{Op: "delete", Type: "aws:ecs/taskDefinition:TaskDefinition"}, false},
		{"task definition replaced, keys unknown", Change{Op: "replace", Type: "aws:ecs/taskDefinition:TaskDefinition"}, true},
		{"replacement created, keys unknown", Change{Op: "create-replacement", Type: "aws:ecs/taskDefinition:TaskDefinition"}, true},
		{"replacement created for new containers", Change{Op: "create-replacement", Type: "aws:ecs/taskDefinition:TaskDefinition", Keys: []string{"containerDefinitions"}}, false},
		{"task definition updated in place, keys unknown", Change{Op: "update", Type: "aws:ecs/taskDefinition:TaskDefinition"}, true},
		{"replaced one removed", Change{Op: "delete-replaced", Type: "aws:ecs/taskDefinition:TaskDefinition"}, false},
		{"service updated, keys unknown", Change{Op: "update", Type: "aws:ecs/service:Service"}, true},
		{"service created", Change{Op: "create", Type: "aws:ecs/service:Service"}, true},
		{"task definition read", Change{Op: "import", Type: "aws:ecs/taskDefinition:TaskDefinition"}, true},
		{"service's task definition updated", Change{Op: "update", Type: "aws:ecs/service:Service", Keys: []string{"taskDefinition"}}, false},
		{"new revision with new containers", Change{Op: "replace", Type: "aws:ecs/taskDefinition:TaskDefinition", Keys: []string{"containerDefinitions"}}, false},
		{"task definition cpu changed", Change{Op: "replace", Type: "aws:ecs/taskDefinition:TaskDefinition", Keys: []string{"containerDefinitions", "cpu"}}, true},
		{"task role changed", Change{Op: "replace", Type: "aws:ecs/taskDefinition:TaskDefinition", Keys: []string{"taskRoleArn"}}, true},
		{"service desired count changed", Change{Op: "update", Type: "aws:ecs/service:Service", Keys: []string{"desiredCount", "taskDefinition"}}, true},
		{"service load balancers changed", Change{Op: "update", Type: "aws:ecs/service:Service", Keys: []string{"loadBalancers"}}, true},
		{"provider setting", Change{Op: "update", Type: "pulumi:providers:aws"}, false},
		{"service replaced", Change{Op: "replace", Type: "aws:ecs/service:Service"}, true},
		{"service deleted", Change{Op: "delete", Type: "aws:ecs/service:Service"}, true},
		{"provider replaced", Change{Op: "replace", Type: "pulumi:providers:aws"}, true},
		{"role policy", Change{Op: "update", Type: "aws:iam/rolePolicy:RolePolicy"}, true},
		{"security group", Change{Op: "update", Type: "aws:ec2/securityGroup:SecurityGroup"}, true},
		{"workflow file", Change{Op: "update", Type: "github:index/repositoryFile:RepositoryFile"}, true},
		{"table replaced", Change{Op: "replace", Type: "aws:dynamodb/table:Table"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := len(PlatformChanges([]Change{tt.change})) == 1
			if got != tt.want {
				t.Errorf("PlatformChanges(%s %s) refused = %v, want %v", tt.change.Op, tt.change.Type, got, tt.want)
			}
		})
	}
}

func TestDestructive(t *testing.T) {
	changes := []Change{
		{Op: "replace", Type: "aws:dynamodb/table:Table", Name: "table"},
		{Op: "delete", Type: "aws:sqs/queue:Queue", Name: "queue"},
		{Op: "update", Type: "aws:dynamodb/table:Table", Name: "table"},
		{Op: "replace", Type: "aws:ecs/taskDefinition:TaskDefinition", Name: "task"},
	}
	got := Destructive(changes)
	if len(got) != 2 || got[0].Name != "table" || got[1].Name != "queue" {
		t.Errorf("Destructive = %+v, want the table's replace and the queue's delete", got)
	}
}

// BenchmarkRollbackTarget is the target lookup over 10 and 200 past
// deploys, with the abandoned and rejected SHAs it has to skip.
func BenchmarkRollbackTarget(b *testing.B) {
	for _, n := range []int{10, 200} {
		history := make([]Update, 0, n)
		for i := n; i > 0; i-- {
			sha := fmt.Sprintf("%040x", i)
			u := deployed(sha)
			if i%7 == 0 {
				u.Result = "failed"
			}
			history = append(history, u)
		}
		b.Run(fmt.Sprintf("deploys=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, _, err := RollbackTarget(history, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
