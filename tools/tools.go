//go:build tools

// Package tools pins the command-line tools the project builds into bin/:
// the Pulumi CLI (see Makefile target bin/pulumi) and staticcheck.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	_ "honnef.co/go/tools/cmd/staticcheck"
)
