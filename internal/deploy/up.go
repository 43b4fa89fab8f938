package deploy

import (
	"context"
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
	if err := s.prepare(ctx, sha); err != nil {
		return UpResult{}, err
	}
	start := time.Now()
	res, err := s.stack.Up(ctx, optup.Message(message), optup.ProgressStreams(s.o.Progress))
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
