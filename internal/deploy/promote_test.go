package deploy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
)

// stagingRepo is the repository URL the staging stack's outputs name in
// the promotion table: another region than prod's, so that the table
// sees which repository and region each lookup goes to.
const stagingRepo = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api-service"

// fakeSource is the staging stack as a promotion reads it.
type fakeSource struct {
	log        *calls
	history    memory
	historyErr error
	outputs    map[string]interface{}
}

func (s *fakeSource) HistoryPage(ctx context.Context, pageSize, page int) ([]Update, error) {
	if s.historyErr != nil {
		return nil, s.historyErr
	}
	return s.history.HistoryPage(ctx, pageSize, page)
}

func (s *fakeSource) Outputs(context.Context) (map[string]interface{}, error) {
	s.log.add("staging outputs")
	return s.outputs, nil
}

// fakeRegistry is ECR as a promotion asks it: digests by repository:tag.
type fakeRegistry struct {
	log     *calls
	region  string
	digests map[string]string
	err     error
}

func (r *fakeRegistry) ImageDigest(_ context.Context, repository, tag string) (string, bool, error) {
	for _, sha := range []string{shaOld, shaNew, shaX} {
		tag = strings.Replace(tag, sha, short(sha), 1)
	}
	r.log.add("digest %s %s", r.region, tag)
	if r.err != nil {
		return "", false, r.err
	}
	for _, sha := range []string{shaOld, shaNew, shaX} {
		tag = strings.Replace(tag, short(sha), sha, 1)
	}
	d, ok := r.digests[repository+":"+tag]
	return d, ok, nil
}

func stagingOutputs() map[string]interface{} {
	return map[string]interface{}{contract.OutRegion: "eu-west-1", contract.OutRepositoryURL: stagingRepo, contract.OutClusterName: "staging-cluster", contract.OutServiceName: "api-service"}
}

