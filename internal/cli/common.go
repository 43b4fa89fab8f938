package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/pins"
	"github.com/slipway-dev/slipway/internal/project"
)

// CommonOptions are the flags every stack verb takes.
type CommonOptions struct {
	Stack   string
	Backend string
	Output  string
	Dir     string

	// runsProgram is set by the verbs that run the program (preview, up,
	// rollback, drift): their stack config is checked before the stack
	// is opened. history and status only read the stack.
	runsProgram bool
	// cfg is the stack's config, parsed (with a placeholder image tag),
	// once stackOptions checked it for a verb that runs the program.
	cfg contract.Config
	// checksChain (up --all, with runsProgram): stackOptions also checks
	// the registry's owner's CD chain against the other stacks' files
	// (checkChain) before the stack is opened.
	checksChain bool
	// ToolRef (--tool-ref, by default $SLIPWAY_TOOL_REF) is the commit of
	// slipwayRepository this checkout is: the run's slipwayRef (see
	// toolRefFlag).
	ToolRef string
}

func commonFlags(cmd *cobra.Command, o *CommonOptions) {
	fs := cmd.Flags()
	fs.StringVar(&o.Stack, "stack", "prod", "stack to operate on")
	fs.StringVar(&o.Backend, "backend", "", "Pulumi backend URL (default $PULUMI_BACKEND_URL, then the project's setting)")
	fs.StringVar(&o.Output, "output", "table", "output format: table or json")
	fs.StringVar(&o.Dir, "dir", ".", "project folder (holding Pulumi.yaml) or one below it")
	if o.runsProgram {
		toolRefFlag(cmd, &o.ToolRef)
	}
}

// toolRefFlag is --tool-ref of the verbs that run the program and of
// workflows --check. The workflow files pin the commit of slipway CD
// checks out, and the stack file of that very commit cannot name it: CD
// passes the checkout's commit ($SLIPWAY_TOOL_REF, which its jobs set from
// git rev-parse HEAD), and the program renders the files with it.
func toolRefFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "tool-ref", "", "the commit of slipwayRepository this checkout is, rendered into the workflow files as slipwayRef "+
		"instead of the stack file's (default $"+contract.ToolRefEnv+"; CD sets it from git rev-parse HEAD)")
}

// validateConfigAt is validateConfig of the stack's config with slipwayRef
// set to the tool ref (flag, else $SLIPWAY_TOOL_REF) when there is one,
// which it returns ("" when neither is set). A tool ref is refused where
// slipway is no checkout of its own: the workflow files then pin no
// commit of it.
func validateConfigAt(stack string, config map[string]string, flag string, getenv func(string) string) (contract.Config, string, error) {
	ref := flag
	if ref == "" {
		ref = getenv(contract.ToolRefEnv)
	}
	if ref != "" {
		if !contract.PinnedRef(ref) {
			return contract.Config{}, "", badInput("--tool-ref (or $%s) %q: want %s", contract.ToolRefEnv, contract.Clip(ref), contract.PinnedRefWant)
		}
		config[toolRefKey] = ref
	}
	cfg, err := validateConfig(stack, config)
	if err != nil {
		return contract.Config{}, "", err
	}
	if ref != "" && cfg.ToolRepository == "" {
		return contract.Config{}, "", badInput("--tool-ref (or $%s) with stack %s's slipway:slipwayRepository empty: slipway lives in the application repository, and the workflow files pin no commit of it", contract.ToolRefEnv, stack)
	}
	return cfg, ref, nil
}

// toolRefKey is the config key of slipwayRef.
const toolRefKey = contract.Project + ":" + contract.KeyToolRef

func (o CommonOptions) validate(getenv func(string) string) error {
	if o.Output != "table" && o.Output != "json" {
		return badInput("--output %q: want table or json", contract.Clip(o.Output))
	}
	for _, b := range []struct{ where, url string }{{"--backend", o.Backend}, {"PULUMI_BACKEND_URL", getenv("PULUMI_BACKEND_URL")}} {
		if contract.PlainBackend(b.url) {
			return badInput("%s %q: the state (and the config passphrase's work) would cross the network in the clear; use https://, s3:// (without an http:// endpoint or disableSSL) or file://", b.where, contract.Clip(b.url))
		}
	}
	return nil
}

