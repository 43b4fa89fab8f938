package deploy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
)

const (
	a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	c = "cccccccccccccccccccccccccccccccccccccccc"
	d = "dddddddddddddddddddddddddddddddddddddddd"
)

// sha is the i-th SHA of a long history.
func sha(i int) string { return fmt.Sprintf("%040x", i+1) }

func deployed(sha string) Update {
	return Update{Kind: "update", Result: "succeeded", ImageTag: sha, Message: contract.DeployMessage(sha).String()}
}

func rollbackTo(target, from string) Update {
	u := deployed(target)
	u.Message = contract.RollbackMessage(target, from).String()
	return u
}

func promoted(sha string) Update {
	return withMessage(deployed(sha), contract.PromoteMessage(sha, "staging"))
}

func failed(sha string) Update {
	return Update{Kind: "update", Result: "failed", ImageTag: sha, Message: contract.DeployMessage(sha).String()}
}

// hourly is deploys(n), newest first, the newest started an hour before
// now and each one an hour before the next.
func hourly(n int, now time.Time) memory {
	m := memory(deploys(n))
	for i := range m {
		m[i].Start = now.Add(-time.Duration(i+1) * time.Hour)
	}
	return m
}

// startedAt is u started at start.
func startedAt(u Update, start time.Time) Update {
	u.Start = start
	return u
}

// withMessage is u with message m.
func withMessage(u Update, m contract.Message) Update {
	u.Message = m.String()
	return u
}

// repeat is n copies of u.
func repeat(n int, u Update) []Update {
	out := make([]Update, n)
	for i := range out {
		out[i] = u
	}
	return out
}

// deploys is n good deploys of sha(n-1) down to sha(0), newest first.
func deploys(n int) []Update {
	out := make([]Update, n)
	for i := range out {
		out[i] = deployed(sha(n - 1 - i))
	}
	return out
}

// memory is a history held in memory (newest first), paged as the
// file:// backend pages it.
type memory []Update

func (m memory) HistoryPage(_ context.Context, pageSize, page int) ([]Update, error) {
	start := min((page-1)*pageSize, len(m))
	return m[start:min(start+pageSize, len(m))], nil
}

// counting counts the pages read from a source.
type counting struct {
	HistorySource
	reads int
}

func (c *counting) HistoryPage(ctx context.Context, pageSize, page int) ([]Update, error) {
	c.reads++
	return c.HistorySource.HistoryPage(ctx, pageSize, page)
}

// Invalid image tags: none is a deploy.
var (
	emptyTag    = Update{Kind: "update", Result: "succeeded", Message: "pulumi up by hand"}
	shortTag    = withMessage(deployed(c[:7]), contract.DeployMessage(c))
	upperTag    = withMessage(deployed(strings.ToUpper(d)), contract.RejectedMessage(c))
	injectedTag = withMessage(deployed(d+"\n::warning::pwned"), contract.DeployMessage(d))
)

