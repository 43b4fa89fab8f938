package workflowcheck

import (
	"regexp"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway/workflows"
)

// How the workflows run the deploy tool: the tool setup builds it once,
// in ToolPath, to toolBinary; the tool steps then run the binary, in
// ToolPath too (the tool finds Pulumi.yaml in its working directory). go
// run would compile inside the step and stand between the runner's cancel
// signal and the tool.
const (
	toolBinary   = `$RUNNER_TEMP/slipway`
	toolBuildCmd = `go build -trimpath -o "` + toolBinary + `" ./cmd/deploy`
)

// gateCmd is the workflow-integrity gate: the tool renders the workflow
// files from the config of the stack that owns them and compares them with
// the application checkout, exit 7 on any difference.
func gateCmd(p workflows.Params) string {
	return `exec "` + toolBinary + `" workflows --check --stack ` + p.Owner + ` --repo-dir "$GITHUB_WORKSPACE"`
}

var (
	// toolBinaryRE finds the built tool in a script: $RUNNER_TEMP/slipway
	// or ${RUNNER_TEMP}/slipway, quoted or not.
	toolBinaryRE = regexp.MustCompile(`"?\$(?:RUNNER_TEMP|\{RUNNER_TEMP\})/slipway"?`)
	// goRunToolRE finds the tool run from source: go run [flags]
	// <...>cmd/deploy[/][@version].
	goRunToolRE = regexp.MustCompile(`\bgo[ \t]+run[ \t]+(?:-\S+[ \t]+)*\S*cmd/deploy/?(?:@\S+)?`)
	// argSepRE is what separates the tool from its verb: blanks and line
	// continuations.
	argSepRE = regexp.MustCompile(`^(?:[ \t]|\\\n)+`)
	// wordRE is the verb: the next shell word, up to a blank or an
	// operator.
	wordRE = regexp.MustCompile(`^[^\s;&|()<>]+`)
)

// toolCall is one invocation of the deploy tool in a run: script.
type toolCall struct {
	verb  string // its first argument, unquoted; "" when it has none
	goRun bool   // run from source with go run, not as the built binary
}

// toolCalls finds the deploy tool's invocations in a run: script, in
// order: the built binary, and go run of ./cmd/deploy. The build step's
// output path (go build -o "$RUNNER_TEMP/slipway") is not an invocation.
// The verb is the word written after the tool; a verb that is not
// written out ("${args[@]}") is returned as written, so a caller that
// allows some verbs only refuses it.
func toolCalls(script string) []toolCall {
	if s := strings.TrimSpace(script); s == workflows.ToolHashCmd || s == workflows.ToolCheckCmd {
		return nil // they hash and install the binary, and run none of it
	}
	var calls []toolCall
	for _, m := range toolBinaryRE.FindAllStringIndex(script, -1) {
		before, after := script[:m[0]], script[m[1]:]
		if strings.HasSuffix(strings.TrimRight(before, " \t="), "-o") {
			continue // go build -o "$RUNNER_TEMP/slipway", or -o=
		}
		if after != "" && !strings.ContainsAny(after[:1], " \t\n;&|)") {
			continue // another path, such as $RUNNER_TEMP/slipway-old
		}
		calls = append(calls, toolCall{verb: verbAt(after)})
	}
	for _, m := range goRunToolRE.FindAllStringIndex(script, -1) {
		calls = append(calls, toolCall{verb: verbAt(script[m[1]:]), goRun: true})
	}
	return calls
}

// verbAt is the first word of rest, which follows the tool: "" when
// rest starts with no blank (the tool ends the command) or no word
// follows.
func verbAt(rest string) string {
	sep := argSepRE.FindString(rest)
	if sep == "" {
		return ""
	}
	word := wordRE.FindString(rest[len(sep):])
	if len(word) >= 2 && (word[0] == '"' || word[0] == '\'') && word[len(word)-1] == word[0] {
		word = word[1 : len(word)-1]
	}
	return word
}

// execLineRE is a last command that execs the built tool: exec, then the
// binary, then its arguments.
var execLineRE = regexp.MustCompile(`^exec[ \t]+` + toolBinaryRE.String() + `(?:[ \t]|$)`)

// execsToolLast reports whether script ends with the tool exec'd as its
// last command, so the tool is the step's entry process: exec, the
// binary, its arguments and nothing after (no ; & | on that line outside
// quotes: a pipeline or list would run it in a subshell or after it).
func execsToolLast(script string) bool {
	lines := strings.Split(strings.ReplaceAll(script, "\\\n", " "), "\n")
	last := ""
	for i := len(lines) - 1; i >= 0 && last == ""; i-- {
		last = strings.TrimSpace(lines[i])
	}
	return execLineRE.MatchString(last) && !hasUnquotedOperator(last)
}

// hasUnquotedOperator reports a ; & or | outside single and double quotes.
func hasUnquotedOperator(line string) bool {
	var quote rune
	escaped := false
	for _, r := range line {
		switch {
		case escaped:
			escaped = false
		case r == '\\' && quote != '\'':
			escaped = true
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ';' || r == '&' || r == '|':
			return true
		}
	}
	return false
}

// runsDeployVerb reports whether any step of j runs the deploy tool's up
// or rollback: the verbs that wait for ECS and hold the deploy role long.
func (j *job) runsDeployVerb() bool {
	for _, s := range j.Steps {
		for _, call := range toolCalls(s.Run) {
			if slices.Contains(deployVerbs, call.verb) {
				return true
			}
		}
	}
	return false
}
