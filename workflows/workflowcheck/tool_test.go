package workflowcheck

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/slipway-dev/slipway/workflows"
)

func TestToolCalls(t *testing.T) {
	cases := []struct {
		name, script string
		want         []toolCall
	}{
		{"binary", `"$RUNNER_TEMP/slipway" up --stack "$SLIPWAY_STACK"`, []toolCall{{verb: "up"}}},
		{"unquoted", `$RUNNER_TEMP/slipway drift`, []toolCall{{verb: "drift"}}},
		{"braces", `"${RUNNER_TEMP}/slipway" preview`, []toolCall{{verb: "preview"}}},
		{"quoted verb", `"$RUNNER_TEMP/slipway" 'preview' --pr 1`, []toolCall{{verb: "preview"}}},
		{"line continuation", "\"$RUNNER_TEMP/slipway\" \\\n  drift --stack prod", []toolCall{{verb: "drift"}}},
		{"verb not written out", `"$RUNNER_TEMP/slipway" "${args[@]}"`, []toolCall{{verb: "${args[@]}"}}},
		{"no verb", `"$RUNNER_TEMP/slipway"`, []toolCall{{verb: ""}}},
		{"no verb before an operator", `"$RUNNER_TEMP/slipway"; echo done`, []toolCall{{verb: ""}}},
		{"two calls", "\"$RUNNER_TEMP/slipway\" preview && \"$RUNNER_TEMP/slipway\" up\n", []toolCall{{verb: "preview"}, {verb: "up"}}},
		{"in a script", "to=()\nif [ -n \"$X\" ]; then\n  to=(--to \"$X\")\nfi\n\"$RUNNER_TEMP/slipway\" rollback --stack \"$S\" \"${to[@]}\"\n", []toolCall{{verb: "rollback"}}},
		{"go run", `go run ./cmd/deploy up --sha "$GITHUB_SHA"`, []toolCall{{verb: "up", goRun: true}}},
		{"go run with flags and slash", `go run -race ./cmd/deploy/ preview`, []toolCall{{verb: "preview", goRun: true}}},
		{"go run by import path", `go run github.com/slipway-dev/slipway/cmd/deploy@v1.2.3 drift`, []toolCall{{verb: "drift", goRun: true}}},
		{"build output", `go build -o "$RUNNER_TEMP/slipway" ./cmd/deploy`, nil},
		{"build output with =", `go build -o="$RUNNER_TEMP/slipway" ./cmd/deploy`, nil},
		{"another file", `ls "$RUNNER_TEMP/slipway-old" up`, nil},
		{"no tool", `cargo test --workspace`, nil},
		{"empty", ``, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := toolCalls(tc.script)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(toolCall{})); diff != "" {
				t.Errorf("toolCalls(%q) (-want +got):\n%s", tc.script, diff)
			}
		})
	}
}

func TestExecsToolLast(t *testing.T) {
	cases := []struct {
		name, script string
		want         bool
	}{
		{"exec", `exec "$RUNNER_TEMP/slipway" up --stack "$S"` + "\n", true},
		{"exec unquoted, braces", `exec ${RUNNER_TEMP}/slipway drift`, true},
		{"after a preamble", "to=()\nif [ -n \"$X\" ]; then\n  to=(--to \"$X\")\nfi\nexec \"$RUNNER_TEMP/slipway\" rollback \"${to[@]}\"\n\n", true},
		{"line continuation", "exec \"$RUNNER_TEMP/slipway\" \\\n  up --sha \"$GITHUB_SHA\"\n", true},
		{"quoted operators", `exec "$RUNNER_TEMP/slipway" preview --title 'a;b|c&d' "x|y"`, true},
		{"no exec", `"$RUNNER_TEMP/slipway" up`, false},
		{"exec not last", "exec \"$RUNNER_TEMP/slipway\" up\necho done\n", false},
		{"exec of another binary", `exec "$RUNNER_TEMP/slipway-old" up`, false},
		{"pipeline", `exec "$RUNNER_TEMP/slipway" up | tee out`, false},
		{"list", `exec "$RUNNER_TEMP/slipway" up || true`, false},
		{"background", `exec "$RUNNER_TEMP/slipway" up &`, false},
		{"subshell", `(exec "$RUNNER_TEMP/slipway" up)`, false},
		{"empty", ``, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := execsToolLast(tc.script); got != tc.want {
				t.Errorf("execsToolLast(%q) = %v, want %v", tc.script, got, tc.want)
			}
		})
	}
}

// The build step and the tool steps agree on where the binary is, and
// every job that runs the tool builds it first, in ToolPath, or fetches
// and checks the one CD's tool job built.
func TestToolBuiltBeforeItRuns(t *testing.T) {
	for _, set := range paramSets {
		for name, content := range renderedByName(t, set.p) {
			w, err := parseWorkflow(content)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range w.jobIDs() {
				j := w.Jobs[id]
				built := false
				for _, s := range j.Steps {
					if strings.TrimSpace(s.Run) == workflows.ToolCheckCmd {
						built = true // fetched from the tool job, and checked
					}
					if s.Run == toolBuildCmd {
						built = true
						if dir := w.workingDirectory(j, s); dir != set.p.ToolPath {
							t.Errorf("%s: %s job %s: builds the tool in %q, want %q", set.name, name, id, dir, set.p.ToolPath)
						}
					}
					if calls := toolCalls(s.Run); len(calls) > 0 && !built {
						t.Errorf("%s: %s job %s, step %q: runs the tool before a step runs %s", set.name, name, id, s.Name, toolBuildCmd)
					}
				}
			}
		}
	}
}
