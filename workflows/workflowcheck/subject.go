package workflowcheck

import (
	"fmt"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"
)

// Events returns the events that trigger the workflow in content, sorted.
func Events(content []byte) ([]string, error) {
	w, err := parseWorkflow(content)
	if err != nil {
		return nil, err
	}
	return w.events(), nil
}

// JobsAssumingRole returns, for every job of the workflow in content with a
// configure-aws-credentials step, the role-to-assume expressions of its
// steps as written, in order, e.g. "${{ vars.SLIPWAY_DEPLOY_ROLE_ARN }}"
// (the preview job has one per stack).
func JobsAssumingRole(content []byte) (map[string][]string, error) {
	w, err := parseWorkflow(content)
	if err != nil {
		return nil, err
	}
	roles := map[string][]string{}
	for _, id := range w.jobIDs() {
		if r := w.Jobs[id].roles(); len(r) > 0 {
			roles[id] = r
		}
	}
	return roles, nil
}

// PullRequestRef is the ref JobSubject gives a pull_request run: the merge
// ref of pull request 1. Every pull request's run differs only in the
// number (refs/pull/<n>/merge).
const PullRequestRef = "refs/pull/1/merge"

// JobSubject returns the OIDC sub claim that job emits when the workflow in
// content runs for event, in a repository whose subject template is
// slipway's (claims repo, context, ref) and whose subjects start with
// repoPrefix ("repo:OWNER/REPO", or the immutable "repo:OWNER@ID/REPO@ID"):
// PREFIX:CONTEXT:ref:REF, where CONTEXT is what GitHub's default subject
// has after the repository (see DefaultJobSubject) and REF the ref the run
// is on:
//
//   - refs/heads/BRANCH for a push filtered to defaultBranch, a schedule
//     (which runs on the default branch) or a workflow_dispatch (run from
//     defaultBranch; a dispatch from another branch emits that branch,
//     which the trust refuses);
//   - PullRequestRef for a pull_request run.
//
// So a job on main without an environment names the branch twice
// (PREFIX:ref:refs/heads/main:ref:refs/heads/main).
//
// It fails when event does not trigger the workflow, or when the subject is
// not one fixed string (an environment from an expression, a push to other
// branches, an event without a branch-based subject).
func JobSubject(content []byte, job, repoPrefix, event, defaultBranch string) (string, error) {
	return jobSubject(content, job, repoPrefix, event, defaultBranch, true)
}

// DefaultJobSubject is JobSubject for GitHub's default subject template
// (claims repo, context), whose formats are exclusive:
//
//   - a job with an environment: PREFIX:environment:NAME (any event);
//   - else a pull_request run: PREFIX:pull_request;
//   - else PREFIX:ref:refs/heads/BRANCH, the branch the run is on, as for
//     JobSubject.
func DefaultJobSubject(content []byte, job, repoPrefix, event, defaultBranch string) (string, error) {
	return jobSubject(content, job, repoPrefix, event, defaultBranch, false)
}

// JobSubjects is JobSubject for every environment the job can run in:
// its one subject, or, for a job whose environment is a workflow_dispatch
// choice input (${{ inputs.NAME }}: the rollback), one subject per option,
// in order.
func JobSubjects(content []byte, job, repoPrefix, event, defaultBranch string) ([]string, error) {
	return jobSubjects(content, job, repoPrefix, event, defaultBranch, true)
}

// DefaultJobSubjects is JobSubjects for GitHub's default subject template.
func DefaultJobSubjects(content []byte, job, repoPrefix, event, defaultBranch string) ([]string, error) {
	return jobSubjects(content, job, repoPrefix, event, defaultBranch, false)
}

// inputRE is an environment given by a workflow_dispatch input.
var inputRE = regexp.MustCompile(`^\$\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}$`)

func jobSubjects(content []byte, job, repoPrefix, event, defaultBranch string, withRef bool) ([]string, error) {
	w, err := parseWorkflow(content)
	if err != nil {
		return nil, err
	}
	j, ok := w.Jobs[job]
	if !ok {
		return nil, fmt.Errorf("workflows: no job %q (jobs: %v)", job, w.jobIDs())
	}
	m := inputRE.FindStringSubmatch(j.environment())
	if m == nil {
		s, err := jobSubject(content, job, repoPrefix, event, defaultBranch, withRef)
		return []string{s}, err
	}
	input := mappingValue(mappingValue(w.trigger("workflow_dispatch"), "inputs"), m[1])
	if typ := mappingValue(input, "type"); typ == nil || typ.Value != "choice" || len(choiceOptions(input)) == 0 {
		return nil, fmt.Errorf("workflows: job %s: environment %q is not a workflow_dispatch choice input with options", job, j.environment())
	}
	var out []string
	for _, env := range choiceOptions(input) {
		s, err := subjectIn(w, j, job, env, repoPrefix, event, defaultBranch, withRef)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func jobSubject(content []byte, job, repoPrefix, event, defaultBranch string, withRef bool) (string, error) {
	w, err := parseWorkflow(content)
	if err != nil {
		return "", err
	}
	j, ok := w.Jobs[job]
	if !ok {
		return "", fmt.Errorf("workflows: no job %q (jobs: %v)", job, w.jobIDs())
	}
	env := j.environment()
	if containsExpression(env) {
		return "", fmt.Errorf("workflows: job %s: environment %q is an expression, not one subject", job, env)
	}
	return subjectIn(w, j, job, env, repoPrefix, event, defaultBranch, withRef)
}

// subjectIn is the subject of job j run for event in environment env ("" for none).
func subjectIn(w *workflow, j *job, job, env, repoPrefix, event, defaultBranch string, withRef bool) (string, error) {
	if !slices.Contains(w.events(), event) {
		return "", fmt.Errorf("workflows: event %q does not trigger this workflow (on: %v)", event, w.events())
	}
	context := ""
	if env != "" {
		context = "environment:" + env
		if !withRef {
			return repoPrefix + ":" + context, nil
		}
	}
	ref := "refs/heads/" + defaultBranch
	switch event {
	case "pull_request":
		ref = PullRequestRef
		if context == "" {
			context = "pull_request"
		}
	case "push":
		if branches := pushBranches(w); !slices.Equal(branches, []string{defaultBranch}) {
			return "", fmt.Errorf("workflows: job %s: push runs on branches %v, not only %q: no single subject", job, branches, defaultBranch)
		}
	case "schedule", "workflow_dispatch":
	default:
		return "", fmt.Errorf("workflows: job %s: no subject rule for event %q", job, event)
	}
	if context == "" {
		context = "ref:" + ref
	}
	if !withRef {
		return repoPrefix + ":" + context, nil
	}
	return repoPrefix + ":" + context + ":ref:" + ref, nil
}

// pushBranches is the push trigger's branches filter (nil: every branch).
func pushBranches(w *workflow) []string {
	b := mappingValue(w.trigger("push"), "branches")
	if b == nil {
		return nil
	}
	if b.Kind == yaml.ScalarNode {
		return []string{b.Value}
	}
	var out []string
	for _, n := range b.Content {
		out = append(out, n.Value)
	}
	return out
}
