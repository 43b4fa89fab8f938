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
func (s *Session) Up(ctx context.Context, sha, message string) (UpResult, error) {
	return s.up(ctx, sha, message)
}

// Mark records message in the history with an update of sha that must
// change nothing (the stack already holds sha). A preview checks that
// first and Mark refuses, applying nothing, when anything would change:
// the engine's --expect-no-changes alone fails an update only after
// applying it.
func (s *Session) Mark(ctx context.Context, sha, message string) error {
	plan, err := s.Preview(ctx, sha, PreviewOptions{})
	if err != nil {
		return err
	}
	if plan.HasChanges() {
		return fmt.Errorf("not recording %q: the update would change %d resource(s), and a marker must change nothing", message, len(plan.Changes))
	}
	_, err = s.up(ctx, sha, message, optup.ExpectNoChanges())
	return err
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
