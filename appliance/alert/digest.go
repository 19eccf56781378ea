package alert

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"logpacker/protocol"
)

// Limits of what a digest holds, whatever comes: a digest stays small
// enough for a mail, a Slack message and the state file.
const (
	maxKeys     = 500  // distinct hosts (apps) counted by name; more go to "(other)"
	maxMsgKey   = 512  // bytes of a message that identify it among the most frequent
	maxLine     = 1024 // bytes of a raw line
	topCapacity = 128  // messages counted at once (Space-Saving: a new one takes the least counted's place)
	otherKey    = "(other)"
)

// Digest is what one rule collected for one group over one interval: the
// notification every provider of the rule sends. Built once (its window
// closed), it does not change; ID names it everywhere (the outbox file,
// the mail's Message-ID, the webhook's Idempotency-Key).
type Digest struct {
	ID    string    `json:"id"`
	Rule  string    `json:"rule"`
	Group string    `json:"group"`
	Node  string    `json:"node"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Total uint64    `json:"total"`
	// Severity, Hosts, Apps: events per severity name, host and app; hosts
	// and apps beyond the first 500 are counted under "(other)".
	Severity map[string]uint64 `json:"severity"`
	Hosts    map[string]uint64 `json:"hosts"`
	Apps     map[string]uint64 `json:"apps"`
	Top      []TopMessage      `json:"top"`   // the most frequent messages, most first
	Lines    []string          `json:"lines"` // the first raw lines
	// DroppedDigests, DroppedEvents: what the rule's limit dropped for this
	// group since the digest before this one.
	DroppedDigests uint64 `json:"dropped_digests,omitempty"`
	DroppedEvents  uint64 `json:"dropped_events,omitempty"`
	Test           bool   `json:"test,omitempty"`
	// Targets: where each provider sends it (kind → targets), fixed when
	// the digest is built.
	Targets map[string][]string `json:"targets"`
}

// TopMessage is one of the most frequent messages of a digest. Count is
// exact unless Approx: then up to Approx of it may belong to messages that
// were counted less and made room (Space-Saving).
type TopMessage struct {
	Message string    `json:"message"`
	Count   uint64    `json:"count"`
	Approx  uint64    `json:"approx,omitempty"`
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// acc is an open digest: what a (rule, group) collected so far in its
// window. It is part of the state file, so its fields are exported to JSON.
type acc struct {
	Rule  string        `json:"rule"`
	Group string        `json:"group"`
	Start time.Time     `json:"start"`
	End   time.Time     `json:"end"`
	Total uint64        `json:"total"`
	Sev   [8]uint64     `json:"sev"`
	Hosts counts        `json:"hosts"`
	Apps  counts        `json:"apps"`
	Msgs  []*TopMessage `json:"msgs"`
	Lines []string      `json:"lines"`

	msgIdx map[string]int // message → index in Msgs (rebuilt after loading)
}

// counts are events by name, at most maxKeys names (the rest under otherKey).
type counts map[string]uint64

// add counts one for name, copying name the first time (it points into a
// read buffer).
func (c counts) add(name string) {
	if p, ok := c[name]; ok {
		c[name] = p + 1
		return
	}
	if len(c) >= maxKeys {
		c[otherKey]++
		return
	}
	c[strings.Clone(name)] = 1
}

func newAcc(rule, group string, start, end time.Time) *acc {
	return &acc{Rule: rule, Group: group, Start: start, End: end, Hosts: counts{}, Apps: counts{}, msgIdx: map[string]int{}}
}

// fold adds ev (whose strings may point into a buffer that is reused: what
// is kept is copied). lines is how many raw lines to keep.
func (a *acc) fold(ev *protocol.Event, lines int) {
	a.Total++
	if ev.Severity < 8 {
		a.Sev[ev.Severity]++
	}
	a.Hosts.add(ev.Host)
	a.Apps.add(ev.App)
	t := ev.Time
	if t.IsZero() {
		t = ev.Received
	}
	key := ev.Message
	if len(key) > maxMsgKey {
		key = key[:maxMsgKey]
	}
	if i, ok := a.msgIdx[key]; ok {
		m := a.Msgs[i]
		m.Count++
		if t.Before(m.First) {
			m.First = t
		}
		if t.After(m.Last) {
			m.Last = t
		}
	} else if len(a.Msgs) < topCapacity {
		k := strings.Clone(key)
		a.msgIdx[k] = len(a.Msgs)
		a.Msgs = append(a.Msgs, &TopMessage{Message: k, Count: 1, First: t, Last: t})
	} else { // Space-Saving: the least counted makes room, its count the new one's error
		low := 0
		for i, m := range a.Msgs {
			if m.Count < a.Msgs[low].Count {
				low = i
			}
		}
		m := a.Msgs[low]
		delete(a.msgIdx, m.Message)
		k := strings.Clone(key)
		*m = TopMessage{Message: k, Count: m.Count + 1, Approx: m.Count, First: t, Last: t}
		a.msgIdx[k] = low
	}
	if len(a.Lines) < lines {
		a.Lines = append(a.Lines, rawLine(ev))
	}
}

// reindex rebuilds what the state file does not hold.
func (a *acc) reindex() {
	a.msgIdx = make(map[string]int, len(a.Msgs))
	for i, m := range a.Msgs {
		a.msgIdx[m.Message] = i
	}
	if a.Hosts == nil {
		a.Hosts = counts{}
	}
	if a.Apps == nil {
		a.Apps = counts{}
	}
}

// digest builds the notification of a (its window closed).
func (a *acc) digest(node string, top int) *Digest {
	d := &Digest{ID: digestID(a.Rule, a.Group, a.Start), Rule: a.Rule, Group: a.Group, Node: node, Start: a.Start, End: a.End,
		Total: a.Total, Severity: map[string]uint64{}, Hosts: map[string]uint64(a.Hosts), Apps: map[string]uint64(a.Apps),
		Lines: a.Lines}
	for s, n := range a.Sev {
		if n > 0 {
			d.Severity[protocol.Severity(s).String()] = n
		}
	}
	ms := slices.Clone(a.Msgs)
	slices.SortStableFunc(ms, func(x, y *TopMessage) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), x.First.Compare(y.First), strings.Compare(x.Message, y.Message))
	})
	for _, m := range ms[:min(top, len(ms))] {
		d.Top = append(d.Top, *m)
	}
	return d
}

// digestID names the digest of (rule, group) whose window started at start.
func digestID(rule, group string, start time.Time) string {
	return rule + "." + group + "." + strconv.FormatInt(start.UnixNano(), 10)
}

// rawLine is ev as one line of text: time host app[procid] severity: message.
func rawLine(ev *protocol.Event) string {
	var b strings.Builder
	t := ev.Time
	if t.IsZero() {
		t = ev.Received
	}
	b.WriteString(t.UTC().Format(time.RFC3339))
	b.WriteByte(' ')
	b.WriteString(orDash(ev.Host))
	b.WriteByte(' ')
	b.WriteString(orDash(ev.App))
	if ev.ProcID != "" {
		b.WriteByte('[')
		b.WriteString(ev.ProcID)
		b.WriteByte(']')
	}
	b.WriteByte(' ')
	b.WriteString(ev.Severity.String())
	b.WriteString(": ")
	b.WriteString(ev.Message)
	s := b.String()
	if len(s) > maxLine {
		s = strings.ToValidUTF8(s[:maxLine], "") + "…"
	}
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
