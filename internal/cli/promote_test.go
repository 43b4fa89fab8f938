package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/slipway-dev/slipway/internal/awsx/awsfake"
	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/deploy/deploytest"
	"github.com/slipway-dev/slipway/internal/pins"
)

// newEnvironments is two stacks of the project in one file:// backend and
// one fake AWS, as the one-account layout has them: staging, which owns
// the repository, and prod, which uses it and receives staging's
// promotions. Each world runs the tool on its own stack.
func newEnvironments(t *testing.T) (staging, prod *world) {
	t.Helper()
	staging, _ = stackWorld(t, "staging")
	prod = &world{t: t, p: staging.p.AddStack(t, "prod", deploytest.PromotedConfig("staging")), aws: staging.aws, env: staging.env, summary: staging.summary}
	return staging, prod
}

// repush deletes the tag sha and pushes another image under it, as ECR
// lets anyone with push rights do even in an IMMUTABLE repository: the
// image prod would pull is then not the one staging ran.
func repush(t *testing.T, w *world, sha string) {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out, err := ecr.NewFromConfig(cfg).BatchDeleteImage(context.Background(), &ecr.BatchDeleteImageInput{
		RepositoryName: awssdk.String("api-service"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: awssdk.String(sha)}},
	})
	if err != nil || len(out.Failures) > 0 {
		t.Fatalf("BatchDeleteImage %s: %+v, %v", sha, out, err)
	}
	w.push(sha)
}

