package alert

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"logpacker/protocol"
)

// Subject is the digest's one-line summary (mail subject, SMS start, Slack
// first line).
func (d *Digest) Subject() string {
	test := ""
	if d.Test {
		test = "TEST "
	}
	return fmt.Sprintf("[logpacker] %s%s/%s: %d events (%s) %s", test, d.Rule, d.Group, d.Total, d.sevSummary(),
		d.Start.UTC().Format("2006-01-02 15:04"))
}

// sevSummary is "err 12, crit 1", most severe first.
func (d *Digest) sevSummary() string {
	var parts []string
	for s := protocol.SevEmerg; s <= protocol.SevDebug; s++ {
		if n := d.Severity[s.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// Text is the digest as plain text: the mail body, Slack's message.
func (d *Digest) Text() string {
	var b strings.Builder
	if d.Test {
		b.WriteString("This is a test notification (logpacker notify test): the rule's providers and recipients work.\n\n")
	}
	fmt.Fprintf(&b, "Rule %s, group %s, node %s: %d events from %s to %s.\n", d.Rule, d.Group, d.Node, d.Total,
		d.Start.UTC().Format(time.RFC3339), d.End.UTC().Format(time.RFC3339))
	if d.DroppedDigests > 0 {
		fmt.Fprintf(&b, "The rule's limit dropped %d digests (%d events) before this one.\n", d.DroppedDigests, d.DroppedEvents)
	}
	fmt.Fprintf(&b, "\nBy severity: %s\n", d.sevSummary())
	fmt.Fprintf(&b, "By host: %s\n", topCounts(d.Hosts, 20))
	fmt.Fprintf(&b, "By app: %s\n", topCounts(d.Apps, 20))
	if len(d.Top) > 0 {
		b.WriteString("\nMost frequent messages:\n")
		for _, m := range d.Top {
			approx := ""
			if m.Approx > 0 {
				approx = "~"
			}
			fmt.Fprintf(&b, "%s%7d  %s  (first %s, last %s)\n", approx, m.Count, oneLine(m.Message),
				m.First.UTC().Format(time.RFC3339), m.Last.UTC().Format(time.RFC3339))
		}
	}
	if len(d.Lines) > 0 {
		fmt.Fprintf(&b, "\nFirst %d lines:\n", len(d.Lines))
		for _, l := range d.Lines {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Short is the digest in at most n characters (SMS).
func (d *Digest) Short(n int) string {
	s := d.Subject()
	if len(d.Top) > 0 {
		s += ": " + oneLine(d.Top[0].Message)
	}
	r := []rune(s)
	if len(r) > n {
		r = append(r[:n-1], '…')
	}
	return string(r)
}

// topCounts is "web-1 12, web-2 3" (most first, at most n, then "+k more").
func topCounts(m map[string]uint64, n int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b)) })
	var parts []string
	for i, k := range keys {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(keys)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", orDash(k), m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string { return strings.NewReplacer("\r", " ", "\n", " ").Replace(s) }
