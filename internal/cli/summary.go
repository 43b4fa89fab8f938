package cli

import (
	"cmp"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/internal/deploy"
)

// maxSummaryEvents is how many of the latest service events the job
// summary shows.
const maxSummaryEvents = 5

// deploySummaryMarkdown is the job summary of a deploy: its outcome, a
// Mermaid gantt chart of its phases (GitHub renders it) and a table of
// them, and on failure what ECS said. Text from ECS, the engine or
// history is escaped (see mdText): it cannot make HTML, links, or table
// cells of its own.
func deploySummaryMarkdown(o deploy.Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### slipway %s `%s` to %s\n%s\n", o.Verb, short7(o.ImageTag), mdText(o.Stack), summaryStatus(o))
	if o.Kind != deploy.Verified && o.Error != "" {
		for _, line := range strings.Split(explain(o), "\n") {
			fmt.Fprintf(&b, "> %s\n", mdText(line))
		}
	}
	b.WriteString("\n| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| outcome | `%s` |\n", o.Kind)
	fmt.Fprintf(&b, "| image | %s |\n", code(cmp.Or(o.ImageTag, "none")))
	fmt.Fprintf(&b, "| previous | %s |\n", code(cmp.Or(o.Previous, "none")))
	if o.Reconciled != "" {
		fmt.Fprintf(&b, "| reconciled to | %s |\n", code(o.Reconciled))
	}
	if o.TaskDefinitionArn != "" {
		fmt.Fprintf(&b, "| task definition | %s |\n", code(o.TaskDefinitionArn))
	}
	if o.ServiceURL != "" {
		fmt.Fprintf(&b, "| service | %s |\n", link(o.ServiceURL))
	}
	fmt.Fprintf(&b, "| duration | %s |\n", duration(o.Phases))
	if o.Changes != nil {
		fmt.Fprintf(&b, "| changes | %s |\n", countsLine(o.Changes))
	}
	if len(o.Phases) > 0 {
		b.WriteString("\n" + gantt(o))
		b.WriteString("\n| phase | result | start (UTC) | duration |\n|---|---|---|---|\n")
		for _, p := range o.Phases {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdText(p.Name), mdText(p.Result), p.Start.UTC().Format("15:04:05.000"), phaseDuration(p))
		}
	}
	if o.Diagnostics != nil {
		b.WriteString(diagnosticsMarkdown(*o.Diagnostics))
	}
	return b.String()
}

func summaryStatus(o deploy.Outcome) string {
	switch {
	case o.Kind == deploy.Verified:
		return "✅ verified: ECS runs it"
	case o.Kind == deploy.RolledBackReconciled:
		return "❌ ECS rolled the deploy back; stack reconciled to `" + short7(o.Reconciled) + "`"
	case o.Kind.RolledBack():
		return "❌ ECS rolled the deploy back"
	case o.Kind == deploy.Unverified:
		return "⚠️ unverified: ECS did not confirm the rollout"
	case strings.HasPrefix(string(o.Kind), "refused-"):
		return "🛑 refused"
	}
	return "❌ " + string(o.Kind)
}

// gantt is the Mermaid gantt chart of o's phases, at their real times
// (dateFormat x: milliseconds since the epoch; the axis shows the
// reader's local time). The phases after an ECS rollback (the record of
// the rejection, the reconcile and its image tag) are a section of their
// own; a phase that did not end ok is crit (red).
func gantt(o deploy.Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "```mermaid\ngantt\n    title %s\n    dateFormat x\n    axisFormat %%H:%%M:%%S\n", ganttText(o.Verb+" "+short7(o.ImageTag)+" to "+o.Stack))
	fmt.Fprintf(&b, "    section %s\n", ganttText(o.Verb+" "+short7(o.ImageTag)))
	reconciling := false
	for i, p := range o.Phases {
		if !reconciling && (p.Name == deploy.PhaseMarkRejected || p.Name == deploy.PhaseReconcileCheck) {
			reconciling = true
			fmt.Fprintf(&b, "    section %s\n", ganttText("reconcile to "+short7(o.Previous)))
		}
		tag := ""
		switch p.Result {
		case "ok":
			tag = "done, "
		case "skipped":
		default:
			tag = "crit, "
		}
		// A bar of no width is not drawn: every phase lasts 1 ms at least.
		start, end := p.Start.UnixMilli(), max(p.End.UnixMilli(), p.Start.UnixMilli()+1)
		fmt.Fprintf(&b, "    %s :%sp%d, %d, %d\n", ganttText(p.Name), tag, i+1, start, end)
	}
	b.WriteString("```\n")
	return b.String()
}

// ganttText is s as a gantt title or task name: without the characters
// that end a name or start a comment or an entity there (: ; # %), and on
// one line.
func ganttText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ':' || r == ';' || r == '#' || r == '%':
			return -1
		case r < ' ' || r == 0x7f:
			return ' '
		}
		return r
	}, s)
}

func diagnosticsMarkdown(d deploy.Diagnostics) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n#### What ECS said\n%s\n", mdText(d.Headline))
	for _, u := range d.Unavailable {
		fmt.Fprintf(&b, "\n_unavailable: %s_\n", mdText(u))
	}
	if len(d.StoppedTasks) > 0 {
		b.WriteString("\n| stopped (UTC) | task definition | stop code | reason |\n|---|---|---|---|\n")
		for _, t := range d.StoppedTasks {
			reason := []string{t.StoppedReason}
			for _, ct := range t.Containers {
				exit := "-"
				if ct.ExitCode != nil {
					exit = strconv.Itoa(int(*ct.ExitCode))
				}
				reason = append(reason, fmt.Sprintf("container %s exit %s %s", ct.Name, exit, ct.Reason))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.StoppedAt.UTC().Format(time.RFC3339), mdText(shortArn(t.TaskDefinition)), mdText(t.StopCode), mdText(strings.Join(reason, "; ")))
		}
	}
	if len(d.Events) > 0 {
		b.WriteString("\n| service event (UTC) | message |\n|---|---|\n")
		for _, e := range d.Events[:min(len(d.Events), maxSummaryEvents)] {
			fmt.Fprintf(&b, "| %s | %s |\n", e.At.UTC().Format(time.RFC3339), mdText(e.Message))
		}
	}
	return b.String()
}

// mdText is s as Markdown text on one line, fit for a table cell: line
// breaks and other control characters become spaces; <, > and & are
// entities (no raw HTML); the characters that make emphasis, code, links
// or cells (\ ` * _ [ ] | ~ !) are escaped with a backslash.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case strings.ContainsRune("\\`*_[]|~!", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// code is s as inline code in a table cell: s holds no backtick (a SHA,
// an ARN), else it is plain escaped text.
func code(s string) string {
	if strings.ContainsAny(s, "`|\n\r") {
		return mdText(s)
	}
	return "`" + s + "`"
}

// link is an http(s) URL as a Markdown link, anything else as text.
func link(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsAny(s, " ()<>[]|`\"'\\\n\r") {
		return mdText(s)
	}
	return "[" + mdText(s) + "](" + s + ")"
}

// phaseDuration is how long p took, to the millisecond under a second
// and to the tenth of a second above.
func phaseDuration(p deploy.Phase) string {
	d := p.End.Sub(p.Start)
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// short7 is the short form of a SHA, "none" for none.
func short7(sha string) string {
	if sha == "" {
		return "none"
	}
	return sha[:min(len(sha), 7)]
}
