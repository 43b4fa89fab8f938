// Package ghcomment keeps one pull-request comment up to date through the
// GitHub REST API (google/go-github): found by a hidden marker and the
// token's own identity, updated in place, never duplicated. Upsert writes
// the whole comment; UpsertSection one named section of a comment that
// several writers share (one per stack), leaving the others as they are.
package ghcomment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-github/v75/github"

	"github.com/slipway-dev/slipway/internal/ghapi"
)

// MaxBody is what a whole comment may take, marker and every section
// included: under GitHub's limit of 65,536 characters (bytes counted, so
// that multi-byte characters only leave more room).
const MaxBody = 65000

// Client talks to one repository.
type Client struct {
	BaseURL string // https://api.github.com, or $GITHUB_API_URL on GitHub Enterprise
	Token   string
	Repo    string // owner/name
	HTTP    *http.Client
}

// Action says what Upsert did.
type Action string

// What Upsert can do.
const (
	Created Action = "created"
	Updated Action = "updated"
	Skipped Action = "skipped"
)

// ActionsBot is the login of the comments a workflow's GITHUB_TOKEN
// writes: an installation token has no user to ask for (GET /user answers
// 403 "Resource not accessible by integration").
const ActionsBot = "github-actions[bot]"

// Upsert makes the PR's comment carrying marker say body: it updates the
// existing one, or creates one unless createIfMissing is false (nothing to
// report and nothing reported before: no comment at all). Only a comment
// written by the identity of the token in use is ours to edit: another
// app's or a person's comment quoting the marker is left alone.
func (c *Client) Upsert(ctx context.Context, pr int, marker, body string, createIfMissing bool) (Action, error) {
	t, err := c.open(ctx)
	if err != nil {
		return Skipped, err
	}
	body = marker + "\n" + Truncate(body, MaxBody-len(marker)-1)
	existing, err := find(ctx, t.gh, t.owner, t.repo, pr, marker, t.me)
	if err != nil {
		return Skipped, err
	}
	return t.write(ctx, pr, existing, body, createIfMissing)
}

// target is a repository open through the API, and who the token is.
type target struct {
	gh          *github.Client
	owner, repo string
	me          string
}

func (c *Client) open(ctx context.Context) (*target, error) {
	if c.Token == "" || c.Repo == "" {
		return nil, errors.New("commenting needs GITHUB_TOKEN and GITHUB_REPOSITORY (set in GitHub Actions; the job needs permissions: pull-requests: write)")
	}
	owner, repo, err := ghapi.Repo(c.Repo)
	if err != nil {
		return nil, fmt.Errorf("GITHUB_REPOSITORY: %w", err)
	}
	gh, err := ghapi.New(c.BaseURL, c.Token, c.HTTP)
	if err != nil {
		return nil, err
	}
	me, err := identity(ctx, gh)
	if err != nil {
		return nil, err
	}
	return &target{gh: gh, owner: owner, repo: repo, me: me}, nil
}

// write makes existing say body (no API call when it already does), or,
// with no existing comment, creates one if createIfMissing.
func (t *target) write(ctx context.Context, pr int, existing *github.IssueComment, body string, createIfMissing bool) (Action, error) {
	if existing != nil {
		if existing.GetBody() == body {
			return Skipped, nil
		}
		if _, _, err := t.gh.Issues.EditComment(ctx, t.owner, t.repo, existing.GetID(), &github.IssueComment{Body: &body}); err != nil {
			return Skipped, fmt.Errorf("GitHub: updating comment %d: %w", existing.GetID(), err)
		}
		return Updated, nil
	}
	if !createIfMissing {
		return Skipped, nil
	}
	if _, _, err := t.gh.Issues.CreateComment(ctx, t.owner, t.repo, pr, &github.IssueComment{Body: &body}); err != nil {
		return Skipped, fmt.Errorf("GitHub: commenting on pull request %d: %w", pr, err)
	}
	return Created, nil
}

// identity is the login the token writes comments as: its user's, or the
// Actions bot's for a workflow's installation token, which GET /user
// refuses with 403. A 403 for a rate limit (go-github's RateLimitError and
// AbuseRateLimitError, from GitHub's x-ratelimit headers) says nothing of
// the token, and is reported as what it is.
func identity(ctx context.Context, gh *github.Client) (string, error) {
	user, resp, err := gh.Users.Get(ctx, "")
	var limited *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	switch {
	case err == nil:
		return user.GetLogin(), nil
	case errors.As(err, &limited) || errors.As(err, &abuse):
	case resp != nil && resp.StatusCode == http.StatusForbidden:
		return ActionsBot, nil
	}
	return "", fmt.Errorf("GitHub: who is the token: %w", err)
}

// find pages through the PR's comments for the one carrying marker that
// me wrote.
func find(ctx context.Context, gh *github.Client, owner, repo string, pr int, marker, me string) (*github.IssueComment, error) {
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		batch, resp, err := gh.Issues.ListComments(ctx, owner, repo, pr, opt)
		if err != nil {
			return nil, fmt.Errorf("GitHub: listing the comments of pull request %d: %w", pr, err)
		}
		for _, c := range batch {
			if strings.HasPrefix(c.GetBody(), marker) && c.GetUser().GetLogin() == me {
				return c, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opt.Page = resp.NextPage
	}
}

// Truncate cuts s to at most max bytes on a line boundary, saying so.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := s[:max-len(truncNote)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + truncNote
}

// truncNote ends a truncated body; Truncate needs max >= len(truncNote).
const truncNote = "\n\n… truncated to fit a GitHub comment; the job log has the full preview."
