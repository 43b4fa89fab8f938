package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/internal/deploy"
)

// MetricsOptions are the flags of metrics.
type MetricsOptions struct {
	CommonOptions
	Since   time.Duration
	Summary bool
}

// defaultMetricsWindow is the window metrics reads by default: 30 days.
const defaultMetricsWindow = 720 * time.Hour

func (c *Command) metricsCmd() *cobra.Command {
	var o MetricsOptions
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "delivery metrics from the stack's history: deploys a day, change failure rate, time to restore",
		Long: `metrics reads the stack's history back to --since ago (and no further) and computes the
deployment frequency, the change failure rate, the time to restore and the median deploy
duration, and the lead time for changes of the deploys that recorded their commit's time
(up --commit-time); the definitions are deploy.DeliveryMetrics'. It reads history only, like history.`,
		Example: `  deploy metrics
  deploy metrics --since 168h --output json
  deploy metrics --summary    # also append the Markdown to $GITHUB_STEP_SUMMARY`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return c.metrics(cmd.Context(), o) },
	}
	commonFlags(cmd, &o.CommonOptions)
	cmd.Flags().DurationVar(&o.Since, "since", defaultMetricsWindow, "the window: updates that started this long ago or later")
	cmd.Flags().BoolVar(&o.Summary, "summary", false, "append the metrics as Markdown to $GITHUB_STEP_SUMMARY (a scheduled job's summary)")
	return cmd
}

// metricsJSON is metrics --output json; durations are in seconds.
type metricsJSON struct {
	Stack                       string        `json:"stack"`
	Since                       string        `json:"since"`
	Until                       string        `json:"until"`
	Deploys                     int           `json:"deploys"`
	RolledBackByECS             int           `json:"rolledBackByEcs"`
	DeploysPerDay               float64       `json:"deploysPerDay"`
	FailedChanges               int           `json:"failedChanges"`
	ChangeFailureRate           float64       `json:"changeFailureRate"`
	Restored                    int           `json:"restored"`
	Unrestored                  int           `json:"unrestored"`
	MedianTimeToRestoreSeconds  float64       `json:"medianTimeToRestoreSeconds"`
	LongestTimeToRestoreSeconds float64       `json:"longestTimeToRestoreSeconds"`
	MedianDeployDurationSeconds float64       `json:"medianDeployDurationSeconds"`
	LeadTimes                   int           `json:"leadTimes"`
	MedianLeadTimeSeconds       float64       `json:"medianLeadTimeSeconds"`
	Failures                    []failureJSON `json:"failures"`
}

type failureJSON struct {
	Version              int     `json:"version,omitempty"` // 0: the backend numbers no updates (file://, s3://)
	SHA                  string  `json:"sha"`
	Start                string  `json:"start"`
	By                   string  `json:"by"`
	Restored             string  `json:"restored,omitempty"`
	TimeToRestoreSeconds float64 `json:"timeToRestoreSeconds"`
}

func (c *Command) metrics(ctx context.Context, o MetricsOptions) error {
	reader, err := c.beginHistory(&o.CommonOptions, func() error {
		if o.Since <= 0 {
			return badInput("--since %s: want a positive duration, such as 720h (30 days)", o.Since)
		}
		return nil
	})
	if err != nil {
		return err
	}
	now := time.Now()
	since := now.Add(-o.Since)
	hist, err := deploy.Window(ctx, reader, since)
	if errors.Is(err, deploy.ErrNoStack) {
		return badInput("%v", err)
	}
	if err != nil {
		return err
	}
	m := deploy.Metrics(hist, since, now)
	if o.Summary {
		if err := c.appendStepSummary(metricsMarkdown(o.Stack, m)); err != nil {
			c.note("warning: %v", err)
		}
	}
	if o.Output == "json" {
		return writeJSON(c.Stdout, toMetricsJSON(o.Stack, m))
	}
	return printMetrics(c, o.Stack, m)
}

