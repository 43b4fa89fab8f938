package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/slipway-dev/slipway/internal/contract"
)

// PromoteSource is what a promotion reads of the stack it promotes from:
// its history and its outputs, never its lock. A *HistoryReader is one.
type PromoteSource interface {
	HistorySource
	Outputs(ctx context.Context) (map[string]interface{}, error)
}

// Registry is what a promotion asks ECR; *awsx.Client is one.
type Registry interface {
	ImageDigest(ctx context.Context, repository, tag string) (digest string, found bool, err error)
}

// Promotion is the stack a promotion takes its SHA from, and how to ask
// about it.
type Promotion struct {
	From   string        // the stack promoted from, such as staging
	Source PromoteSource // From's history and outputs
	// OpenRegistry opens ECR in a stack's region (its region output).
	OpenRegistry func(ctx context.Context, region string) (Registry, error)
}

// PhasePromotionCheck is the phase that checks a promotion's evidence.
const PhasePromotionCheck = "promotion check"

// maxPromotable is how many of the source stack's newest verified SHAs a
// refusal names (each costs two ECR lookups).
const maxPromotable = 5

// NotPromotableError is a promotion refused before anything was touched.
type NotPromotableError struct {
	From   string
	SHA    string // "" when From has no deploy that ran
	Reason string
	// NoImage: the image is missing from the repository the target
	// stack pulls from (a refusal like any deploy's of a missing image).
	NoImage bool
	// Promotable are From's newest verified SHAs that can be promoted.
	Promotable []string
}

func (e *NotPromotableError) Error() string {
	if e.SHA == "" {
		return fmt.Sprintf("nothing to promote from %s: %s", e.From, e.Reason)
	}
	return fmt.Sprintf("%s cannot be promoted from %s: %s", e.SHA, e.From, e.Reason)
}

// Promotable is a SHA a promotion may deploy.
type Promotable struct {
	SHA string
	// Digest is the image digest the source stack verifiably ran, which
	// the target stack's repository holds under the SHA.
	Digest string
}

// Check decides whether sha may be promoted from p.From to the stack
// whose outputs are to; an empty sha means the SHA p.From runs now. It
// only reads: p.From's history and outputs, and ECR. It requires that
//
//   - p.From's history holds a deploy of the SHA that really ran, which
//     ECS did not roll back since (see PrecedentOf);
//   - p.From's repository holds the tag contract.VerifiedTag(p.From, sha),
//     which a deploy adds only once ECS verifiably ran the image;
//   - the target's repository holds the SHA's image with that same
//     digest: the image the target would pull is the one p.From ran.
//
// A refusal is a *NotPromotableError naming p.From's newest SHAs that
// pass all three; any other error is a failure to find out. Once the SHA
// is known, the Promotable returned with an error holds it.
func (p Promotion) Check(ctx context.Context, sha string, to map[string]interface{}) (Promotable, error) {
	refuse := func(sha, format string, args ...interface{}) error {
		return &NotPromotableError{From: p.From, SHA: sha, Reason: fmt.Sprintf(format, args...), Promotable: p.promotable(ctx, to)}
	}
	if sha == "" {
		running, _, err := Running(ctx, p.Source)
		switch {
		case errors.Is(err, ErrNeverDeployed):
			return Promotable{}, refuse("", "%s has no deploy that really ran", p.From)
		case err != nil:
			return Promotable{}, fmt.Errorf("reading %s's history: %w", p.From, err)
		}
		sha = running
	}
	prec, err := PrecedentOf(ctx, p.Source, sha, time.Time{})
	switch {
	case err != nil:
		return Promotable{}, fmt.Errorf("reading %s's history: %w", p.From, err)
	case prec.Rejected:
		return Promotable{}, refuse(sha, "ECS rolled back its deploy in %s, and it has not run there since", p.From)
	case !prec.Ran:
		return Promotable{}, refuse(sha, "it never ran in %s (never deployed there, or its update failed)", p.From)
	}
	r, err := p.registries(ctx, to)
	if err != nil {
		return Promotable{SHA: sha}, err
	}
	tag := contract.VerifiedTag(p.From, sha)
	ran, found, err := r.from.ImageDigest(ctx, r.fromRepo, tag)
	switch {
	case err != nil:
		return Promotable{SHA: sha}, fmt.Errorf("looking up the tag %s in %s: %w", tag, r.fromRepo, err)
	case !found:
		return Promotable{SHA: sha}, refuse(sha, "%s holds no tag %s: ECS did not verifiably run it in %s (the deploy was unverified: the rollout timed out or was not confirmed; or the tag could not be added)", r.fromRepo, tag, p.From)
	}
	pull, found, err := r.to.ImageDigest(ctx, r.toRepo, sha)
	switch {
	case err != nil:
		return Promotable{SHA: sha}, fmt.Errorf("looking up the image %s:%s: %w", r.toRepo, sha, err)
	case !found:
		e := refuse(sha, "the image %s:%s this stack would pull is not in ECR (expired by the lifecycle policy, or deleted)", r.toRepo, sha).(*NotPromotableError)
		e.NoImage = true
		return Promotable{SHA: sha}, e
	case pull != ran:
		return Promotable{SHA: sha}, refuse(sha, "%s ran the image %s (%s:%s), but %s:%s is now %s: the tag was pushed again since, and the image this stack would pull is not the one %s verified", p.From, ran, r.fromRepo, tag, r.toRepo, sha, pull, p.From)
	}
	return Promotable{SHA: sha, Digest: ran}, nil
}

