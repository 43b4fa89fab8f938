package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"
)

// HistoryOptions are the flags of history.
type HistoryOptions struct {
	CommonOptions
	Limit int
}

// historyRow is one update, as history --output json prints it.
type historyRow struct {
	Version         int     `json:"version"`
	Kind            string  `json:"kind"`
	Result          string  `json:"result"`
	ImageTag        string  `json:"imageTag"`
	StartTime       string  `json:"startTime"`
	DurationSeconds float64 `json:"durationSeconds"`
	Message         string  `json:"message"`
}

func (c *Command) history(ctx context.Context, args []string) error {
	var o HistoryOptions
	fs := c.flags("history")
	c.commonFlags(fs, &o.CommonOptions)
	fs.IntVar(&o.Limit, "limit", 0, "show at most this many updates (0: all)")
	session, err := c.begin(ctx, fs, args, &o.CommonOptions, func() error {
		if o.Limit < 0 {
			return badInput("--limit %d: want 0 (all) or more", o.Limit)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer session.Close()
	hist, err := session.History(ctx)
	if err != nil {
		return err
	}
	if o.Limit > 0 && len(hist) > o.Limit {
		hist = hist[:o.Limit]
	}
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
		fmt.Fprintf(tw, "%s\t%.0fs\t%s\t%s\t%s\t%s\n", r.StartTime, r.DurationSeconds, r.Kind, r.Result, shortSHA(r.ImageTag), r.Message)
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
