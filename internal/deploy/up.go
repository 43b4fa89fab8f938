package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// UpResult is what an up did.
type UpResult struct {
	Outputs  map[string]interface{}
	Counts   map[string]int
	Duration time.Duration
}

// Up applies the stack with the image SHA sha, recording message in the
// history. Progress streams to the session's Progress writer.
//
// When the session's latest Preview was of sha, Up applies exactly what
// that preview found (the changes the deploy guard judged), bound to it by
// the engine's plan and by a check that the state and config are still
// what the preview started from. When they are not, it fails with a
// *PlanMismatchError (errors.Is ErrPlanMismatch) saying what changed. The
// binding is used once. When the latest Preview was of another SHA, Up
// refuses: the caller judged one update and asks for another. With no
// Preview to apply, Up applies whatever the program and state give, as a
// plain pulumi up does.
func (s *Session) Up(ctx context.Context, sha, message string) (UpResult, error) {
	b := s.bound
	s.bound = nil
	if b == nil {
		return s.up(ctx, sha, message)
	}
	if b.sha != sha {
		return UpResult{}, fmt.Errorf("not applying %s: the session's preview was of %s, and an update applies only the preview it follows", sha, b.sha)
	}
	return s.apply(ctx, b, message)
}

// Mark records message in the history with an update of sha that must
// change nothing (the stack already holds sha). A preview checks that
// first and Mark refuses, applying nothing, when anything would change;
// the update is bound to that preview as Up is, so the engine refuses any
// step that is not a same, before applying it (the engine's
// --expect-no-changes alone fails an update only after applying it).
func (s *Session) Mark(ctx context.Context, sha, message string) error {
	plan, b, err := s.preview(ctx, sha, PreviewOptions{})
	if err != nil {
		return err
	}
	if plan.HasChanges() {
		return fmt.Errorf("not recording %q: the update would change %d resource(s), and a marker must change nothing", message, len(plan.Changes))
	}
	_, err = s.apply(ctx, b, message)
	return err
}

// apply runs the update bound to b: it refuses, before the engine runs,
// when the state or config is not what b's preview started from, and
// applies b's plan, under which the engine refuses what lands after that
// check.
func (s *Session) apply(ctx context.Context, b *binding, message string) (UpResult, error) {
	if err := s.prepare(ctx, b.sha); err != nil {
		return UpResult{}, err
	}
	config, err := s.readConfig()
	if err != nil {
		return UpResult{}, err
	}
	state, err := s.readState(ctx)
	if err != nil {
		return UpResult{}, engineError(ctx, "up", err)
	}
	if changed := append(configChanges(b.config, config), b.state.changes(state)...); len(changed) > 0 {
		return UpResult{}, &PlanMismatchError{Changed: changed}
	}
	opts := []optup.Option{optup.Plan(b.planFile)}
	if b.refresh {
		opts = append(opts, optup.Refresh())
	}
	res, err := s.up(ctx, b.sha, message, opts...)
	if refused := planViolations(err); len(refused) > 0 {
		// The engine's refusal of a step ends the update: what it applied
		// before stays, and a state unlike the checked one shows it.
		after, rerr := s.readState(ctx)
		return UpResult{}, &PlanMismatchError{Changed: refused, Applied: rerr != nil || len(state.changes(after)) > 0}
	}
	return res, err
}

func (s *Session) up(ctx context.Context, sha, message string, extra ...optup.Option) (UpResult, error) {
	if err := s.prepare(ctx, sha); err != nil {
		return UpResult{}, err
	}
	start := time.Now()
	opts := append([]optup.Option{optup.Message(message), optup.ProgressStreams(s.o.Progress)}, extra...)
	res, err := s.stack.Up(ctx, opts...)
	if err != nil {
		return UpResult{}, engineError(ctx, "up", err)
	}
	out := UpResult{Outputs: map[string]interface{}{}, Counts: map[string]int{}, Duration: time.Since(start)}
	for k, v := range res.Outputs {
		out.Outputs[k] = v.Value
	}
	if res.Summary.ResourceChanges != nil {
		for op, n := range *res.Summary.ResourceChanges {
			if op != "same" {
				out.Counts[op] = n
			}
		}
	}
	return out, nil
}
