package workflows

import (
	"fmt"
	"maps"
	"slices"
)

// Pin is an action pinned to a full commit SHA. A tag can be moved (the
// tj-actions/changed-files compromise, CVE-2025-30066); a commit cannot.
// Every SHA here was resolved from its version tag in the action's own
// repository, as ACTIONS.md records: never write one from memory.
type Pin struct {
	SHA     string // 40-hex commit the version tag points to
	Version string // the tag, kept as the line comment Dependabot and Renovate read
}

// pins are the only actions the workflows may use.
var pins = map[string]Pin{
	"actions/checkout":                      {SHA: "3d3c42e5aac5ba805825da76410c181273ba90b1", Version: "v7.0.1"},
	"actions/download-artifact":             {SHA: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", Version: "v8.0.1"},
	"actions/setup-go":                      {SHA: "b7ad1dad31e06c5925ef5d2fc7ad053ef454303e", Version: "v7.0.0"},
	"actions/upload-artifact":               {SHA: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", Version: "v7.0.0"},
	"aws-actions/amazon-ecr-login":          {SHA: "03f1aad4c6c7ffd436567f42f9384779290529bd", Version: "v2.1.7"},
	"aws-actions/configure-aws-credentials": {SHA: "e6de054238d6b7531b4efff3b6587d9aade6a06c", Version: "v6.2.3"},
	"docker/build-push-action":              {SHA: "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a", Version: "v7.3.0"},
	"docker/setup-buildx-action":            {SHA: "37fe631027851001ddb9b187196cc803df7f5f0e", Version: "v4.3.0"},
	"dtolnay/rust-toolchain":                {SHA: "e97e2d8cc328f1b50210efc529dca0028893a2d9", Version: "v1"},
	"pulumi/actions":                        {SHA: "8e5e406f4007fca908480587cb9893c07090f58d", Version: "v7.0.0"},
	"Swatinem/rust-cache":                   {SHA: "6323deb102c322ba6fcbdcafc7e3dddab59af2b6", Version: "v2.9.2"},
}

// LookupPin is the pin of action (owner/repo), ok false when the pin table
// has none.
func LookupPin(action string) (pin Pin, ok bool) {
	pin, ok = pins[action]
	return pin, ok
}

// pinnedUses is the template function behind [[ pin "owner/repo" ]]: the
// value of a step's uses: with the version as a line comment.
func pinnedUses(action string) (string, error) {
	p, ok := pins[action]
	if !ok {
		return "", fmt.Errorf("action %q is not in the pin table (pins.go); known: %v", action, slices.Sorted(maps.Keys(pins)))
	}
	return fmt.Sprintf("%s@%s # %s", action, p.SHA, p.Version), nil
}
