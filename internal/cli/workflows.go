package cli

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/contract"
	"github.com/slipway-dev/slipway/internal/project"
	"github.com/slipway-dev/slipway/workflows"
)

// WorkflowsOptions are the flags of workflows.
type WorkflowsOptions struct {
	Stack   string
	Dir     string
	RepoDir string
	Check   bool
	// ToolRef is the commit of slipwayRepository the checkout runs: the
	// files are rendered with it as slipwayRef.
	ToolRef string
}

func (c *Command) workflowsCmd() *cobra.Command {
	var o WorkflowsOptions
	cmd := &cobra.Command{
		Use:   "workflows",
		Short: "--check: the checkout's workflow files are exactly what the stack renders (offline)",
		Long: `workflows --check renders the application repository's workflow files offline from the
stack's config, as the program does, and compares them with the files of the checkout in
--repo-dir. Any difference (an edited, missing or stale file) exits 7 with a diff: CD and
rollback run it before they assume a role, so an edited workflow never runs with the deploy role.`,
		Example: `  deploy workflows --check --repo-dir "$GITHUB_WORKSPACE"
  deploy workflows --check --stack prod --repo-dir ../api
  deploy workflows --check --repo-dir "$GITHUB_WORKSPACE" --tool-ref "$(git rev-parse HEAD)"`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return c.workflows(o) },
	}
	cmd.Flags().StringVar(&o.Stack, "stack", "prod", "stack whose config renders the files")
	cmd.Flags().StringVar(&o.Dir, "dir", ".", "project folder (holding Pulumi.yaml) or one below it")
	cmd.Flags().StringVar(&o.RepoDir, "repo-dir", "", "the application repository's checkout (default $GITHUB_WORKSPACE, else the current folder)")
	cmd.Flags().BoolVar(&o.Check, "check", false, "compare the checkout's workflow files with the render (required)")
	toolRefFlag(cmd, &o.ToolRef)
	return cmd
}

func (c *Command) workflows(o WorkflowsOptions) error {
	if !o.Check {
		return badInput("workflows takes --check: compare the checkout's workflow files with the stack's render")
	}
	if c.Workflows == nil {
		return errors.New("no workflow renderer (cmd/deploy passes the program's)")
	}
	proj, err := project.Find(o.Dir)
	if err != nil {
		return badInput("%v", err)
	}
	config, err := proj.StackConfig(o.Stack)
	if err != nil {
		return badInput("%v", err)
	}
	// The files never depend on the image SHA: the placeholder renders them.
	cfg, _, err := validateConfigAt(o.Stack, config, o.ToolRef, c.getenv)
	if err != nil {
		return err
	}
	if !cfg.Registry.Own {
		return badInput("stack %s does not render the workflow files: slipway:registry is %q, and the stack that owns the registry (slipway:registry own) renders them for every environment: run workflows --check --stack with that stack", o.Stack, cfg.Registry.Name)
	}
	if err := checkChain(proj, cfg); err != nil {
		return err
	}
	files, err := c.Workflows(cfg)
	if err != nil {
		return err
	}
	repo := cmp.Or(o.RepoDir, c.getenv("GITHUB_WORKSPACE"), ".")
	var differ []string
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(repo, f.Path))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if d := unifiedDiff(f.Path+" (checkout)", f.Path+" (render of stack "+o.Stack+")", got, f.Content); d != "" {
			fmt.Fprint(c.Stdout, d)
			differ = append(differ, f.Path)
		}
	}
	if len(differ) > 0 {
		return exitError{ExitRefused, fmt.Errorf("%d workflow file(s) differ from what stack %s renders (%v), so they are not the files the stack manages: "+
			"revert the edit, or change the templates in slipway and apply them with deploy up --all (diff above)", len(differ), o.Stack, differ)}
	}
	fmt.Fprintf(c.Stdout, "the %d workflow files in %s are exactly what stack %s renders\n", len(files), repo, o.Stack)
	return nil
}

// RenderWorkflows renders the workflow files as the program does.
type RenderWorkflows func(cfg contract.Config) ([]workflows.File, error)
