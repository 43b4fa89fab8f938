// Package deploy drives the real Pulumi engine through the Automation API
// with an inline program, over a private copy of the project's settings
// files: the image tag of a run is set in the copy, so the work tree's
// Pulumi.<stack>.yaml is never modified, even when a run is killed.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/sig"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/pins"
)

// ErrLocked is returned when another update holds the stack's lock.
var ErrLocked = errors.New("the stack is locked by another update")

// ErrNoStack is returned when the stack does not exist in the backend.
var ErrNoStack = errors.New("the stack does not exist in the backend")

// Options configure a Session.
type Options struct {
	ProjectDir  string // holds Pulumi.yaml and Pulumi.<stack>.yaml
	Stack       string
	Backend     string // PULUMI_BACKEND_URL for this run; "" = the environment's, then the project's
	Program     pulumi.RunFunc
	ImageTagKey string // the config key of the image SHA, e.g. slipway:imageTag
	Plugins     []pins.Plugin
	Env         map[string]string // more environment for the Pulumi CLI
	Progress    io.Writer         // engine progress; nil discards it
	// Config are values set in the session's private copy of the stack
	// file before any run (full keys, e.g. slipway:slipwayRef): what the
	// stack file cannot hold, such as the commit it is checked out at.
	Config map[string]string
}

// Session is one stack opened over a private copy of the project files.
type Session struct {
	o     Options
	dir   string
	stack auto.Stack

	// What prepare already did: a preview and the up after it (the deploy
	// guard) need the config write and the plugin check only once.
	imageTag     string
	pluginsReady bool

	// bound is what the latest Preview saw, for the Up applying it.
	bound *binding
}

// Open selects the existing stack. It never creates one: creating the stack
// (and its encryption salt) is an administrator's bootstrap step.
func Open(ctx context.Context, o Options) (*Session, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	dir, err := os.MkdirTemp("", "slipway-"+o.Stack+"-")
	if err != nil {
		return nil, err
	}
	s := &Session{o: o, dir: dir}
	for _, name := range []string{"Pulumi.yaml", "Pulumi." + o.Stack + ".yaml"} {
		if err := copyFile(filepath.Join(o.ProjectDir, name), filepath.Join(dir, name)); err != nil {
			s.Close()
			return nil, err
		}
	}
	env := map[string]string{"PULUMI_SKIP_UPDATE_CHECK": "true"}
	for k, v := range o.Env {
		env[k] = v
	}
	if o.Backend != "" {
		env["PULUMI_BACKEND_URL"] = o.Backend
	}
	s.stack, err = auto.SelectStackLocalSource(ctx, o.Stack, dir, auto.Program(o.Program), auto.EnvVars(env))
	if err != nil {
		s.Close()
		if auto.IsSelectStack404Error(err) {
			return nil, fmt.Errorf("%w: stack %q in %s; an administrator creates it once (README: bootstrap)", ErrNoStack, o.Stack, backendName(env))
		}
		return nil, fmt.Errorf("opening stack %q: %w", o.Stack, err)
	}
	for _, k := range slices.Sorted(maps.Keys(o.Config)) {
		if err := s.stack.SetConfig(ctx, k, auto.ConfigValue{Value: o.Config[k]}); err != nil {
			s.Close()
			return nil, fmt.Errorf("setting %s for this run: %w", k, err)
		}
	}
	return s, nil
}

func backendName(env map[string]string) string {
	if b := env["PULUMI_BACKEND_URL"]; b != "" {
		return "backend " + b
	}
	if b := os.Getenv("PULUMI_BACKEND_URL"); b != "" {
		return "backend " + b
	}
	return "the project's backend"
}

// stackFile is the session's copy of the stack's settings file.
func (s *Session) stackFile() string { return filepath.Join(s.dir, "Pulumi."+s.o.Stack+".yaml") }

// Close removes the private copy.
func (s *Session) Close() { os.RemoveAll(s.dir) }

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// prepare readies a run with the image SHA sha: it sets the SHA in the
// private copy of the stack file and makes sure the pinned plugins are
// installed, each only when not done yet in this session.
func (s *Session) prepare(ctx context.Context, sha string) error {
	if s.imageTag != sha {
		if err := s.stack.SetConfig(ctx, s.o.ImageTagKey, auto.ConfigValue{Value: sha}); err != nil {
			return err
		}
		s.imageTag = sha
	}
	if !s.pluginsReady {
		if err := s.EnsurePlugins(ctx); err != nil {
			return err
		}
		s.pluginsReady = true
	}
	return nil
}

// SetCommitTime records, in the session's private copy of the stack file,
// when the commit being deployed was made: every update of the session
// then carries it in history (as its config), and the lead time for
// changes can be told from it. The program reads no value from it.
func (s *Session) SetCommitTime(ctx context.Context, t time.Time) error {
	return s.stack.SetConfig(ctx, contract.Project+":"+contract.KeyCommitTime, auto.ConfigValue{Value: t.UTC().Format(time.RFC3339)})
}

// EnsurePlugins installs the pinned provider plugins that are missing.
func (s *Session) EnsurePlugins(ctx context.Context) error {
	if len(s.o.Plugins) == 0 {
		return nil
	}
	ws := s.stack.Workspace()
	installed, err := ws.ListPlugins(ctx)
	if err != nil {
		return fmt.Errorf("listing provider plugins: %w", err)
	}
	have := map[string]bool{}
	for _, p := range installed {
		if p.Kind == "resource" && p.Version != nil {
			have[p.Name+"@v"+p.Version.String()] = true
		}
	}
	for _, p := range s.o.Plugins {
		if have[p.Name+"@"+p.Version] {
			continue
		}
		if err := ws.InstallPlugin(ctx, p.Name, p.Version); err != nil {
			return fmt.Errorf("provider plugin %s %s is not installed and could not be installed (%s); "+
				"where get.pulumi.com cannot be reached, install it from a downloaded archive: pulumi plugin install resource %s %s --file <archive>",
				p.Name, p.Version, firstLine(err.Error()), p.Name, p.Version)
		}
	}
	return nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Outputs are the stack's current outputs (plain values), known ones
// only (see known).
func (s *Session) Outputs(ctx context.Context) (map[string]interface{}, error) {
	out, err := s.stack.Outputs(ctx)
	if err != nil {
		return nil, err
	}
	plain := map[string]interface{}{}
	for k, v := range out {
		plain[k] = v.Value
	}
	return known(plain), nil
}

// known drops the outputs whose value the engine does not know. An update
// that did not create everything (README bootstrap step 3's targeted up of
// the registry alone) still records every output, those computed from
// resources it did not create as the engine's unknown-value sentinel
// (sig.UnknownStringValue, "04da6b54-..."): such a stack has no service
// yet, and a service name that is a sentinel is no name to compare or ask
// ECS about.
func known(outputs map[string]interface{}) map[string]interface{} {
	for k, v := range outputs {
		if s, ok := v.(string); ok && sig.IsUnknown(s) {
			delete(outputs, k)
		}
	}
	return outputs
}

// lockedOr maps the engine's lock conflict to ErrLocked.
func lockedOr(err error) error {
	if err != nil && auto.IsConcurrentUpdateError(err) {
		return fmt.Errorf("%w: %s", ErrLocked, firstLine(lockLine(err.Error())))
	}
	return err
}

// lockLine picks the engine's own lock message out of its output.
func lockLine(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "locked by") {
			return strings.TrimSpace(l)
		}
	}
	return out
}
