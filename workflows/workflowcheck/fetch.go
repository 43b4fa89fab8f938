package workflowcheck

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/workflows"
	"gopkg.in/yaml.v3"
)

// CD builds the deploy tool once, in its tool job, and the jobs that
// assume a role fetch it by artifact ID and run it only if its SHA-256 is
// the one the tool job output: any job of the run can upload an artifact
// (the tests, which run the application's code, too), but only the tool
// job sets its outputs.
const (
	toolJobID            = "tool"
	wantArtifactIDs      = "${{ needs.tool.outputs.artifact-id }}"
	wantToolSHA256       = "${{ needs.tool.outputs.sha256 }}"
	toolArtifactPath     = "${{ runner.temp }}/slipway"
	toolFetchPath        = "${{ runner.temp }}/tool"
	checkoutAction       = "actions/checkout"
	downloadAction       = "actions/download-artifact"
	uploadAction         = "actions/upload-artifact"
	toolHashStepID       = "hash"
	toolUploadStepID     = "upload"
	toolOutputSHA256     = "sha256"
	toolOutputArtifactID = "artifact-id"
)

// buildsTool reports whether a step of j builds the deploy tool.
func (j *job) buildsTool() bool {
	return slices.ContainsFunc(j.Steps, func(s step) bool { return toolBuildRE.MatchString(s.Run) })
}

// toolJob checks the job that builds the tool for other jobs: it hashes
// what it built (ToolHashCmd) and uploads that file, and outputs exactly
// the hash and the artifact's ID.
func (c *checker) toolJob(where string, j *job) {
	want := map[string]string{
		toolOutputSHA256:     "${{ steps." + toolHashStepID + ".outputs.sha256 }}",
		toolOutputArtifactID: "${{ steps." + toolUploadStepID + ".outputs.artifact-id }}",
	}
	if !maps.Equal(j.Outputs, want) {
		c.add("%s: builds the deploy tool for the jobs that assume a role, so its outputs must be exactly %v (the hash of what it built and its artifact's ID), got %v", where, want, j.Outputs)
	}
	built, hashed, checkouts := false, false, 0
	for i, s := range j.Steps {
		stepWhere := fmt.Sprintf("%s, step %d (%s)", where, i+1, s.Name)
		// What it runs is the build and nothing else: the tool it uploads
		// is what the roles' jobs run.
		switch a := action(s.Uses.Value); {
		case a == checkoutAction:
			checkouts++
			c.toolCheckout(stepWhere, s)
		case s.Uses.Value != "" && a != "actions/setup-go" && a != uploadAction:
			c.add("%s: uses %s: the tool job uses %s, actions/setup-go and %s only", stepWhere, a, checkoutAction, uploadAction)
		case s.Run != "" && !toolBuildRE.MatchString(s.Run) && strings.TrimSpace(s.Run) != workflows.ToolHashCmd:
			c.add("%s: runs %q: the tool job runs the tool's build and its hash only", stepWhere, contract.Clip(strings.TrimSpace(s.Run)))
		}
		switch {
		case toolBuildRE.MatchString(s.Run):
			built = true
		case s.ID == toolHashStepID:
			if strings.TrimSpace(s.Run) != workflows.ToolHashCmd || !built {
				c.add("%s: the step %s outputs the tool's hash: want run: %s, after the build", stepWhere, toolHashStepID, workflows.ToolHashCmd)
			}
			hashed = true
		case s.ID == toolUploadStepID:
			if v := s.With["path"]; action(s.Uses.Value) != uploadAction || v.Value != toolArtifactPath || !hashed {
				c.add("%s: the step %s uploads the tool: want uses: %s with path: %s, after the hash, got uses %q and path %s", stepWhere, toolUploadStepID, uploadAction, toolArtifactPath, s.Uses.Value, describe(&v))
			}
		}
	}
	if checkouts != 1 {
		c.add("%s: has %d checkouts: the tool job checks out one repository, slipway's", where, checkouts)
	}
}

// toolCheckout checks the tool job's checkout: slipway's repository at
// the pinned commit into ToolPath, or, where slipway lives in the
// application repository, that repository.
func (c *checker) toolCheckout(where string, s step) {
	with := func(key string) string { v := s.With[key]; return v.Value }
	if c.p.ToolRepository == "" {
		for _, k := range []string{"repository", "ref", "path"} {
			if with(k) != "" {
				c.add("%s: checks out with %s: %s: slipway lives in this repository, which the tool job checks out alone, at the run's commit", where, k, with(k))
			}
		}
		return
	}
	if with("repository") != c.p.ToolRepository || with("ref") != c.p.ToolRef || path.Clean(with("path")) != path.Clean(c.p.ToolPath) {
		c.add("%s: checks out %s at %q into %q: the tool job checks out slipway alone, %s at %s into %s", where, with("repository"), with("ref"), with("path"), c.p.ToolRepository, c.p.ToolRef, c.p.ToolPath)
	}
}