// The promotion decision table: what a promote of staging's SHAs to prod
// decides, with the exact order of calls. Every refusal reads and looks up
// only: no preview, no update, no marker.
func TestPromoteDecisions(t *testing.T) {
	promote := contract.PromoteMessage(shaNew, "staging").String()
	const d1, d2, d3 = "sha256:1111", "sha256:2222", "sha256:3333"
	// ECR as it is after staging verifiably ran shaNew and shaOld: both
	// tagged verified-staging-<sha>, on the digest prod would pull.
	verifiedBoth := map[string]string{
		stagingRepo + ":" + contract.VerifiedTag("staging", shaNew): d1, repo + ":" + shaNew: d1,
		stagingRepo + ":" + contract.VerifiedTag("staging", shaOld): d3, repo + ":" + shaOld: d3,
	}
	without := func(m map[string]string, keys ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if !slices.Contains(keys, k) {
				out[k] = v
			}
		}
		return out
	}
	with := func(m map[string]string, k, v string) map[string]string {
		out := without(m)
		out[k] = v
		return out
	}
	reconciled := withMessage(deployed(shaOld), contract.ReconcileMessage(shaOld, shaNew))
	marker := withMessage(deployed(shaNew), contract.RejectedMessage(shaNew))
	staging := memory{deployed(shaNew), deployed(shaOld)}

	open := []string{"outputs", "staging outputs", "registry eu-west-1", "registry us-east-1"}
	lookups := []string{"digest eu-west-1 verified-staging-bbbbbbb", "digest us-east-1 bbbbbbb"}
	// The promotable SHAs a refusal names: staging's newest good SHAs,
	// each looked up.
	listing := func(shas ...string) []string {
		out := []string{"staging outputs", "registry eu-west-1", "registry us-east-1"}
		for _, sha := range shas {
			out = append(out, "digest eu-west-1 verified-staging-"+short(sha), "digest us-east-1 "+short(sha))
		}
		return out
	}
	// The deploy to prod after a promotion check that passed.
	deploying := []string{"outputs", "open us-east-1", "service", "images 1", "image-exists bbbbbbb", "preview bbbbbbb", "up " + promote, "wait 2"}

	tests := []struct {
		name     string
		sha      string // --sha; "" is staging's running SHA
		staging  fakeSource
		prod     memory // prod's history; deployed(shaOld) when nil
		commit   time.Time
		outputs  map[string]interface{}
		digests  map[string]string
		regErr   error
		want     Kind
		wantSHA  string   // Outcome.ImageTag
		wantErr  string   // in Outcome.Err
		wantList []string // Outcome.Promotable
		calls    []string
	}{
		{
			name:    "no --sha: staging's running SHA, verified, promoted with the promote message",
			staging: fakeSource{history: staging},
			digests: verifiedBoth,
			want:    Verified, wantSHA: shaNew,
			calls: slices.Concat(open, lookups, deploying, tagged(shaNew)),
		},
		{
			name:    "no --sha: staging's running SHA is the newest that really ran, not a newer one ECS rolled back",
			staging: fakeSource{history: memory{reconciled, marker, deployed(shaNew), deployed(shaOld)}},
			digests: verifiedBoth,
			prod:    memory{deployed(shaX), deployed(shaOld)},
			// prod runs shaX and shaOld ran there before: promoting staging's
			// running shaOld to prod would go back in time.
			want: RefusedOlder, wantSHA: shaOld, wantErr: "rollback --to " + shaOld,
			calls: slices.Concat(open, []string{"digest eu-west-1 verified-staging-aaaaaaa", "digest us-east-1 aaaaaaa"}),
		},
		{
			name:    "no --sha with a commit time: the time is no SHA's the caller named, so prod's history is read past it",
			staging: fakeSource{history: memory{reconciled, marker, deployed(shaNew), deployed(shaOld)}},
			digests: verifiedBoth,
			prod:    memory{startedAt(deployed(shaX), clockStart.Add(-time.Hour)), startedAt(deployed(shaOld), clockStart.Add(-30*24*time.Hour))},
			commit:  clockStart,
			want:    RefusedOlder, wantSHA: shaOld, wantErr: "rollback --to " + shaOld,
			calls: slices.Concat(open, []string{"digest eu-west-1 verified-staging-aaaaaaa", "digest us-east-1 aaaaaaa"}),
		},
		{
			name:    "--sha of an older verified SHA of staging: promoted",
			sha:     shaNew,
			staging: fakeSource{history: memory{deployed(shaX), deployed(shaNew)}},
			digests: verifiedBoth,
			want:    Verified, wantSHA: shaNew,
			calls: slices.Concat(open, lookups, deploying, tagged(shaNew)),
		},
		{
			name:    "a SHA that never ran in staging: refused, naming what can be promoted",
			sha:     shaX,
			staging: fakeSource{history: staging},
			digests: verifiedBoth,
			want:    RefusedNotPromotable, wantSHA: shaX, wantErr: "never ran in staging",
			wantList: []string{shaNew, shaOld},
			calls:    slices.Concat([]string{"outputs"}, listing(shaNew, shaOld)),
		},
		{
			name:    "a SHA whose update failed in staging: refused",
			sha:     shaNew,
			staging: fakeSource{history: memory{failed(shaNew), deployed(shaOld)}},
			digests: verifiedBoth,
			want:    RefusedNotPromotable, wantSHA: shaNew, wantErr: "never ran in staging",
			wantList: []string{shaOld},
			calls:    slices.Concat([]string{"outputs"}, listing(shaOld)),
		},
		{
			name:    "a SHA ECS rolled back in staging (its marker and reconcile): refused, though its image is tagged verified from before",
			sha:     shaNew,
			staging: fakeSource{history: memory{reconciled, marker, deployed(shaNew), deployed(shaOld)}},
			digests: verifiedBoth,
			want:    RefusedNotPromotable, wantSHA: shaNew, wantErr: "ECS rolled back its deploy in staging",
			wantList: []string{shaOld},
			calls:    slices.Concat([]string{"outputs"}, listing(shaOld)),
		},
		{
			name:    "a SHA that ran in staging, then ECS rolled back its re-deploy there: refused, and not named as promotable",
			sha:     shaNew,
			staging: fakeSource{history: memory{reconciled, marker, deployed(shaNew), deployed(shaOld), deployed(shaNew)}},
			digests: verifiedBoth,
			want:    RefusedNotPromotable, wantSHA: shaNew, wantErr: "ECS rolled back its deploy in staging",
			wantList: []string{shaOld},
			calls:    slices.Concat([]string{"outputs"}, listing(shaOld)),
		},
		{
			name:    "a SHA staging's deploy did not verify (timed out: no verified tag): refused",
			sha:     shaNew,
			staging: fakeSource{history: staging},
			digests: without(verifiedBoth, stagingRepo+":"+contract.VerifiedTag("staging", shaNew)),
			want:    RefusedNotPromotable, wantSHA: shaNew, wantErr: "holds no tag verified-staging-" + shaNew,
			wantList: []string{shaOld},
			calls:    slices.Concat(open, lookups[:1], listing(shaNew, shaOld)[:4], listing(shaOld)[3:]),
		},
		{
			name:    "the image prod would pull is not the one staging verified: refused",
			sha:     shaNew,
			staging: fakeSource{history: staging},
			digests: with(verifiedBoth, repo+":"+shaNew, d2),
			want:    RefusedNotPromotable, wantSHA: shaNew, wantErr: "staging ran the image " + d1,
			wantList: []string{shaOld},
			calls:    slices.Concat(open, lookups, listing(shaNew, shaOld)),
		},
		{
			name:    "the image prod would pull is gone: refused as a missing image",
			sha:     shaNew,
			staging: fakeSource{history: staging},
			digests: without(verifiedBoth, repo+":"+shaNew),
			want:    RefusedNoImage, wantSHA: shaNew, wantErr: "is not in ECR",
			wantList: []string{shaOld},
			calls:    slices.Concat(open, lookups, listing(shaNew, shaOld)),
		},
		{
			name:    "staging never deployed: nothing to promote",
			staging: fakeSource{history: memory{failed(shaNew)}},
			digests: verifiedBoth,
			want:    RefusedNotPromotable, wantErr: "staging has no deploy that really ran",
			calls: []string{"outputs"},
		},
		{
			name:    "prod never deployed: refused before anything is asked of staging",
			staging: fakeSource{history: staging},
			outputs: map[string]interface{}{},
			digests: verifiedBoth,
			want:    RefusedNeverDeployed, wantErr: "up --all",
			calls: []string{"outputs"},
		},
		{
			name:    "prod has the registry's outputs alone (bootstrap step 3): never deployed, refused",
			staging: fakeSource{history: staging},
			outputs: registryOutputs,
			digests: verifiedBoth,
			want:    RefusedNeverDeployed, wantErr: "up --all",
			calls: []string{"outputs"},
		},
		{
			name:    "ECS rolled the SHA back in prod before: refused after the promotion check, nothing applied",
			staging: fakeSource{history: staging},
			prod:    memory{reconciled, marker, deployed(shaNew), deployed(shaOld)},
			digests: verifiedBoth,
			want:    RefusedRejected, wantSHA: shaNew, wantErr: "ECS rolled back a deploy of " + shaNew,
			calls: slices.Concat(open, lookups),
		},
		{
			name:    "ECR cannot be asked: failed, nothing applied",
			staging: fakeSource{history: staging},
			regErr:  errors.New("AccessDeniedException: ecr:DescribeImages"),
			want:    Failed, wantSHA: shaNew, wantErr: "ecr:DescribeImages",
			calls: slices.Concat(open, lookups[:1]),
		},
		{
			name:    "staging's history cannot be read: failed, nothing applied",
			staging: fakeSource{historyErr: errors.New("AccessDenied: s3:GetObject")},
			want:    Failed, wantErr: "reading staging's history",
			calls: []string{"outputs"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log calls
			outputs := tt.outputs
			if outputs == nil {
				outputs = stackOutputs(tdOld)
			}
			stack := &fakeStack{log: &log, outputs: outputs, plan: deployPlan, ups: []upAnswer{{taskDef: tdNew}}}
			cloud := &fakeCloud{log: &log, images: map[string]imageAnswer{shaNew: {ok: true}, shaOld: {ok: true}}, waits: []waitAnswer{verified}}
			prod := tt.prod
			if prod == nil {
				prod = memory{deployed(shaOld)}
			}
			tt.staging.log = &log
			if tt.staging.outputs == nil {
				tt.staging.outputs = stagingOutputs()
			}
			d := &Deployer{Stack: stack, History: prod, OpenCloud: func(_ context.Context, region string) (Cloud, error) {
				log.add("open %s", region)
				return cloud, nil
			}}
			p := Promotion{From: "staging", Source: &tt.staging, OpenRegistry: func(_ context.Context, region string) (Registry, error) {
				log.add("registry %s", region)
				return &fakeRegistry{log: &log, region: region, digests: tt.digests, err: tt.regErr}, nil
			}}
			o := d.Promote(context.Background(), p, Request{Stack: "prod", SHA: tt.sha, CommitTime: tt.commit})
			if o.Kind != tt.want {
				t.Errorf("outcome %s (%v), want %s", o.Kind, o.Err, tt.want)
			}
			if o.ImageTag != tt.wantSHA || o.Verb != "promote" || o.PromotedFrom != "staging" || o.Stack != "prod" {
				t.Errorf("outcome %s %s to %s from %q, want promote %s to prod from staging", o.Verb, o.ImageTag, o.Stack, o.PromotedFrom, tt.wantSHA)
			}
			if !slices.Equal(log, tt.calls) {
				t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(log, "\n  "), strings.Join(tt.calls, "\n  "))
			}
			for _, c := range log {
				if tt.want != Verified && (strings.HasPrefix(c, "up ") || strings.HasPrefix(c, "mark ") || strings.HasPrefix(c, "preview ") || strings.HasPrefix(c, "add-tag ")) {
					t.Errorf("a promotion refused or failed (%s) called %q: it must touch nothing", o.Kind, c)
				}
			}
			switch {
			case tt.wantErr == "" && o.Err != nil:
				t.Errorf("Err = %v, want none", o.Err)
			case tt.wantErr != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), tt.wantErr)):
				t.Errorf("Err = %v, want it to contain %q", o.Err, tt.wantErr)
			}
			if (o.Err == nil) != (o.Error == "") {
				t.Errorf("Error %q does not carry Err %v", o.Error, o.Err)
			}
			if !slices.Equal(o.Promotable, tt.wantList) {
				t.Errorf("Promotable = %v, want %v", o.Promotable, tt.wantList)
			}
			if tt.want == Verified || tt.want == RefusedNotPromotable && tt.wantSHA != "" {
				if len(o.Phases) == 0 || o.Phases[0].Name != PhasePromotionCheck {
					t.Errorf("phases %+v, want the promotion check first", o.Phases)
				}
			}
		})
	}
}
