// Package ghrules reads the GitHub rules the stack's trust rests on: the
// default branch's rules, which refuse a direct commit of the workflow
// files unless the token's identity may bypass them (up --all asks before
// it touches AWS), and the environments' deployment branch policies,
// which decide from which refs a job may assume a role (drift reports
// foreign ones).
package ghrules

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-github/v75/github"

	"github.com/slipway-dev/slipway/internal/ghapi"
)

// DirectCommitBlockers lists what would refuse a direct commit to branch
// of repo (owner/name), each naming its source: the repository rulesets'
// pull-request and status-check rules, and a classic protection requiring
// reviews or checks. Bypass lists are not visible to the API, so a blocker
// may not apply to the token's identity. baseURL "" is api.github.com.
func DirectCommitBlockers(ctx context.Context, baseURL, token, repo, branch string) ([]string, error) {
	owner, name, err := ghapi.Repo(repo)
	if err != nil {
		return nil, err
	}
	gh, err := ghapi.New(baseURL, token, nil)
	if err != nil {
		return nil, err
	}
	var blockers []string
	rules, _, err := gh.Repositories.GetRulesForBranch(ctx, owner, name, branch, nil)
	if err != nil {
		return nil, fmt.Errorf("GitHub: the rules of branch %s of %s: %w", branch, repo, err)
	}
	for _, r := range rules.PullRequest {
		blockers = append(blockers, fmt.Sprintf("ruleset %d (%s) requires a pull request", r.RulesetID, r.RulesetSource))
	}
	for _, r := range rules.RequiredStatusChecks {
		blockers = append(blockers, fmt.Sprintf("ruleset %d (%s) requires status checks", r.RulesetID, r.RulesetSource))
	}
	p, resp, err := gh.Repositories.GetBranchProtection(ctx, owner, name, branch)
	switch {
	case err == nil:
		if p.RequiredPullRequestReviews != nil {
			blockers = append(blockers, "the branch protection of "+branch+" requires pull request reviews")
		}
		if p.RequiredStatusChecks != nil {
			blockers = append(blockers, "the branch protection of "+branch+" requires status checks")
		}
	case errors.Is(err, github.ErrBranchNotProtected):
	case resp != nil && (resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound):
		// Reading a classic protection needs admin rights: unknown, so the
		// rulesets above are all that is known.
	default:
		return nil, fmt.Errorf("GitHub: the protection of branch %s of %s: %w", branch, repo, err)
	}
	return blockers, nil
}

// ForeignBranchPolicies lists the deployment branch and tag policies of
// environment env other than the one the stack creates (branch, of type
// "branch"): each lets a job of that environment, and so the role that
// trusts it, run from another ref. A missing environment is reported
// too: GitHub creates one without rules when a job names it.
func ForeignBranchPolicies(ctx context.Context, baseURL, token, repo, env, branch string) ([]string, error) {
	owner, name, err := ghapi.Repo(repo)
	if err != nil {
		return nil, err
	}
	gh, err := ghapi.New(baseURL, token, nil)
	if err != nil {
		return nil, err
	}
	got, resp, err := gh.Repositories.ListDeploymentBranchPolicies(ctx, owner, name, env)
	switch {
	case resp != nil && resp.StatusCode == http.StatusNotFound:
		return []string{fmt.Sprintf("environment %s does not exist (GitHub creates it without rules when a job names it)", env)}, nil
	case err != nil:
		return nil, fmt.Errorf("GitHub: the deployment branch policies of environment %s: %w", env, err)
	}
	var foreign []string
	for _, p := range got.BranchPolicies {
		if p.GetName() != branch || p.GetType() != "branch" {
			foreign = append(foreign, fmt.Sprintf("environment %s allows %s %q", env, p.GetType(), p.GetName()))
		}
	}
	return foreign, nil
}
