package cli

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/deploy"
	"github.com/slipway-dev/slipway/internal/ghcomment"
)

// PreviewOptions are the flags of preview.
type PreviewOptions struct {
	CommonOptions
	SHA     string
	Comment bool
	PR      int
}

// previewReport is what preview prints with --output json.
type previewReport struct {
	Stack       string          `json:"stack"`
	ImageTag    string          `json:"imageTag"`
	Counts      map[string]int  `json:"counts"`
	Changes     []deploy.Change `json:"changes"`
	Destructive []deploy.Change `json:"destructive"`
	Comment     string          `json:"comment,omitempty"`
}

func (c *Command) previewCmd() *cobra.Command {
	var o PreviewOptions
	o.runsProgram = true
	cmd := &cobra.Command{
		Use:   "preview",
		Short: "preview the stack with the deployed SHA (infrastructure changes only); job summary, PR comment",
		Example: `  deploy preview
  deploy preview --comment --pr 42    # in a pull_request job`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.preview(cmd.Context(), o) },
	}
	commonFlags(cmd, &o.CommonOptions)
	cmd.Flags().StringVar(&o.SHA, "sha", "", "image SHA to preview with (default: the deployed one, so that only infrastructure changes show)")
	cmd.Flags().BoolVar(&o.Comment, "comment", false, "create or update this stack's section of the one PR preview comment (needs --pr, GITHUB_TOKEN, GITHUB_REPOSITORY)")
	cmd.Flags().IntVar(&o.PR, "pr", 0, "pull request number for --comment")
	return cmd
}

func (c *Command) preview(ctx context.Context, o PreviewOptions) error {
	session, err := c.begin(ctx, &o.CommonOptions, func() error {
		if o.Comment && o.PR <= 0 {
			return badInput("--comment needs --pr N, the pull request to comment on")
		}
		if o.Comment {
			for _, k := range []string{"GITHUB_TOKEN", "GITHUB_REPOSITORY"} {
				if c.getenv(k) == "" {
					return badInput("--comment needs %s in the environment (GitHub Actions sets it; the job needs permissions: pull-requests: write)", k)
				}
			}
		}
		if !o.Comment && o.PR != 0 {
			return badInput("--pr %d without --comment does nothing: add --comment, or drop --pr", o.PR)
		}
		if o.SHA != "" {
			if err := checkSHA("--sha", o.SHA); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer session.Close()
	sha, err := c.deployedSHA(ctx, session, o.SHA)
	if err != nil {
		return err
	}
	plan, err := session.Preview(ctx, sha, deploy.PreviewOptions{})
	if err != nil {
		return stackError(err)
	}
	md := previewMarkdown(o.Stack, sha, plan)
	r := previewReport{Stack: o.Stack, ImageTag: sha, Counts: plan.Counts, Changes: nonNil(plan.Changes), Destructive: nonNil(deploy.Destructive(plan.Changes))}
	if err := c.appendStepSummary(md); err != nil {
		return err
	}
	if o.Comment {
		gh := &ghcomment.Client{BaseURL: c.getenv("GITHUB_API_URL"), Token: c.getenv("GITHUB_TOKEN"), Repo: c.getenv("GITHUB_REPOSITORY")}
		action, err := gh.UpsertSection(ctx, o.PR, previewMarker, o.Stack, md, plan.HasChanges())
		if err != nil {
			return fmt.Errorf("PR comment: %w", err)
		}
		r.Comment = string(action)
	}
	if o.Output == "json" {
		return writeJSON(c.Stdout, r)
	}
	fmt.Fprint(c.Stdout, md)
	if r.Comment != "" {
		fmt.Fprintf(c.Stdout, "\nPR comment: %s\n", r.Comment)
	}
	return nil
}

// previewMarker marks the PR's one preview comment: every stack's preview
// is a section of it, named by the stack, in the order the CI job's steps
// ran (staging, then prod). The first stack with changes creates it; once
// it exists, each stack's step rewrites its own section, "no changes"
// included, so that no section is left stale.
const previewMarker = "<!-- slipway-preview -->"

func nonNil(c []deploy.Change) []deploy.Change {
	if c == nil {
		return []deploy.Change{}
	}
	return c
}

// deployedSHA is the SHA to preview with: --sha, else what runs now.
func (c *Command) deployedSHA(ctx context.Context, session *deploy.Session, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	sha, err := c.currentSHA(ctx, session)
	if err == nil && sha == "" {
		return "", badInput("%v: pass --sha to preview with an image SHA", deploy.ErrNeverDeployed)
	}
	return sha, err
}

// countsLine is "2 create, 1 update" (or "no changes").
func countsLine(counts map[string]int) string {
	var ops []string
	for op, n := range counts {
		if n > 0 {
			ops = append(ops, strconv.Itoa(n)+" "+op)
		}
	}
	if len(ops) == 0 {
		return "no changes"
	}
	sort.Strings(ops)
	return strings.Join(ops, ", ")
}

// previewMarkdown is the short summary for the job summary and the PR.
func previewMarkdown(stack, sha string, plan deploy.Plan) string {
	var b strings.Builder
	if !plan.HasChanges() {
		fmt.Fprintf(&b, "### slipway preview of `%s`: no changes\nImage `%s` (deployed). The infrastructure matches the stack.\n", stack, sha[:7])
		return b.String()
	}
	fmt.Fprintf(&b, "### slipway preview of `%s`: %d to change (%s)\n", stack, len(plan.Changes), countsLine(plan.Counts))
	fmt.Fprintf(&b, "Previewed with the deployed image `%s`: only infrastructure changes show.\n", sha[:7])
	if d := deploy.Destructive(plan.Changes); len(d) > 0 {
		var names []string
		for _, ch := range d {
			names = append(names, fmt.Sprintf("`%s` (%s, %s)", ch.Name, ch.Type, ch.Op))
		}
		fmt.Fprintf(&b, "\n> [!WARNING]\n> Replaces or deletes stateful resources: %s\n", strings.Join(names, ", "))
	}
	if pc := deploy.PlatformChanges(plan.Changes); len(pc) > 0 {
		fmt.Fprintf(&b, "\n%d platform change(s): CD will refuse to deploy until an administrator applies them (`deploy up --all`).\n", len(pc))
	}
	b.WriteString("\n| operation | type | resource | changed |\n|---|---|---|---|\n")
	for _, ch := range plan.Changes {
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s |\n", ch.Op, ch.Type, ch.Name, strings.Join(ch.Keys, ", "))
	}
	return b.String()
}