func toMetricsJSON(stack string, m deploy.DeliveryMetrics) metricsJSON {
	out := metricsJSON{Stack: stack, Since: m.Since.UTC().Format(time.RFC3339), Until: m.Until.UTC().Format(time.RFC3339),
		Deploys: m.Deploys, RolledBackByECS: m.RolledBackByECS, DeploysPerDay: m.DeploysPerDay, FailedChanges: m.FailedChanges,
		ChangeFailureRate: m.ChangeFailureRate, Restored: m.Restored, Unrestored: m.Unrestored,
		MedianTimeToRestoreSeconds: m.MedianTimeToRestore.Seconds(), LongestTimeToRestoreSeconds: m.LongestTimeToRestore.Seconds(),
		MedianDeployDurationSeconds: m.MedianDeployDuration.Seconds(), LeadTimes: m.LeadTimes, MedianLeadTimeSeconds: m.MedianLeadTime.Seconds(),
		Failures: []failureJSON{}}
	for _, f := range m.Failures {
		r := failureJSON{Version: f.Version, SHA: f.SHA, Start: f.Start.UTC().Format(time.RFC3339), By: f.By, TimeToRestoreSeconds: f.TimeToRestore().Seconds()}
		if !f.Restored.IsZero() {
			r.Restored = f.Restored.UTC().Format(time.RFC3339)
		}
		out.Failures = append(out.Failures, r)
	}
	return out
}

// metricLines are the metrics as label and value, for the table and the
// Markdown alike.
func metricLines(m deploy.DeliveryMetrics) [][2]string {
	restore := "none failed"
	if m.FailedChanges > 0 {
		restore = fmt.Sprintf("median %s, longest %s (%d restored, %d not yet)", round(m.MedianTimeToRestore), round(m.LongestTimeToRestore), m.Restored, m.Unrestored)
		if m.Restored == 0 {
			restore = fmt.Sprintf("none restored yet (%d failed)", m.FailedChanges)
		}
	}
	return [][2]string{
		{"deploys", fmt.Sprintf("%d (%d rolled back by ECS)", m.Deploys, m.RolledBackByECS)},
		{"deployment frequency", fmt.Sprintf("%.2f a day", m.DeploysPerDay)},
		{"change failure rate", fmt.Sprintf("%.1f%% (%d failed of %d)", 100*m.ChangeFailureRate, m.FailedChanges, m.Deploys)},
		{"time to restore", restore},
		{"median deploy duration", round(m.MedianDeployDuration)},
		{"lead time for changes", leadTime(m)},
	}
}

// leadTime is the median lead time, or why there is none.
func leadTime(m deploy.DeliveryMetrics) string {
	if m.LeadTimes == 0 {
		return "not computed (no deploy in the window recorded its commit's time: up --commit-time)"
	}
	return fmt.Sprintf("median %s (%d deploys of a commit)", round(m.MedianLeadTime), m.LeadTimes)
}

// window is the window's length and bounds, on one line.
func window(m deploy.DeliveryMetrics) string {
	length := round(m.Until.Sub(m.Since))
	if d := m.Until.Sub(m.Since); d%(24*time.Hour) == 0 {
		length = fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return fmt.Sprintf("%s, %s to %s", length, m.Since.UTC().Format(time.RFC3339), m.Until.UTC().Format(time.RFC3339))
}

func printMetrics(c *Command, stack string, m deploy.DeliveryMetrics) error {
	fmt.Fprintf(c.Stdout, "stack %s: delivery metrics over %s\n", stack, window(m))
	tw := tabwriter.NewWriter(c.Stdout, 0, 0, 2, ' ', 0)
	for _, l := range metricLines(m) {
		fmt.Fprintf(tw, "  %s\t%s\n", l[0], l[1])
	}
	if len(m.Failures) > 0 {
		fmt.Fprintln(tw, "failed changes:\n  START\tSHA\tBY\tRESTORED AFTER")
		for _, f := range m.Failures {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", f.Start.UTC().Format(time.RFC3339), shortSHA(f.SHA), f.By, restoredAfter(f))
		}
	}
	return tw.Flush()
}

func restoredAfter(f deploy.FailedChange) string {
	if f.Restored.IsZero() {
		return "not yet"
	}
	return round(f.TimeToRestore())
}

// metricsMarkdown is the metrics for a job summary.
func metricsMarkdown(stack string, m deploy.DeliveryMetrics) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### slipway delivery metrics of %s\nOver %s.\n\n| metric | value |\n|---|---|\n", mdText(stack), window(m))
	for _, l := range metricLines(m) {
		fmt.Fprintf(&b, "| %s | %s |\n", l[0], mdText(l[1]))
	}
	if len(m.Failures) > 0 {
		b.WriteString("\n| failed change | started (UTC) | by | restored after |\n|---|---|---|---|\n")
		for _, f := range m.Failures {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", code(short7(f.SHA)), f.Start.UTC().Format(time.RFC3339), f.By, restoredAfter(f))
		}
	}
	return b.String()
}

// round is d to the second.
func round(d time.Duration) string { return d.Round(time.Second).String() }
