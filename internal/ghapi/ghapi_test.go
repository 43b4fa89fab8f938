package ghapi

import "testing"

func TestNew(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"", "https://api.github.com/"},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3/"},
	} {
		gh, err := New(tc.base, "tok", nil)
		if err != nil || gh.BaseURL.String() != tc.want {
			t.Errorf("New(%q) base %v, %v; want %s", tc.base, gh.BaseURL, err, tc.want)
		}
	}
	if _, err := New("://bad", "tok", nil); err == nil {
		t.Error("New(\"://bad\") = nil error, want the URL refused")
	}
}

func TestRepo(t *testing.T) {
	if o, n, err := Repo("acme/api"); err != nil || o != "acme" || n != "api" {
		t.Errorf("Repo(acme/api) = %q, %q, %v", o, n, err)
	}
	if _, _, err := Repo("acme"); err == nil {
		t.Error("Repo(acme) = nil error, want owner/name asked for")
	}
}