// toolFetch checks a job that fetches the tool: by the tool job's
// artifact ID, checked against the tool job's hash (ToolCheckCmd, WANT)
// before any step runs it. A tool run with neither a build nor a checked
// fetch before it is refused too.
func (c *checker) toolFetch(w *workflow, where string, j *job) {
	fetched, checked, built := false, false, false
	for i, s := range j.Steps {
		stepWhere := fmt.Sprintf("%s, step %d (%s)", where, i+1, s.Name)
		switch {
		case action(s.Uses.Value) == downloadAction:
			ids, name, dst := s.With["artifact-ids"], s.With["name"], s.With["path"]
			if ids.Value != wantArtifactIDs || name.Kind != 0 {
				c.add("%s: fetches an artifact: want artifact-ids: %s and no name: (any job of the run can upload an artifact of any name), got artifact-ids %s", stepWhere, wantArtifactIDs, describe(&ids))
			}
			if dst.Value != toolFetchPath {
				c.add("%s: fetches the deploy tool to %s: want path: %s, where the tool check reads it", stepWhere, describe(&dst), toolFetchPath)
			}
			tool, ok := w.Jobs[toolJobID]
			if !slices.Contains(j.needs(), toolJobID) || !ok || !tool.buildsTool() {
				c.add("%s: fetches the deploy tool, so the job needs the %s job, which builds it, got needs %v", stepWhere, toolJobID, j.needs())
			}
			fetched = true
		case strings.TrimSpace(s.Run) == workflows.ToolCheckCmd:
			if v, _ := w.env(j, s, "WANT"); v != wantToolSHA256 || !fetched {
				c.add("%s: checks the fetched tool: want env WANT: %s (the tool job's hash of what it built), after the fetch, got %q", stepWhere, wantToolSHA256, v)
			}
			checked = true
		case toolBuildRE.MatchString(s.Run):
			built = true
		case toolBinaryRE.MatchString(s.Run) && len(toolCalls(s.Run)) == 0 && strings.TrimSpace(s.Run) != workflows.ToolHashCmd:
			// Not the build, the check, the hash or a run of the tool:
			// something else writes where the tool steps run it from.
			c.add("%s: writes %s, which only the tool build (run: %s) or the tool check may", stepWhere, toolBinary, toolBuildCmd)
		case len(toolCalls(s.Run)) > 0 && !built && !checked:
			c.add("%s: runs the deploy tool, which no step before built (run: %s) or fetched and checked (run: the tool check, with WANT: %s)", stepWhere, toolBuildCmd, wantToolSHA256)
			return
		}
	}
}

// toolRefPin checks, where slipway is a checkout of its own, that a job
// running the tool names the commit checked out (workflows.ToolRefCmd, in
// ToolPath) before the tool runs, and that nothing else sets it: the tool
// renders the workflow files with that commit, which they pin.
func (c *checker) toolRefPin(w *workflow, where string, j *job) {
	if c.p.ToolRepository == "" {
		return
	}
	setsRef := func(where string, env *yaml.Node) {
		if v := mappingValue(env, contract.ToolRefEnv); v != nil {
			c.add("%s: sets env %s: %q: only the step that runs %q may name the commit of slipway checked out", where, contract.ToolRefEnv, v.Value, workflows.ToolRefCmd)
		}
	}
	setsRef("workflow", &w.Env)
	setsRef(where, &j.Env)
	pinned := false
	for i, s := range j.Steps {
		stepWhere := fmt.Sprintf("%s, step %d (%s)", where, i+1, s.Name)
		setsRef(stepWhere, &s.Env)
		switch {
		case strings.TrimSpace(s.Run) == workflows.ToolRefCmd:
			if dir := w.workingDirectory(j, s); dir != path.Clean(c.p.ToolPath) {
				c.add("%s: names the commit of slipway in %q: want working-directory: %s, its checkout", stepWhere, dir, c.p.ToolPath)
			}
			pinned = true
		case len(toolCalls(s.Run)) > 0 && !pinned:
			c.add("%s: runs the deploy tool before a step names the commit of slipway checked out (run: %s, in %s): the tool would render the workflow files with the stack file's slipwayRef", stepWhere, workflows.ToolRefCmd, c.p.ToolPath)
			return
		}
	}
}