// checkSHA checks a SHA flag: the full 40-hex commit SHA.
func checkSHA(flag, sha string) error {
	if err := contract.ValidateSHA(sha); err != nil {
		return badInput("%s: %v", flag, contract.ValidateSHA(contract.Clip(sha)))
	}
	return nil
}

// begin checks a stack verb's flags (the common ones, then the verb's own
// with check) before it opens the stack: bad input never reaches the
// engine.
func (c *Command) begin(ctx context.Context, o *CommonOptions, check func() error) (*deploy.Session, error) {
	opts, err := c.stackOptions(o, check)
	if err != nil {
		return nil, err
	}
	s, err := deploy.Open(ctx, opts)
	if errors.Is(err, deploy.ErrNoStack) {
		return nil, badInput("%v", err)
	}
	return s, err
}

// beginHistory checks a read-only verb's flags as begin does, and opens
// the stack's history only.
func (c *Command) beginHistory(o *CommonOptions, check func() error) (*deploy.HistoryReader, error) {
	opts, err := c.stackOptions(o, check)
	if err != nil {
		return nil, err
	}
	return deploy.OpenHistory(opts), nil
}

// imageTagKey is the config key of the image SHA.
func imageTagKey() string { return contract.Project + ":" + contract.KeyImageTag }

// placeholders are the example values the example stacks
// (Pulumi.prod.yaml, Pulumi.staging.yaml) ship with (a test keeps them
// equal). A stack deployed with one would let someone else's
// repository assume the CI roles, or run a slipway commit that does not exist.
var placeholders = map[string]string{
	"slipway:githubOwner": "example-org",
	"slipway:githubRepo":  "example-api",
	"github:owner":        "example-org",
	"slipway:stateBucket": "example-org-slipway-state",
	"slipway:slipwayRef":  strings.Repeat("0", 40),
}

