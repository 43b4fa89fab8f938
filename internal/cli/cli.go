// Package cli is the slipway deploy tool: one file per verb, each with its
// <Verb>Options, run in-process by Command.Main so that tests drive it the
// way a shell does. It parses flags, asks internal/deploy, maps the
// outcome to an exit code and renders it; the decisions are deploy's.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/pins"
)

// Exit codes. Scripts and CI branch on these; the README lists them.
const (
	ExitOK         = 0 // success
	ExitFailure    = 1 // the operation failed (engine, cloud, I/O), or the deploy is unverified
	ExitBadInput   = 2 // bad flags, SHA or config: nothing was changed
	ExitLocked     = 3 // another update holds the stack's lock
	ExitRolledBack = 4 // ECS rolled the deploy back
	ExitDrift      = 5 // the cloud no longer matches the stack
	ExitMismatch   = 6 // status: the running service differs from the stack's outputs
	ExitRefused    = 7 // refused before touching anything (never deployed, platform changes, not promotable...: the README's table)
	ExitNoImage    = 8 // the image SHA is not in ECR: refused before touching anything
)

// Command runs the tool with its own output streams and environment.
type Command struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string // nil: os.Getenv

	// Program is the Pulumi program synth and the stack verbs run:
	// cmd/deploy passes infra.Program; tests pass a provider-free stand-in
	// through the same code path.
	Program pulumi.RunFunc
	// Plugins are the provider plugins to install before preview and up;
	// nil: pins.Plugins.
	Plugins []pins.Plugin
	// VerifyInterval is how often up polls ECS while a rollout is in
	// progress; 0: every 5 s.
	VerifyInterval time.Duration
	// Version is the tool's own version, printed by deploy version.
	Version string
	// Workflows renders the workflow files from a stack's config, as the
	// program does; cmd/deploy passes infra's.
	Workflows RenderWorkflows
	// Environments are the GitHub environments whose deployment branch
	// policies a stack's roles' trust rests on (drift checks them);
	// cmd/deploy passes infra's.
	Environments func(contract.Config) []string
}

// inputError marks bad input: exit ExitBadInput, nothing was changed.
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

func badInput(format string, args ...interface{}) error {
	return inputError{fmt.Errorf(format, args...)}
}

// exitError carries a specific exit code.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// Run runs the tool as a process does: until Ctrl-C (SIGINT) or SIGTERM,
// which end its context (a deploy then stops as "interrupted"); it
// returns the exit code.
func (c *Command) Run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.Main(ctx, args)
}

// Main runs the tool and returns its exit code.
func (c *Command) Main(ctx context.Context, args []string) int {
	root := c.root()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	name := "deploy"
	if cmd, _, ferr := root.Find(args); ferr == nil && cmd != root {
		name += " " + cmd.Name()
	}
	fmt.Fprintf(c.Stderr, "slipway %s: %s\n", name, strings.TrimPrefix(err.Error(), "slipway: "))
	var in inputError
	var ex exitError
	switch {
	case errors.As(err, &ex):
		return ex.code
	case errors.As(err, &in):
		return ExitBadInput
	}
	return ExitFailure
}

// root is the deploy command with every verb.
func (c *Command) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "deploy",
		Short: "slipway deploys a container image to ECS Fargate by its git SHA, verifies it, and rolls it back",
		Long: `slipway deploys a container image to ECS Fargate by its git SHA: the SHA is the stack's
slipway:imageTag config, an update with a new SHA is the rolling deploy, and ECS's own
deployment state decides whether it is verified. Exit codes: README, "Exit codes".`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(c.Stderr)
			_ = cmd.Usage()
			return badInput("a command is required")
		},
	}
	root.SetOut(c.Stdout)
	root.SetErr(c.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return inputError{err} })
	root.AddCommand(c.synthCmd(), c.previewCmd(), c.upCmd(), c.rollbackCmd(), c.promoteCmd(), c.historyCmd(),
		c.metricsCmd(), c.statusCmd(), c.driftCmd(), c.workflowsCmd(), c.versionCmd())
	root.CompletionOptions.HiddenDefaultCmd = false
	return root
}

// noArgs refuses positional arguments: every verb takes flags only.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if !cmd.HasParent() {
		return badInput("unknown command %q (see deploy --help)", args[0])
	}
	return badInput("unexpected argument %q: %s takes flags only (see deploy %s --help)", strings.Join(args, " "), cmd.Name(), cmd.Name())
}

// verbs are the verbs the README documents, in its order.
var verbs = []string{"synth", "preview", "up", "promote", "rollback", "history", "metrics", "status", "drift", "workflows", "version", "completion"}
