// Package notify posts a deploy's outcome to a chat webhook: one small
// JSON message with a Slack-compatible text field and the same facts as
// fields of their own. The webhook URL is a secret (its path is the
// credential): no error of this package contains it.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Message is what is posted. It holds nothing secret: the stack and its
// GitHub environment, the SHAs, the outcome, the duration and the link to
// the CI run.
type Message struct {
	Text            string  `json:"text"`
	Stack           string  `json:"stack"`
	Environment     string  `json:"environment,omitempty"`
	SHA             string  `json:"sha"`
	Previous        string  `json:"previous"`
	Outcome         string  `json:"outcome"`
	DurationSeconds float64 `json:"durationSeconds"`
	RunURL          string  `json:"runUrl,omitempty"`
}

// DefaultTimeout bounds one post, connection and answer included.
const DefaultTimeout = 10 * time.Second

// Webhook posts messages to one URL.
type Webhook struct {
	URL string
	// Timeout bounds a post; 0 means DefaultTimeout.
	Timeout time.Duration
}

// Post sends m, and fails on a transport error, a timeout or an answer
// other than 2xx. Redirects are not followed. The URL must be https://,
// or http:// to a loopback address (a relay on the same machine).
func (w Webhook) Post(ctx context.Context, m Message) error {
	u, err := url.Parse(w.URL)
	if err != nil || u.Host == "" {
		return errors.New("the webhook URL is not a URL")
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		return errors.New("the webhook URL is not https:// (the message and the URL's credential would cross the network in the clear)")
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	timeout := w.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return errors.New("the webhook URL is not a URL")
	}
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL stays out of the error
		}
		if ctx.Err() != nil {
			return fmt.Errorf("posting to the webhook of %s: no answer within %s", u.Hostname(), timeout)
		}
		return fmt.Errorf("posting to the webhook of %s: %v", u.Hostname(), err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook of %s answered %s", u.Hostname(), resp.Status)
	}
	return nil
}

// loopback reports whether host is localhost or a loopback IP.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