func TestRollbackTarget(t *testing.T) {
	reconciled := withMessage(deployed(a), contract.ReconcileMessage(a, b))
	refresh := Update{Kind: "refresh", Result: "succeeded", ImageTag: c}
	failedReconcile := withMessage(failed(a), contract.ReconcileMessage(a, b))
	rejected := withMessage(deployed(b), contract.RejectedMessage(b)) // the no-change update marking the rejection
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
		{"two good deploys followed by eleven failed ones", append(repeat(11, failed(c)), deployed(b), deployed(a)), "", b, a, ""},
		{"skips re-deploys of the current SHA", []Update{deployed(c), deployed(c), deployed(b)}, "", c, b, ""},
		{"skips refreshes and previews", []Update{deployed(c), refresh, {Kind: "preview", ImageTag: d}, deployed(b)}, "", c, b, ""},
		{"a second rollback goes further back, never forward", []Update{rollbackTo(a, c), deployed(c), deployed(b), deployed(a)}, "", a, "", "no deploy older"},
		{"a second rollback after going back one", []Update{rollbackTo(b, c), deployed(c), deployed(b), deployed(a)}, "", b, a, ""},
		{"never back to what a rollback left", []Update{rollbackTo(a, c), deployed(c), deployed(a), deployed(d)}, "", a, d, ""},
		{"a re-deploy after a rollback keeps going back", []Update{deployed(b), rollbackTo(b, c), deployed(c), deployed(b), deployed(a)}, "", b, a, ""},
		{"a re-deploy after two rollbacks", []Update{deployed(a), rollbackTo(a, b), rollbackTo(b, c), deployed(c), deployed(b), deployed(a), deployed(d)}, "", a, d, ""},
		{"a re-deploy after a reconcile keeps going back", []Update{deployed(a), reconciled, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a SHA deployed again later starts a new era", []Update{deployed(a), deployed(b), deployed(a)}, "", a, b, ""},
		{"never back to what ECS rolled back", []Update{reconciled, failed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"ECS-rolled-back deploy is never a target", []Update{reconciled, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"--to an ECS-rolled-back SHA", []Update{reconciled, deployed(b), deployed(a), deployed(c)}, b, a, "", "ECS rolled it back"},
		{"--to a SHA that ran before ECS later rejected it", []Update{reconciled, deployed(b), deployed(a), deployed(b)}, b, a, b, ""},
		{"default never picks a SHA ECS rejected since it ran", []Update{reconciled, deployed(b), deployed(a), deployed(b)}, "", a, "", "no deploy older"},
		{"a SHA that ran fine after ECS rejected it is a target again", []Update{deployed(d), deployed(b), reconciled, deployed(b), deployed(a)}, "", d, b, ""},
		{"a failed reconcile still marks the deploy as rejected", []Update{failedReconcile, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a rejection marker without a reconcile", []Update{rejected, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a rejection marker and its reconcile", []Update{reconciled, rejected, deployed(b), deployed(a), deployed(c)}, "", a, c, ""},
		{"a later fix after an unreconciled rejection never goes back to it", []Update{deployed(d), rejected, deployed(b), deployed(a)}, "", d, a, ""},
		{"--to a SHA only marked rejected", []Update{deployed(d), rejected, deployed(b), deployed(a)}, b, d, "", "ECS rolled it back"},
		{"a marker run with another SHA rejects nothing", []Update{withMessage(failed(d), contract.RejectedMessage(c)), deployed(c), deployed(b)}, "", c, b, ""},
		{"a reconcile run with another SHA rejects nothing", []Update{withMessage(failed(d), contract.ReconcileMessage(a, c)), deployed(c), deployed(b)}, "", c, b, ""},
		{"a rollback message naming another SHA is a first-hand deploy", []Update{withMessage(deployed(a), contract.RollbackMessage(b, c)), deployed(c), deployed(a), deployed(d)}, "", a, c, ""},
		{"updates with invalid image tags are no deploys", []Update{emptyTag, shortTag, upperTag, injectedTag, deployed(c), deployed(b)}, "", c, b, ""},
		{"--to what a rollback left (going forward again)", []Update{rollbackTo(a, c), deployed(c), deployed(a)}, c, a, c, ""},
		{"--to an earlier deploy", []Update{deployed(c), deployed(b), deployed(a)}, a, c, a, ""},
		{"--to a SHA only seen failing", []Update{deployed(c), failed(b), deployed(a)}, b, c, "", "never ran successfully"},
		{"--to a SHA only seen with an invalid tag", []Update{deployed(c), withMessage(deployed(strings.ToUpper(b)), contract.DeployMessage(b)), deployed(a)}, b, c, "", "never ran successfully"},
		{"--to an unknown SHA", []Update{deployed(c), deployed(b)}, d, c, "", "never ran successfully"},
		{"--to the current SHA", []Update{deployed(c), deployed(b)}, c, c, "", "already the deployed SHA"},
		{"only one version", []Update{deployed(c), deployed(c)}, "", c, "", "no deploy older"},
		{"never deployed", []Update{failed(c)}, "", "", "", "no successful deploy"},
		{"only invalid tags", []Update{emptyTag, injectedTag}, "", "", "", "no successful deploy"},
		{"empty history", nil, "", "", "", "no successful deploy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RollbackTarget(context.Background(), memory(tt.history), tt.to)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("err = %v, want none", err)
			}
			if got.Current != tt.wantCurrent || got.Target != tt.wantTarget {
				t.Errorf("RollbackTarget = (%.7s, %.7s), want (%.7s, %.7s)", got.Current, got.Target, tt.wantCurrent, tt.wantTarget)
			}
			cur, _, _ := Running(context.Background(), memory(tt.history))
			if cur != tt.wantCurrent {
				t.Errorf("Running = %.7s, want %.7s", cur, tt.wantCurrent)
			}
		})
	}
}

// TestReadsOnlyAsFarAsTheAnswer counts the pages each question reads: it
// grows with how far back the answer is, not with the history's length.
func TestReadsOnlyAsFarAsTheAnswer(t *testing.T) {
	ctx := context.Background()
	long := memory(deploys(1000))
	belowFailures := memory(append(repeat(150, failed(d)), deploys(850)...))
	running := func(src HistorySource) (string, error) {
		sha, _, err := Running(ctx, src)
		return sha, err
	}
	rollback := func(to string) func(HistorySource) (string, error) {
		return func(src HistorySource) (string, error) {
			r, err := RollbackTarget(ctx, src, to)
			return r.Current + " " + r.Target, err
		}
	}
	recent := func(limit int) func(HistorySource) (string, error) {
		return func(src HistorySource) (string, error) {
			us, err := Recent(ctx, src, limit)
			if len(us) == 0 {
				return "none", err
			}
			return fmt.Sprintf("%d, newest %s, oldest %s", len(us), us[0].ImageTag, us[len(us)-1].ImageTag), err
		}
	}
	tests := []struct {
		name      string
		history   memory
		ask       func(HistorySource) (string, error)
		want      string
		wantErr   bool
		wantReads int
	}{
		{"current SHA on top of 1000 updates", long, running, sha(999), false, 1},
		{"current SHA below 150 failed updates", belowFailures, running, sha(849), false, 2},
		{"current SHA of a never-deployed stack of 1000 failures", memory(repeat(1000, failed(a))), running, "", true, 5},
		{"rollback target on top of 1000 updates", long, rollback(""), sha(999) + " " + sha(998), false, 1},
		{"rollback target below 150 failed updates", belowFailures, rollback(""), sha(849) + " " + sha(848), false, 2},
		{"rollback target after 300 re-deploys", memory(append(repeat(300, deployed(a)), deploys(700)...)), rollback(""), a + " " + sha(699), false, 3},
		{"two good deploys followed by eleven failed ones", memory(append(repeat(11, failed(c)), deployed(b), deployed(a))), rollback(""), b + " " + a, false, 1},
		{"--to a SHA 250 updates back", long, rollback(sha(999 - 250)), sha(999) + " " + sha(999-250), false, 1},
		{"--to a SHA 700 updates back", long, rollback(sha(999 - 700)), sha(999) + " " + sha(999-700), false, 3},
		{"--to the oldest of 10000 updates", memory(deploys(10000)), rollback(sha(0)), sha(9999) + " " + sha(0), false, 7},
		{"--to a SHA that never ran reads it all", long, rollback(a), sha(999) + " ", true, 3},
		{"the newest 20", long, recent(20), fmt.Sprintf("20, newest %s, oldest %s", sha(999), sha(980)), false, 1},
		{"all of 1000", long, recent(0), fmt.Sprintf("1000, newest %s, oldest %s", sha(999), sha(0)), false, 3},
		{"the newest 20 of 13", memory(deploys(13)), recent(20), fmt.Sprintf("13, newest %s, oldest %s", sha(12), sha(0)), false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &counting{HistorySource: tt.history}
			got, err := tt.ask(src)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if src.reads != tt.wantReads {
				t.Errorf("read %d pages, want %d", src.reads, tt.wantReads)
			}
		})
	}
}

func TestSkippedAreNamedOnce(t *testing.T) {
	tests := []struct {
		name     string
		history  []Update
		wantSHA  string
		wantNote []string // parts of the note, "" for no note
	}{
		{"none", []Update{deployed(c)}, c, nil},
		{"invalid tags above the deploy", []Update{emptyTag, shortTag, failed(""), {Kind: "refresh", Result: "succeeded"}, upperTag, injectedTag, deployed(c), emptyTag}, c,
			[]string{"4 succeeded update(s)", `image tag ""`, `image tag "ccccccc"`, `image tag "` + strings.ToUpper(d) + `"`, `image tag "` + d + `\n::warning::pwned"`}},
		{"only the first five named", append(repeat(7, emptyTag), deployed(c)), c, []string{"7 succeeded update(s)", "and 2 more"}},
		{"never deployed", []Update{shortTag}, "", []string{"1 succeeded update(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sha, skipped, err := Running(context.Background(), memory(tt.history))
			if sha != tt.wantSHA || (err != nil) != (tt.wantSHA == "") {
				t.Errorf("Running = %.7s, %v; want %.7s", sha, err, tt.wantSHA)
			}
			note := skipped.Note()
			if len(tt.wantNote) == 0 && note != "" {
				t.Errorf("Note = %q, want none", note)
			}
			for _, part := range tt.wantNote {
				if !strings.Contains(note, part) {
					t.Errorf("Note = %q, want it to contain %q", note, part)
				}
			}
			if strings.ContainsAny(note, "\n\r") {
				t.Errorf("Note = %q, want one line", note)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain message", "deploy " + a, "deploy " + a},
		{"empty", "", ""},
		{"colons inside a line", "rollback to a::b", "rollback to a::b"},
		{"newline before a workflow command", "deploy x\n::warning::pwned", `"deploy x\n::warning::pwned"`},
		{"carriage return", "a\rb", `"a\rb"`},
		{"tab", "a\tb", `"a\tb"`},
		{"terminal escape", "\x1b[31mred", `"\x1b[31mred"`},
		{"bidi override", "a\u202eb", `"a\u202eb"`},
		{"invalid UTF-8", "a\xffb", `"a\xffb"`},
		{"starts with a workflow command", "::set-output name=x::y", `"::set-output name=x::y"`},
		{"workflow command after spaces", "  ::error::x", `"  ::error::x"`},
		{"workflow command after a unicode space", "\u2003::error::x", `"\u2003::error::x"`},
		{"legacy command anywhere", "see ##[error]x", `"see ##\x5berror]x"`},
		{"starts with a double quote", `"quoted"`, `"\"quoted\""`},
		{"non-ASCII letters", "déploiement ✓", "déploiement ✓"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Printable(tt.in)
			if got != tt.want {
				t.Errorf("Printable(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if strings.ContainsFunc(got, func(r rune) bool { return r < ' ' || r == 0x7f }) ||
				strings.HasPrefix(strings.TrimSpace(got), "::") || strings.Contains(got, "##[") {
				t.Errorf("Printable(%q) = %s: not safe to print", tt.in, got)
			}
		})
	}
}

// TestHistoryThroughTheCLI reads a history longer than a page through the
// real CLI: 450 updates written to the backend (an old good deploy of c,
// an update with an injected tag, failed ones) under one real deploy of b.
func TestHistoryThroughTheCLI(t *testing.T) {
	p := deploytest.NewProject(t, "dev", deploytest.BaseConfig())
	entries := []deploytest.Entry{{ImageTag: c, Message: contract.DeployMessage(c).String()}, {ImageTag: d + "\n::warning::pwned", Message: "ECS rolled back " + d}}
	for range 448 {
		entries = append(entries, deploytest.Entry{Result: "failed", ImageTag: a, Message: contract.DeployMessage(a).String()})
	}
	p.WriteHistory(t, entries)
	ctx := context.Background()
	s, err := Open(ctx, Options{ProjectDir: p.Dir, Stack: p.Stack, Program: deploytest.Program, ImageTagKey: "slipway:imageTag", Env: p.Env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Up(ctx, b, contract.DeployMessage(b).String()); err != nil {
		t.Fatal(err)
	}

	t.Run("all of it", func(t *testing.T) {
		all, err := Recent(ctx, s, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 451 || all[0].ImageTag != b || all[len(all)-1].ImageTag != c || all[len(all)-2].ImageTag != entries[1].ImageTag {
			t.Fatalf("got %d updates, newest %+v; want 451, the real deploy of %.7s newest and the written ones below it, oldest first", len(all), all[0], b)
		}
		if got, want := all[1].Message, contract.DeployMessage(a).String(); got != want || all[1].Result != "failed" {
			t.Errorf("second update %+v, want a failed update with message %q", all[1], want)
		}
	})
	t.Run("rollback target 450 updates back", func(t *testing.T) {
		src := &counting{HistorySource: s}
		got, err := RollbackTarget(ctx, src, "")
		if err != nil || got.Current != b || got.Target != c {
			t.Fatalf("RollbackTarget = %+v, %v; want %.7s back to %.7s", got, err, b, c)
		}
		if src.reads != 4 {
			t.Errorf("read %d pages, want 4 (100, then 100, 200 and 400 more)", src.reads)
		}
		if note := got.Skipped.Note(); !strings.Contains(note, `\n::warning::pwned`) || strings.Contains(note, "\n") {
			t.Errorf("Note = %q, want the injected tag named, escaped", note)
		}
	})
	t.Run("current SHA from the first page", func(t *testing.T) {
		src := &counting{HistorySource: s}
		if got, _, err := Running(ctx, src); err != nil || got != b || src.reads != 1 {
			t.Errorf("Running = %.7s, %v after %d pages; want %.7s after 1", got, err, src.reads, b)
		}
	})
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

// What history says about deploying a SHA now: a rollback in disguise, a
// SHA ECS rejected, or neither.
func TestPrecedentOf(t *testing.T) {
	marker := func(sha string) Update { return withMessage(deployed(sha), contract.RejectedMessage(sha)) }
	tests := []struct {
		name    string
		history []Update // newest first
		sha     string
		want    Precedent
	}{
		{"a new SHA", []Update{deployed(b), deployed(a)}, c, Precedent{Current: b}},
		{"the current SHA again", []Update{deployed(b), deployed(a)}, b, Precedent{Current: b, Ran: true}},
		{"an older SHA: a rollback", []Update{deployed(b), deployed(a)}, a, Precedent{Current: b, Older: true, Ran: true}},
		{"a SHA whose deploy only failed", []Update{deployed(b), failed(c), deployed(a)}, c, Precedent{Current: b}},
		{"a SHA ECS rolled back, never good", []Update{withMessage(deployed(b), contract.ReconcileMessage(b, c)), marker(c), deployed(c), deployed(b)}, c, Precedent{Current: b, Rejected: true}},
		{"a SHA ECS rolled back since it last ran", []Update{deployed(b), marker(a), deployed(a), deployed(b), deployed(a)}, a, Precedent{Current: b, Older: true, Rejected: true, Ran: true}},
		{"a rejected SHA that ran fine since", []Update{deployed(c), marker(c), deployed(c), deployed(b)}, c, Precedent{Current: c, Ran: true}},
		{"nothing deployed yet", nil, a, Precedent{}},
		{"a SHA hundreds of updates back", append(deploys(400)[:1], deploys(400)...), sha(10), Precedent{Current: sha(399), Older: true, Ran: true}},
		{"a promoted SHA ran", []Update{promoted(b), deployed(a)}, b, Precedent{Current: b, Ran: true}},
		{"a promotion's message naming another SHA claims nothing", []Update{withMessage(deployed(b), contract.PromoteMessage(c, "staging"))}, c, Precedent{Current: b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PrecedentOf(context.Background(), memory(tt.history), tt.sha, time.Time{})
			if err != nil || got.Current != tt.want.Current || got.Older != tt.want.Older || got.Rejected != tt.want.Rejected || got.Ran != tt.want.Ran {
				t.Errorf("PrecedentOf(%s) = %+v, %v; want %+v", tt.sha[:7], got, err, tt.want)
			}
		})
	}
}

// A promotion is a first-hand deploy of its SHA, like a deploy: it is what
// runs, a rollback goes back past it to the deploy before, and a rollback
// to it followed by another rollback goes further back, never forward.
func TestPromotionIsAFirstHandDeploy(t *testing.T) {
	for _, tt := range []struct {
		name    string
		history memory // newest first
		want    string // the default rollback target
	}{
		{"promoted over a deploy", memory{promoted(b), deployed(a)}, a},
		{"promoted over a promotion", memory{promoted(c), promoted(b), promoted(a)}, b},
		{"rolled back to a promoted SHA: the next rollback goes further back", memory{rollbackTo(b, c), promoted(c), promoted(b), promoted(a)}, a},
		{"a re-promotion of the running SHA is part of its era", memory{promoted(b), promoted(b), deployed(a)}, a},
	} {
		t.Run(tt.name, func(t *testing.T) {
			running, _, err := Running(context.Background(), tt.history)
			if err != nil || running != tt.history[0].ImageTag {
				t.Errorf("Running = %s, %v; want the newest promotion %s", running, err, tt.history[0].ImageTag)
			}
			r, err := RollbackTarget(context.Background(), tt.history, "")
			if err != nil || r.Target != tt.want {
				t.Errorf("RollbackTarget = %+v, %v; want target %s", r, err, tt.want[:7])
			}
		})
	}
}

// A SHA cannot have been deployed before its commit was made: with the
// commit's time, PrecedentOf reads a new SHA's precedent only back to a
// week (commitSkew) before it, so the cost of every CD deploy's check
// grows with the commit's age, not with the history's length; without it,
// the whole history.
func TestPrecedentStopsAtTheCommit(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	h := hourly(1000, now)
	stale := hourly(1000, now.Add(-60*24*time.Hour)) // the newest deploy two months ago
	tests := []struct {
		name      string
		history   memory
		sha       string
		commit    time.Time // zero: unknown
		want      Precedent
		wantReads int
	}{
		{"a new SHA, commit time unknown: all of it", h, a, time.Time{}, Precedent{Current: sha(999)}, 3},
		{"a new SHA committed now: back to a week before", h, a, now, Precedent{Current: sha(999)}, 1},
		{"a SHA deployed 100 hours ago, committed before: found", h, sha(900), now.Add(-200 * time.Hour), Precedent{Current: sha(999), Older: true, Ran: true}, 1},
		{"a SHA deployed 3 days before its recorded commit time (a clock ahead): found", h, sha(999 - 72), now.Add(-time.Hour), Precedent{Current: sha(999), Older: true, Ran: true}, 1},
		{"a SHA deployed 500 hours ago, its commit time a month old: found deep", h, sha(499), now.Add(-30 * 24 * time.Hour), Precedent{Current: sha(999), Older: true, Ran: true}, 2},
		{"the current deploy older than the bound: still read", stale, a, now, Precedent{Current: sha(999)}, 1},
		{"start times unknown: no bound, all of it", memory(deploys(1000)), a, now, Precedent{Current: sha(999)}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &counting{HistorySource: tt.history}
			var notBefore time.Time
			if !tt.commit.IsZero() {
				notBefore = tt.commit.Add(-commitSkew)
			}
			got, err := PrecedentOf(context.Background(), src, tt.sha, notBefore)
			if err != nil || got.Current != tt.want.Current || got.Older != tt.want.Older || got.Rejected != tt.want.Rejected || got.Ran != tt.want.Ran {
				t.Errorf("PrecedentOf(%.7s) = %+v, %v; want %+v", tt.sha, got, err, tt.want)
			}
			if src.reads != tt.wantReads {
				t.Errorf("read %d pages, want %d", src.reads, tt.wantReads)
			}
		})
	}
}

// Note names an update's version only where the backend numbers its
// updates: a file:// or s3:// backend gives every one version 0.
func TestSkippedNoteVersions(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		version int
		want    string
	}{
		{0, `2026-12-01T10:00:00Z (image tag "v1")`},
		{7, `2026-12-01T10:00:00Z (version 7, image tag "v1")`},
	} {
		u := Update{Kind: "update", Result: "succeeded", ImageTag: "v1", Start: start, Version: tt.version}
		if got := (Skipped{u}).Note(); !strings.HasSuffix(got, "started "+tt.want) {
			t.Errorf("Note of version %d = %q, want it to end with %q", tt.version, got, tt.want)
		}
	}
}