// placeholderKeys are the keys of config still holding their example value.
func placeholderKeys(config map[string]string) []string {
	var keys []string
	for k, v := range placeholders {
		if config[k] == v {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// validateConfig checks the stack's config, all but the image tag, which
// each verb checks where it gets it (--sha, --to, or the stack's history):
// bad config, or config still holding an example value, is bad input.
func validateConfig(stack string, config map[string]string) (contract.Config, error) {
	with := map[string]string{imageTagKey(): zeroSHA}
	for k, v := range config {
		if k != imageTagKey() {
			with[k] = v
		}
	}
	cfg, err := contract.ParseMap(stack, with)
	if err != nil {
		return contract.Config{}, badInput("stack %s: %v", stack, err)
	}
	if keys := placeholderKeys(config); len(keys) > 0 {
		return contract.Config{}, badInput("stack %s: %s still hold the example values of Pulumi.%s.yaml: set your application repository, state bucket and slipway commit (README, bootstrap step 2)", stack, strings.Join(keys, ", "), stack)
	}
	return cfg, nil
}

// zeroSHA is a valid image SHA for what does not depend on it: the
// workflow files, and the checks of the rest of the config.
const zeroSHA = "0000000000000000000000000000000000000000"

// stackOptions checks the flags and finds the project and the stack's
// config, checking the config for the verbs that run the program. Engine
// progress goes to stderr, so that stdout stays parseable with --output
// json.
func (c *Command) stackOptions(o *CommonOptions, check func() error) (deploy.Options, error) {
	if err := o.validate(c.getenv); err != nil {
		return deploy.Options{}, err
	}
	if check != nil {
		if err := check(); err != nil {
			return deploy.Options{}, err
		}
	}
	proj, err := project.Find(o.Dir)
	if err != nil {
		return deploy.Options{}, badInput("%v", err)
	}
	config, err := proj.StackConfig(o.Stack)
	if err != nil {
		return deploy.Options{}, badInput("%v", err)
	}
	var overrides map[string]string
	if o.runsProgram {
		var ref string
		if o.cfg, ref, err = validateConfigAt(o.Stack, config, o.ToolRef, c.getenv); err != nil {
			return deploy.Options{}, err
		}
		if ref != "" {
			overrides = map[string]string{toolRefKey: ref}
		}
		if o.checksChain {
			if err := checkChain(proj, o.cfg); err != nil {
				return deploy.Options{}, err
			}
		}
	}
	if c.Program == nil {
		return deploy.Options{}, errors.New("no Pulumi program to run (cmd/deploy passes infra.Program)")
	}
	plugins := c.Plugins
	if plugins == nil {
		plugins = pins.Plugins
	}
	return deploy.Options{
		ProjectDir:  proj.Dir,
		Stack:       o.Stack,
		Backend:     o.Backend,
		Program:     c.Program,
		ImageTagKey: imageTagKey(),
		Plugins:     plugins,
		Progress:    c.Stderr,
		Config:      overrides,
	}, nil
}

// stackError maps the engine's lock conflict to its exit code and runbook.
func stackError(err error) error {
	if errors.Is(err, deploy.ErrLocked) {
		return exitError{ExitLocked, fmt.Errorf("%w\n%s", err, lockedRunbook)}
	}
	return err
}

const lockedRunbook = `Another update of this stack is running (or one was killed and left its lock).
  1. Wait for it: CD deploys are serialized and a running one is never cancelled; check the running workflow.
  2. Only when you are sure nothing runs: pulumi cancel --stack <stack> (it removes every lock of
     the stack, a live run's too), then pulumi refresh --clear-pending-creates if the killed run
     left pending operations. slipway never does this on its own.`

func writeJSON(w io.Writer, v interface{}) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	// Indented JSON cannot start a line with "::" (each line starts with a
	// bracket, or with spaces and a quote or bracket; control characters
	// are escaped),
	// so a GitHub runner takes none of its lines for a workflow command;
	// "##[", which it takes anywhere, can only be inside a string, where
	// the escape \u005b for "[" decodes to the same text.
	_, err := w.Write(bytes.ReplaceAll(b.Bytes(), []byte("##["), []byte(`##\u005b`)))
	return err
}

// appendStepSummary appends Markdown to $GITHUB_STEP_SUMMARY when set.
func (c *Command) appendStepSummary(markdown string) error {
	path := c.getenv("GITHUB_STEP_SUMMARY")
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing the job summary: %w", err)
	}
	if _, err := io.WriteString(f, markdown+"\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *Command) getenv(key string) string {
	if c.Getenv == nil {
		return os.Getenv(key)
	}
	return c.Getenv(key)
}

// Verification settings of a deploy: how long to wait for ECS to finish a
// rollout that is still in progress after the engine's steady-state wait.
const (
	defaultVerifyTimeout = 10 * time.Minute
	verifyInterval       = 5 * time.Second
)

// note prints one progress or warning line on stderr.
func (c *Command) note(format string, args ...interface{}) {
	fmt.Fprintf(c.Stderr, "slipway: "+format+"\n", args...)
}

// currentSHA is the SHA ECS runs according to the stack's history; ""
// when nothing was deployed yet. Updates history does not count as
// deploys are named once on stderr.
func (c *Command) currentSHA(ctx context.Context, s deploy.HistorySource) (string, error) {
	sha, skipped, err := deploy.Running(ctx, s)
	c.noteSkipped(skipped)
	if errors.Is(err, deploy.ErrNeverDeployed) {
		return "", nil
	}
	return sha, err
}

// rollbackTarget is the current SHA and the rollback's target; a target
// that cannot be rolled back to, or a stack that does not exist, is bad
// input.
func (c *Command) rollbackTarget(ctx context.Context, s deploy.HistorySource, to string) (string, string, error) {
	r, err := deploy.RollbackTarget(ctx, s, to)
	c.noteSkipped(r.Skipped)
	if errors.Is(err, deploy.ErrNoStack) || errors.Is(err, deploy.ErrNoTarget) {
		return r.Current, r.Target, badInput("%v", err)
	}
	return r.Current, r.Target, err
}

// noteSkipped names, once, the updates history does not count as deploys.
func (c *Command) noteSkipped(s deploy.Skipped) {
	if note := s.Note(); note != "" {
		c.note("%s", note)
	}
}
