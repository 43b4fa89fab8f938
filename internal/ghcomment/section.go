package ghcomment

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// A comment of sections is its marker line, then sections, each between
// two hidden marker lines naming it:
//
//	<!-- slipway-preview -->
//	<!-- section:staging -->
//	…staging's body…
//
//	<!-- /section:staging -->
//	<!-- section:prod -->
//	…prod's body…
//
//	<!-- /section:prod -->
//
// (the blank line ends a Markdown table before the closing marker).
//
// A person may edit the comment. It is read by these rules, so that no
// section's text is lost when another section is written:
//
//   - A marker line is one of the two forms alone on its line (spaces and
//     a "\r" from the web editor aside) with a valid section name; any
//     other text is text.
//   - A section whose closing marker is missing runs to the next marker
//     line or the end of the comment; one whose opening marker is missing
//     starts after the previous marker line or at the start. Either way
//     its text stays its own, and writing the section replaces it whole.
//   - Text outside every section (a person's note) is kept where it is.
//   - Only the section being written changes: it is replaced where it
//     stands, or appended after the others when the comment has none, so
//     that sections read in the order their writers ran. Other sections
//     are kept byte for byte, damaged markers and all. A second copy of
//     the section being written (a person's paste) is dropped.
const (
	sectionOpen  = "<!-- section:%s -->"
	sectionClose = "<!-- /section:%s -->"
)

// sectionName is what a section may be called: safe inside an HTML
// comment and a Markdown line (Pulumi's stack names).
var sectionName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// markerLine is a section marker line: "/" for a closing one.
var markerLine = regexp.MustCompile(`^\s*<!-- (/?)section:([A-Za-z0-9_.-]{1,100}) -->\s*$`)

// segment is a run of the comment's lines: a section (name set) or text.
type segment struct {
	name string
	raw  string
}

// UpsertSection makes section of the PR's comment carrying marker say
// body, leaving its other sections as they are (see the rules above). As
// Upsert: only a comment the token's identity wrote is edited, and with
// no comment yet one is created only if createIfMissing; an existing
// comment gets the section even when createIfMissing is false, so that
// "no changes" replaces an earlier report. An unchanged comment is not
// written. The whole comment stays within MaxBody: the section being
// written is truncated to fit (saying so), never the others.
func (c *Client) UpsertSection(ctx context.Context, pr int, marker, section, body string, createIfMissing bool) (Action, error) {
	if !sectionName.MatchString(section) {
		return Skipped, fmt.Errorf("comment section %q: want a name of letters, digits, '-', '_' or '.' (it goes inside an HTML comment)", section)
	}
	for _, line := range strings.Split(body, "\n") {
		if markerLine.MatchString(line) {
			return Skipped, fmt.Errorf("comment section %q: the body has a section marker line %q of its own", section, strings.TrimSpace(line))
		}
	}
	t, err := c.open(ctx)
	if err != nil {
		return Skipped, err
	}
	existing, err := find(ctx, t.gh, t.owner, t.repo, pr, marker, t.me)
	if err != nil {
		return Skipped, err
	}
	var segs []segment
	if existing != nil {
		segs = parseSections(afterMarker(existing.GetBody(), marker))
	}
	full, err := withSection(marker, segs, section, body)
	if err != nil {
		return Skipped, fmt.Errorf("pull request %d: %w", pr, err)
	}
	return t.write(ctx, pr, existing, full, createIfMissing)
}

// afterMarker is the comment's text after its marker line.
func afterMarker(body, marker string) string {
	rest := strings.TrimPrefix(body, marker)
	if r, ok := strings.CutPrefix(rest, "\r\n"); ok {
		return r
	}
	return strings.TrimPrefix(rest, "\n")
}

// parseSections splits text into sections and the text between them.
func parseSections(text string) []segment {
	var segs []segment
	var free strings.Builder // text since the last marker line
	flush := func() {
		if free.Len() > 0 {
			segs = append(segs, segment{raw: free.String()})
			free.Reset()
		}
	}
	lines := strings.SplitAfter(text, "\n")
	for i := 0; i < len(lines); {
		m := markerLine.FindStringSubmatch(strings.TrimRight(lines[i], "\r\n"))
		switch {
		case m == nil:
			free.WriteString(lines[i])
			i++
		case m[1] == "/":
			// No opening marker since the last marker line: the section
			// is the text since then.
			segs = append(segs, segment{name: m[2], raw: free.String() + lines[i]})
			free.Reset()
			i++
		default:
			flush()
			var raw strings.Builder
			raw.WriteString(lines[i])
			for i++; i < len(lines); i++ {
				n := markerLine.FindStringSubmatch(strings.TrimRight(lines[i], "\r\n"))
				if n == nil {
					raw.WriteString(lines[i])
					continue
				}
				if n[1] == "/" && n[2] == m[2] {
					raw.WriteString(lines[i])
					i++
				}
				// Otherwise the closing marker is missing: the section
				// ends at the next marker line.
				break
			}
			segs = append(segs, segment{name: m[2], raw: raw.String()})
		}
	}
	flush()
	return segs
}

// withSection is the comment of marker and segs with section saying body.
func withSection(marker string, segs []segment, section, body string) (string, error) {
	var others int // length of all but the new section
	placed := -1
	var kept []segment
	for _, s := range segs {
		if s.name == section {
			if placed >= 0 {
				continue // a copy: dropped
			}
			placed = len(kept)
		}
		kept = append(kept, s)
	}
	if placed < 0 {
		placed = len(kept)
		kept = append(kept, segment{name: section})
	}
	for i, s := range kept {
		if i != placed {
			others += len(s.raw) + 1 // and a newline it may need
		}
	}
	open, closing := fmt.Sprintf(sectionOpen, section), fmt.Sprintf(sectionClose, section)
	frame := len(marker) + 1 + others + len(open) + 1 + 1 + 1 + len(closing) + 1
	room := MaxBody - frame
	if len(body) > room {
		if room < len(truncNote) {
			return "", fmt.Errorf("the comment's other sections take %d of its %d characters: no room for section %q", others, MaxBody, section)
		}
		body = Truncate(body, room)
	}
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	kept[placed].raw = open + "\n" + body + "\n" + closing + "\n"

	var b strings.Builder
	b.WriteString(marker + "\n")
	for _, s := range kept {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteString("\n")
		}
		b.WriteString(s.raw)
	}
	return b.String(), nil
}
