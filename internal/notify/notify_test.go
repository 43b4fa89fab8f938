package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// secretPath is the credential part of a webhook URL, as Slack's are.
const secretPath = "/services/T000/B000/s3cr3t"

func TestPost(t *testing.T) {
	msg := Message{Text: "slipway deploy aaaaaaa to prod: verified", Stack: "prod", SHA: strings.Repeat("a", 40), Previous: strings.Repeat("b", 40),
		Outcome: "verified", DurationSeconds: 95.5, RunURL: "https://github.com/acme/api/actions/runs/42"}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		url     func(srv string) string // the webhook URL given the server's
		timeout time.Duration
		wantErr string // "" for success
	}{
		{name: "2xx", handler: func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) }},
		{name: "no content", handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }},
		{name: "bad status", handler: func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "invalid_token", http.StatusForbidden) },
			wantErr: "answered 403 Forbidden"},
		{name: "redirect is not followed", handler: func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
			wantErr: "answered 302 Found"},
		{name: "timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, timeout: 50 * time.Millisecond, wantErr: "no answer within 50ms"},
		{name: "plain http to another host", url: func(string) string { return "http://hooks.example.com" + secretPath },
			wantErr: "not https://"},
		{name: "no URL", url: func(string) string { return "not a url" + secretPath }, wantErr: "not a URL"},
		{name: "connection refused", url: func(string) string { return "http://127.0.0.1:1" + secretPath }, wantErr: "posting to the webhook of 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var contentType string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == secretPath {
					contentType = r.Header.Get("Content-Type")
					got, _ = io.ReadAll(r.Body)
				}
				if tt.handler != nil {
					tt.handler(w, r)
				}
			}))
			defer srv.Close()
			u := srv.URL + secretPath
			if tt.url != nil {
				u = tt.url(srv.URL)
			}
			err := Webhook{URL: u, Timeout: tt.timeout}.Post(context.Background(), msg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Post: %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Post: %v, want an error containing %q", err, tt.wantErr)
			case err != nil && (strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), u)):
				t.Errorf("Post error %q names the webhook URL", err)
			}
			if tt.wantErr != "" || tt.name == "no content" {
				return
			}
			var posted map[string]interface{}
			if err := json.Unmarshal(got, &posted); err != nil {
				t.Fatalf("posted %q: %v", got, err)
			}
			want := map[string]interface{}{"text": msg.Text, "stack": "prod", "sha": msg.SHA, "previous": msg.Previous, "outcome": "verified",
				"durationSeconds": 95.5, "runUrl": msg.RunURL}
			for k, v := range want {
				if posted[k] != v {
					t.Errorf("posted %s = %v, want %v", k, posted[k], v)
				}
			}
			if len(posted) != len(want) {
				t.Errorf("posted %d fields %v, want exactly %d", len(posted), posted, len(want))
			}
			if contentType != "application/json" {
				t.Errorf("Content-Type %q, want application/json", contentType)
			}
		})
	}
}