// registries are the repositories of both stacks and ECR clients for them.
type registries struct {
	fromRepo, toRepo string
	from, to         Registry
}

func (p Promotion) registries(ctx context.Context, to map[string]interface{}) (registries, error) {
	from, err := p.Source.Outputs(ctx)
	if err != nil {
		return registries{}, fmt.Errorf("reading %s's outputs: %w", p.From, err)
	}
	var r registries
	var regions [2]string
	for i, s := range []struct {
		outputs map[string]interface{}
		repo    *string
		stack   string
	}{{from, &r.fromRepo, p.From}, {to, &r.toRepo, "the target stack"}} {
		if *s.repo, err = outputString(s.outputs, contract.OutRepositoryURL); err != nil {
			return registries{}, fmt.Errorf("%s: %w", s.stack, err)
		}
		if regions[i], err = outputString(s.outputs, contract.OutRegion); err != nil {
			return registries{}, fmt.Errorf("%s: %w", s.stack, err)
		}
	}
	if r.from, err = p.OpenRegistry(ctx, regions[0]); err != nil {
		return registries{}, err
	}
	r.to = r.from
	if regions[1] != regions[0] {
		if r.to, err = p.OpenRegistry(ctx, regions[1]); err != nil {
			return registries{}, err
		}
	}
	return r, nil
}

// promotable are p.From's newest SHAs (at most maxPromotable looked at)
// that ran there, were not rolled back since, carry the verified tag, and
// whose image the target would pull: what a refusal suggests instead.
// Best effort: what cannot be read suggests nothing.
func (p Promotion) promotable(ctx context.Context, to map[string]interface{}) []string {
	l := newLedger()
	var candidates []string
	for u, err := range updates(ctx, p.Source, nearPage) {
		if err != nil {
			return nil
		}
		if l.add(u) && !l.rejected[u.ImageTag] && !slices.Contains(candidates, u.ImageTag) {
			if candidates = append(candidates, u.ImageTag); len(candidates) == maxPromotable {
				break
			}
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	r, err := p.registries(ctx, to)
	if err != nil {
		return nil
	}
	var out []string
	for _, sha := range candidates {
		ran, found, err := r.from.ImageDigest(ctx, r.fromRepo, contract.VerifiedTag(p.From, sha))
		if err != nil || !found {
			continue
		}
		if pull, found, err := r.to.ImageDigest(ctx, r.toRepo, sha); err == nil && found && pull == ran {
			out = append(out, sha)
		}
	}
	return out
}

// Promote deploys to r.Stack a SHA the stack p.From verifiably ran: r.SHA,
// or without it the SHA p.From runs now. It checks the promotion first
// (Promotion.Check) and refuses, having touched nothing, when the SHA is
// not promotable; then it deploys the SHA like Up (the same precedent in
// this stack, image check, guard, update, verification and reconcile),
// with the message "promote <sha> from <p.From>". r.Previous and
// r.Message are Promote's to set.
func (d *Deployer) Promote(ctx context.Context, p Promotion, r Request) Outcome {
	o := Outcome{Stack: r.Stack, Verb: "promote", ImageTag: r.SHA, PromotedFrom: p.From, Phases: []Phase{}}
	outputs, err := d.Stack.Outputs(ctx)
	switch {
	case err != nil:
		engineEnd(ctx, &o, fmt.Errorf("reading the stack's outputs: %w", err))
	case !hasService(outputs):
		end(&o, RefusedNeverDeployed, errors.New("the stack has never been deployed: an administrator runs the first deploy with up --all (README: bootstrap)"))
	}
	if o.Err != nil {
		o.Error = o.Err.Error()
		return o
	}
	start := d.now()
	got, err := p.Check(ctx, r.SHA, outputs)
	var refused *NotPromotableError
	switch {
	case errors.As(err, &refused):
		d.phase(&o, PhasePromotionCheck, start, "refused")
		o.ImageTag, o.Promotable = refused.SHA, refused.Promotable
		kind := RefusedNotPromotable
		if refused.NoImage {
			kind = RefusedNoImage
		}
		end(&o, kind, err)
	case err != nil:
		d.phase(&o, PhasePromotionCheck, start, "failed")
		o.ImageTag = cmp.Or(got.SHA, o.ImageTag)
		engineEnd(ctx, &o, err)
	}
	if o.Err != nil {
		o.Error = o.Err.Error()
		return o
	}
	d.phase(&o, PhasePromotionCheck, start, "ok")
	if r.SHA == "" {
		// The commit time given is no SHA's the caller named: it cannot
		// bound the history of the SHA the source runs.
		r.CommitTime = time.Time{}
	}
	r.SHA, o.ImageTag = got.SHA, got.SHA
	d.notify("promoting %s from %s (image %s, verified there)", got.SHA, p.From, got.Digest)
	return d.guarded(ctx, r, o, contract.PromoteMessage(got.SHA, p.From))
}
