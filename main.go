// Command slipway is the Pulumi program's entry point for the Pulumi CLI.
package main

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/infra"
)

func main() { pulumi.Run(infra.Program) }
