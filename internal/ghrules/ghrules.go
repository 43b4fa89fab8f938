// Package ghrules tells whether a direct commit to a branch would be
// refused: the program writes the workflow files as commits to the
// default branch, which a ruleset or a classic branch protection that
// requires pull requests (or status checks) refuses unless the token's
// identity may bypass it. up --all asks before it touches AWS.
package ghrules

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
)

// DirectCommitBlockers lists what would refuse a direct commit to branch
// of repo (owner/name), each naming its source: the repository rulesets'
// pull-request and status-check rules, and a classic protection requiring
// reviews or checks. Bypass lists are not visible to the API, so a blocker
// may not apply to the token's identity. baseURL "" is api.github.com.
func DirectCommitBlockers(ctx context.Context, baseURL, token, repo, branch string) ([]string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return nil, fmt.Errorf("repository %q: want owner/name", repo)
	}
	gh := github.NewClient(&http.Client{Timeout: 30 * time.Second}).WithAuthToken(token)
	if baseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("GitHub API URL %q: %w", baseURL, err)
		}
		gh.BaseURL = u
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
