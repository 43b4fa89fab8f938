// Package ghapi opens the GitHub REST API (google/go-github) the way the
// tool's GitHub clients share: the API root from $GITHUB_API_URL, a token,
// a bounded HTTP client, and a repository named owner/name.
package ghapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
)

// New is a client of the API at baseURL ("" for api.github.com; on GitHub
// Enterprise Server, https://HOST/api/v3, as $GITHUB_API_URL gives it)
// with token, over hc (nil: a client with a 30-second timeout).
func New(baseURL, token string, hc *http.Client) (*github.Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	gh := github.NewClient(hc).WithAuthToken(token)
	if baseURL != "" {
		u, err := url.Parse(strings.TrimSuffix(baseURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("GitHub API URL %q: %w", baseURL, err)
		}
		gh.BaseURL = u
	}
	return gh, nil
}

// Repo splits owner/name.
func Repo(repo string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return "", "", fmt.Errorf("repository %q: want owner/name", repo)
	}
	return owner, name, nil
}