// Promotion with the real engine: staging's verified SHA goes to prod,
// with prod's history saying so; what staging did not verifiably run (an
// unverified deploy, one ECS rolled back, one whose image changed since)
// is refused before prod is touched; a rollback in one stack leaves the
// other's history alone.
func TestPromote(t *testing.T) {
	staging, prod := newEnvironments(t)
	staging.push(shaA)
	staging.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	prod.mustRun(t, ExitOK, "up", "--all", "--sha", shaA)
	staging.push(shaB)
	staging.mustRun(t, ExitOK, "up", "--sha", shaB)
	if got, want := staging.aws.TagsPut("api-service"), []string{
		contract.DeployedTagPrefix + shaA, contract.VerifiedTag("staging", shaA),
		contract.VerifiedTag("prod", shaA), // deployed-A is on the image already
		contract.DeployedTagPrefix + shaB, contract.VerifiedTag("staging", shaB),
	}; !slices.Equal(got, want) {
		t.Errorf("tags added in ECR %v, want %v: each verified deploy tags deployed-<sha> and verified-<stack>-<sha>", got, want)
	}

	// refused checks that a promote exits 7 (or code) naming wants, and
	// that neither stack's history changed.
	refused := func(t *testing.T, code int, args []string, wants ...string) {
		t.Helper()
		hs, hp := len(staging.history(t)), len(prod.history(t))
		_, errs := prod.mustRun(t, code, append([]string{"promote", "--from", "staging", "--to", "prod"}, args...)...)
		wantStderr(t, errs, wants...)
		if s, p := len(staging.history(t)), len(prod.history(t)); s != hs || p != hp {
			t.Errorf("history grew (staging %d → %d, prod %d → %d): a refused promotion touched a stack", hs, s, hp, p)
		}
		prod.mustRun(t, ExitOK, "status") // no lock left behind, ECS agrees with the stack
	}

	t.Run("bad input changes nothing", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--to", "prod"}, "--from is required"},
			{[]string{"--from", "staging"}, "--to is required"},
			{[]string{"--from", "prod", "--to", "prod"}, "--from and --to are both prod"},
			{[]string{"--from", "acme/staging", "--to", "prod"}, `--from: stack name "acme/staging"`},
			{[]string{"--from", "staging", "--to", "prod", "--stack", "staging"}, "--stack staging and --to prod"},
			{[]string{"--from", "staging", "--to", "prod", "--sha", shaB[:12]}, "--sha"},
			{[]string{"--from", "staging", "--to", "prod", "--commit-time", "yesterday"}, `--commit-time "yesterday": want a time in RFC 3339`},
			{[]string{"--from", "dev", "--to", "prod"}, "receives promotions from staging only"},
			{[]string{"--from", "prod", "--to", "staging"}, "stack staging sets no slipway:promoteFrom"},
			{[]string{"--from", "staging", "--to", "qa"}, "qa"},
		} {
			code, _, errs := staging.runNoStack(append([]string{"promote"}, tc.args...)...)
			if code != ExitBadInput || !strings.Contains(errs, tc.want) {
				t.Errorf("promote %s: exit %d, want %d with %q:\n%s", strings.Join(tc.args, " "), code, ExitBadInput, tc.want, tail(errs))
			}
		}
	})

	t.Run("staging's verified SHA, by default: promoted, and prod's history says so", func(t *testing.T) {
		out, _ := prod.mustRun(t, ExitOK, "promote", "--from", "staging", "--to", "prod", "--output", "json")
		o := outcome(t, out)
		if o.Kind != deploy.Verified || o.ImageTag != shaB || o.Previous != shaA || o.PromotedFrom != "staging" || o.Verb != "promote" || o.Stack != "prod" {
			t.Errorf("outcome %+v, want promote %s from staging to prod verified after %s", o, shaB, shaA)
		}
		if len(o.Phases) == 0 || o.Phases[0].Name != deploy.PhasePromotionCheck {
			t.Errorf("phases %+v, want the promotion check first", o.Phases)
		}
		h := prod.history(t)
		if want := contract.PromoteMessage(shaB, "staging").String(); h[0].ImageTag != shaB || h[0].Message != want || h[0].Result != "succeeded" {
			t.Errorf("prod's newest update %+v, want %q", h[0], want)
		}
		table, _ := prod.mustRun(t, ExitOK, "history")
		if !strings.Contains(table, "promote "+shaB+" from staging") {
			t.Errorf("deploy history does not show the promotion:\n%s", table)
		}
		if got := staging.aws.TagsPut("api-service"); !slices.Contains(got, contract.VerifiedTag("prod", shaB)) {
			t.Errorf("tags added %v: prod's verified promotion is not tagged %s", got, contract.VerifiedTag("prod", shaB))
		}
	})

	t.Run("a SHA ECS rolled back in staging: refused", func(t *testing.T) {
		staging.push(shaC)
		staging.failsToStart(shaC)
		staging.mustRun(t, ExitRolledBack, "up", "--sha", shaC)
		refused(t, ExitRefused, []string{"--sha", shaC}, "ECS rolled back its deploy in staging", "can be promoted, newest first: "+shaB+", "+shaA)
	})

	t.Run("a SHA staging's deploy did not verify: refused", func(t *testing.T) {
		staging.push(shaD)
		staging.aws.SetRollout(image(shaD), awsfake.Rollout{Outcome: awsfake.Stalls})
		staging.mustRun(t, ExitFailure, "up", "--sha", shaD, "--verify-timeout", "300ms")
		refused(t, ExitRefused, []string{"--sha", shaD}, "holds no tag "+contract.VerifiedTag("staging", shaD), shaB+", "+shaA)
		// The default, what staging runs now, is the same unverified SHA.
		refused(t, ExitRefused, nil, "holds no tag "+contract.VerifiedTag("staging", shaD))
	})

	t.Run("the image prod would pull is not the one staging verified: refused", func(t *testing.T) {
		repush(t, staging, shaB)
		refused(t, ExitRefused, []string{"--sha", shaB, "--output", "json"}, "staging ran the image", "but "+deploytest.RepositoryURL+":"+shaB+" is now")
	})

	t.Run("a rollback in prod leaves staging's history alone", func(t *testing.T) {
		before := staging.history(t)
		out, _ := prod.mustRun(t, ExitOK, "rollback", "--output", "json")
		if o := outcome(t, out); o.Kind != deploy.Verified || o.ImageTag != shaA {
			t.Errorf("prod's rollback %+v, want verified back to %s", o, shaA)
		}
		if h := prod.history(t); h[0].Message != contract.RollbackMessage(shaA, shaB).String() {
			t.Errorf("prod's newest update %q, want the rollback to %s", h[0].Message, shaA)
		}
		if after := staging.history(t); !slices.Equal(after, before) {
			t.Errorf("staging's history changed with prod's rollback:\n%+v\nwant\n%+v", after, before)
		}
	})

	t.Run("and a rollback in staging leaves prod's alone", func(t *testing.T) {
		before := prod.history(t)
		out, _ := staging.mustRun(t, ExitOK, "rollback", "--output", "json")
		// Staging's newest deploy is still in flight (unverified): ECS rolls
		// it back, and the stack is reconciled to what it went back to.
		o := outcome(t, out)
		if h := staging.history(t); o.Kind != deploy.Verified || o.StoppedDeployment == "" || h[0].ImageTag != o.ImageTag || h[0].Result != "succeeded" {
			t.Errorf("staging's rollback: %s to %.7s (stopped %q), newest update %+v; want a verified rollback recorded", o.Kind, o.ImageTag, o.StoppedDeployment, h[0])
		}
		if after := prod.history(t); !slices.Equal(after, before) {
			t.Errorf("prod's history changed with staging's rollback:\n%+v\nwant\n%+v", after, before)
		}
	})
}

// runNoStack runs the tool in the world's project without --stack.
func (w *world) runNoStack(args ...string) (int, string, string) {
	w.t.Helper()
	var out, errb strings.Builder
	c := &Command{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return w.env[k] }, Program: deploytest.Program, Plugins: []pins.Plugin{}, VerifyInterval: 1}
	code := c.Main(context.Background(), append(args, "--dir", w.p.Dir))
	return code, out.String(), errb.String()
}
