// Package ghcomment keeps one pull-request comment up to date through the
// GitHub REST API: found by a hidden marker, updated in place, never
// duplicated.
package ghcomment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxBody is GitHub's limit on a comment's length (65,536 characters),
// with room left for the truncation note.
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

type comment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
	User struct {
		Type string `json:"type"`
	} `json:"user"`
}

// Upsert makes the PR's comment carrying marker say body: it updates the
// existing one, or creates one unless createIfMissing is false (nothing to
// report and nothing reported before: no comment at all).
func (c *Client) Upsert(ctx context.Context, pr int, marker, body string, createIfMissing bool) (Action, error) {
	if c.Token == "" || c.Repo == "" {
		return Skipped, errors.New("commenting needs GITHUB_TOKEN and GITHUB_REPOSITORY (set in GitHub Actions; the job needs permissions: pull-requests: write)")
	}
	body = marker + "\n" + Truncate(body, MaxBody-len(marker)-1)
	existing, err := c.find(ctx, pr, marker)
	if err != nil {
		return Skipped, err
	}
	if existing != nil {
		if existing.Body == body {
			return Skipped, nil
		}
		return Updated, c.do(ctx, http.MethodPatch, fmt.Sprintf("/repos/%s/issues/comments/%d", c.Repo, existing.ID), map[string]string{"body": body}, nil)
	}
	if !createIfMissing {
		return Skipped, nil
	}
	return Created, c.do(ctx, http.MethodPost, fmt.Sprintf("/repos/%s/issues/%d/comments", c.Repo, pr), map[string]string{"body": body}, nil)
}

// find pages through the PR's comments for the one carrying marker.
func (c *Client) find(ctx context.Context, pr int, marker string) (*comment, error) {
	for page := 1; ; page++ {
		var batch []comment
		path := fmt.Sprintf("/repos/%s/issues/%d/comments?per_page=100&page=%d", c.Repo, pr, page)
		if err := c.do(ctx, http.MethodGet, path, nil, &batch); err != nil {
			return nil, err
		}
		for i := range batch {
			// Only a bot's comment (the workflow token's) is ours to edit: a
			// person quoting the marker is left alone.
			if strings.HasPrefix(batch[i].Body, marker) && batch[i].User.Type == "Bot" {
				return &batch[i], nil
			}
		}
		if len(batch) < 100 {
			return nil, nil
		}
	}
}

func (c *Client) do(ctx context.Context, method, path string, in, out interface{}) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	base := strings.TrimSuffix(c.BaseURL, "/")
	if base == "" {
		base = "https://api.github.com"
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GitHub %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GitHub %s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// Truncate cuts s to at most max bytes on a line boundary, saying so.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const note = "\n\n… truncated to fit a GitHub comment; the job log has the full preview."
	cut := s[:max-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}
