// Command deploy is the slipway deploy tool: synth, preview, up, rollback,
// history, status, drift, metrics and workflows over the slipway Pulumi
// program, which it injects into the tool with the program's workflow
// renderer and environments (internal/cli imports no cloud provider).
package main

import (
	"os"

	"github.com/slipway-dev/slipway/infra"
	"github.com/slipway-dev/slipway/internal/cli"
)

func main() {
	os.Exit((&cli.Command{
		Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Program:      infra.Program,
		Environments: infra.TrustedEnvironments,
		Workflows:    infra.Workflows,
	}).Run(os.Args[1:]))
}
