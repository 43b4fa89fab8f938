// Package pins holds the versions that must equal go.mod's pins but are
// needed at run time, where go.mod is not at hand (a test keeps them equal):
// the Pulumi CLI the workflows install and the provider plugins an inline
// program needs.
package pins

// Pulumi is the version of the Pulumi SDK in go.mod, and so of the CLI.
const Pulumi = "3.274.1"

// Plugin is a resource provider plugin at the version of its Go SDK.
type Plugin struct {
	Name    string
	Version string // with the leading v, as go.mod writes it
	Module  string // the Go SDK module whose version it follows
}

// Plugins are the provider plugins infra.Program uses.
var Plugins = []Plugin{
	{Name: "aws", Version: "v6.83.4", Module: "github.com/pulumi/pulumi-aws/sdk/v6"},
	{Name: "github", Version: "v6.12.2", Module: "github.com/pulumi/pulumi-github/sdk/v6"},
}
