package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/deploy"
)

// HistoryOptions are the flags of history.
type HistoryOptions struct {
	CommonOptions
	Limit int
	All   bool
}

// historyRow is one update, as history --output json prints it.
type historyRow struct {
	Version         int     `json:"version,omitempty"` // 0: the backend numbers no updates (file://, s3://)
	Kind            string  `json:"kind"`
	Result          string  `json:"result"`
	ImageTag        string  `json:"imageTag"`
	StartTime       string  `json:"startTime"`
	DurationSeconds float64 `json:"durationSeconds"`
	Message         string  `json:"message"`
}

func (c *Command) historyCmd() *cobra.Command {
	var o HistoryOptions
	cmd := &cobra.Command{
		Use:   "history",
		Short: "list the stack's updates, newest first",
		Example: `  deploy history
  deploy history --limit 50 --output json
  deploy history --all`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.history(cmd.Context(), o) },
	}
	commonFlags(cmd, &o.CommonOptions)
	cmd.Flags().IntVar(&o.Limit, "limit", defaultHistoryLimit, "show the newest N updates")
	cmd.Flags().BoolVar(&o.All, "all", false, "show every update (not with --limit)")
	return cmd
}

// defaultHistoryLimit is how many updates history shows by default.
const defaultHistoryLimit = 20

func (c *Command) history(ctx context.Context, o HistoryOptions) error {
	reader, err := c.beginHistory(&o.CommonOptions, func() error {
		if o.All && o.Limit != defaultHistoryLimit {
			return badInput("--all and --limit %d: pick one (--all shows every update)", o.Limit)
		}
		if o.Limit < 1 {
			return badInput("--limit %d: want 1 or more (or --all)", o.Limit)
		}
		return nil
	})
	if err != nil {
		return err
	}
	limit := o.Limit
	if o.All {
		limit = 0
	}
	hist, err := deploy.Recent(ctx, reader, limit)
	if errors.Is(err, deploy.ErrNoStack) {
		return badInput("%v", err)
	}
	if err != nil {
		return err
	}
	// JSON carries history's text as it is (writeJSON keeps it from being
	// taken for a workflow command); the table escapes it (Printable).
	rows := make([]historyRow, len(hist))
	for i, u := range hist {
		rows[i] = historyRow{Version: u.Version, Kind: u.Kind, Result: u.Result, ImageTag: u.ImageTag,
			StartTime: u.Start.UTC().Format(time.RFC3339), DurationSeconds: u.Duration().Seconds(), Message: u.Message}
	}
	if o.Output == "json" {
		return writeJSON(c.Stdout, rows)
	}
	tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tDURATION\tKIND\tRESULT\tSHA\tMESSAGE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%.0fs\t%s\t%s\t%s\t%s\n", r.StartTime, r.DurationSeconds, deploy.Printable(r.Kind), deploy.Printable(r.Result), shortSHA(deploy.Printable(r.ImageTag)), deploy.Printable(r.Message))
	}
	return tw.Flush()
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	if sha == "" {
		return "-"
	}
	return sha
}
