// Package cli is the slipway deploy tool: one file per verb, each with its
// <Verb>Options, run in-process by Command.Main so that tests drive it the
// way a shell does.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/pins"
)

// Exit codes. Scripts and CI branch on these; the README lists them.
const (
	ExitOK         = 0 // success
	ExitFailure    = 1 // the operation failed (engine, cloud, I/O)
	ExitBadInput   = 2 // bad flags, SHA or config: nothing was changed
	ExitLocked     = 3 // another update holds the stack's lock
	ExitRolledBack = 4 // ECS rolled the deploy back (the last good SHA was redeployed)
	ExitDrift      = 5 // the cloud no longer matches the stack
	ExitMismatch   = 6 // status: the running service differs from the stack's outputs
	ExitRefused    = 7 // the deploy guard refused: platform changes are pending
	ExitNoImage    = 8 // the image SHA is not in ECR: refused before touching anything
)

// Command runs the tool with its own output streams and environment.
type Command struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string // nil: os.Getenv

	// Program is the Pulumi program the stack verbs run; nil: infra.Program.
	// Tests pass a provider-free stand-in through the same code path.
	Program pulumi.RunFunc
	// Plugins are the provider plugins to install before preview and up;
	// nil: pins.Plugins.
	Plugins []pins.Plugin
	// VerifyInterval is how often up polls ECS while a rollout is in
	// progress; 0: every 5 s.
	VerifyInterval time.Duration
}

// verb is one subcommand.
type verb struct {
	summary string
	run     func(c *Command, ctx context.Context, args []string) error
}

var verbs = map[string]verb{
	"synth":    {"run the program offline under mocks; write resources.json", (*Command).synth},
	"preview":  {"preview the stack with the deployed SHA (infrastructure changes only); job summary, PR comment", (*Command).preview},
	"up":       {"deploy an image SHA: check the image, guard, pulumi up, verify ECS", (*Command).up},
	"rollback": {"deploy the previous good SHA (or --to SHA); --dry-run shows the target", (*Command).rollback},
	"history":  {"list the stack's updates, newest first", (*Command).history},
	"status":   {"compare the running ECS service with the stack's outputs", (*Command).status},
	"drift":    {"preview with refresh: does the cloud still match the stack?", (*Command).drift},
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

// Main runs the tool and returns its exit code.
func (c *Command) Main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(c.Stderr, "slipway: a command is required")
		c.usage(c.Stderr)
		return ExitBadInput
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		c.usage(c.Stdout)
		return ExitOK
	}
	v, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(c.Stderr, "slipway: unknown command %q\n", args[0])
		c.usage(c.Stderr)
		return ExitBadInput
	}
	err := v.run(c, ctx, args[1:])
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintf(c.Stderr, "slipway %s: %v\n", args[0], err)
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

func (c *Command) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: deploy <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, verbs[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'deploy <command> -h' for its flags.")
}

// flags makes a verb's flag set; parse errors become bad input.
func (c *Command) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return inputError{err}
	}
	if fs.NArg() > 0 {
		return badInput("unexpected argument %q: %s takes flags only (see -h)", strings.Join(fs.Args(), " "), fs.Name())
	}
	return nil
}
