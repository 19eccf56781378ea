package httpin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"logpacker/protocol"
)

// Envelope is what DecodeEnvelope read from a Sentry envelope.
type Envelope struct {
	EventID string // the header's event_id (or the first event's)
	DSN     string // the header's dsn (an SDK's tunnel sends it)
	Events  []protocol.Event
	Skipped int // items of other types (sessions, client reports, transactions, attachments)
}

// sentry event payload, the parts we map
type sentryEvent struct {
	EventID     string          `json:"event_id"`
	Timestamp   json.RawMessage `json:"timestamp"`
	Level       string          `json:"level"`
	Platform    string          `json:"platform"`
	Logger      string          `json:"logger"`
	ServerName  string          `json:"server_name"`
	Release     string          `json:"release"`
	Environment string          `json:"environment"`
	Transaction string          `json:"transaction"`
	Message     json.RawMessage `json:"message"`
	Logentry    *struct {
		Formatted string `json:"formatted"`
		Message   string `json:"message"`
	} `json:"logentry"`
	Exception json.RawMessage `json:"exception"`
	Request   *struct {
		URL     string          `json:"url"`
		Headers json.RawMessage `json:"headers"`
	} `json:"request"`
	Tags        json.RawMessage `json:"tags"`
	Fingerprint []string        `json:"fingerprint"`
	User        map[string]any  `json:"user"`
}

type sentryException struct {
	Type       string `json:"type"`
	Value      string `json:"value"`
	Stacktrace *struct {
		Frames []struct {
			Filename string `json:"filename"`
			AbsPath  string `json:"abs_path"`
			Function string `json:"function"`
			Lineno   int    `json:"lineno"`
			Colno    int    `json:"colno"`
		} `json:"frames"`
	} `json:"stacktrace"`
}

// DecodeEnvelope reads a Sentry envelope (develop.sentry.dev/sdk/envelopes):
// a header line of JSON, then items, each a header line of JSON and a
// payload of "length" bytes (or up to the next newline when the header has
// no length). Items of type "event" become events (project is the
// envelope URL's project: the events' app); other types are skipped. An
// envelope that does not parse is an error, with no events.
func DecodeEnvelope(body []byte, project string, maxEvent int) (*Envelope, error) {
	bad := func(off int, f string, a ...any) error {
		return &DecodeError{Index: -1, Offset: int64(off), Msg: "envelope: " + fmt.Sprintf(f, a...)}
	}
	line := func(off int) ([]byte, int) {
		rest := body[off:]
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			return rest[:i], off + i + 1
		}
		return rest, len(body)
	}
	hdr, off := line(0)
	var eh struct {
		EventID string `json:"event_id"`
		DSN     string `json:"dsn"`
	}
	if err := json.Unmarshal(hdr, &eh); err != nil {
		return nil, bad(0, "header: %v", err)
	}
	env := &Envelope{EventID: eh.EventID, DSN: eh.DSN}
	for off < len(body) {
		ih, next := line(off)
		if len(bytes.TrimSpace(ih)) == 0 { // a trailing newline
			off = next
			continue
		}
		var item struct {
			Type   string `json:"type"`
			Length *int   `json:"length"`
		}
		if err := json.Unmarshal(ih, &item); err != nil {
			return nil, bad(off, "item header: %v", err)
		}
		var payload []byte
		if item.Length != nil {
			n := *item.Length
			if n < 0 || n > len(body)-next {
				return nil, bad(off, "item length %d runs past the end of the body", n)
			}
			payload = body[next : next+n]
			off = next + n
			if off < len(body) && body[off] == '\n' {
				off++
			}
		} else {
			payload, off = line(next)
		}
		if item.Type != "event" {
			env.Skipped++
			continue
		}
		if len(payload) > maxEvent {
			return nil, &DecodeError{Index: len(env.Events), Offset: int64(next), Large: true,
				Msg: fmt.Sprintf("envelope: event of %d bytes is larger than max_event_size (%d)", len(payload), maxEvent)}
		}
		ev, id, err := sentryToEvent(payload, project)
		if err != nil {
			return nil, &DecodeError{Index: len(env.Events), Offset: int64(next), Msg: "envelope: event: " + err.Error()}
		}
		if env.EventID == "" {
			env.EventID = id
		}
		env.Events = append(env.Events, ev)
	}
	return env, nil
}

var sentryLevels = map[string]protocol.Severity{"fatal": protocol.SevCrit, "error": protocol.SevErr,
	"warning": protocol.SevWarning, "info": protocol.SevInfo, "log": protocol.SevInfo, "debug": protocol.SevDebug}

func sentryToEvent(payload []byte, project string) (protocol.Event, string, error) {
	var se sentryEvent
	if err := json.Unmarshal(payload, &se); err != nil {
		return protocol.Event{}, "", err
	}
	ev := protocol.Event{Facility: protocol.FacUser, Severity: protocol.SevErr, App: project,
		Host: se.ServerName, Tags: []string{"sentry"}, Fields: map[string]string{}}
	if s, ok := sentryLevels[se.Level]; ok {
		ev.Severity = s
	}
	if len(se.Timestamp) > 0 {
		var v any
		d := json.NewDecoder(bytes.NewReader(se.Timestamp))
		d.UseNumber()
		if d.Decode(&v) == nil {
			if t, err := parseTime(v); err == nil {
				ev.Time = t
			}
		}
	}
	set := func(k, v string) {
		if v != "" {
			ev.Fields[k] = v
		}
	}
	set("event_id", se.EventID)
	set("platform", se.Platform)
	set("logger", se.Logger)
	set("release", se.Release)
	set("environment", se.Environment)
	set("transaction", se.Transaction)
	if se.Request != nil {
		set("url", se.Request.URL)
		var h map[string]string
		if json.Unmarshal(se.Request.Headers, &h) == nil {
			set("user_agent", h["User-Agent"])
		}
		if ev.Host == "" {
			if u, err := url.Parse(se.Request.URL); err == nil {
				ev.Host = u.Hostname()
			}
		}
	}
	// tags: an object, or a list of [key, value] pairs
	var tm map[string]any
	var tl [][]any
	if json.Unmarshal(se.Tags, &tm) == nil {
		for k, v := range tm {
			set("tags."+k, scalar(v))
		}
	} else if json.Unmarshal(se.Tags, &tl) == nil {
		for _, kv := range tl {
			if len(kv) == 2 {
				set("tags."+scalar(kv[0]), scalar(kv[1]))
			}
		}
	}
	for _, k := range []string{"id", "email", "username", "ip_address"} {
		if v, ok := se.User[k]; ok {
			set("user."+k, scalar(v))
		}
	}
	// message: a string, or {"formatted": …}; logentry
	var msg string
	if len(se.Message) > 0 {
		var m struct{ Formatted, Message string }
		if json.Unmarshal(se.Message, &msg) != nil && json.Unmarshal(se.Message, &m) == nil {
			msg = m.Formatted
			if msg == "" {
				msg = m.Message
			}
		}
	}
	if msg == "" && se.Logentry != nil {
		msg = se.Logentry.Formatted
		if msg == "" {
			msg = se.Logentry.Message
		}
	}
	// exception: {"values": [...]} or a list; the last value is the one thrown
	var excs []sentryException
	var ew struct{ Values []sentryException }
	if json.Unmarshal(se.Exception, &ew) == nil && len(ew.Values) > 0 {
		excs = ew.Values
	} else {
		json.Unmarshal(se.Exception, &excs)
	}
	var frames []Frame
	var etype string
	if len(excs) > 0 {
		x := excs[len(excs)-1]
		etype = x.Type
		if msg == "" {
			msg = strings.TrimPrefix(x.Type+": "+x.Value, ": ")
		}
		set("error.type", x.Type)
		if x.Stacktrace != nil {
			// Sentry lists frames oldest first; a stack is read newest first
			var st strings.Builder
			for i := len(x.Stacktrace.Frames) - 1; i >= 0; i-- {
				f := x.Stacktrace.Frames[i]
				file := f.AbsPath
				if file == "" {
					file = f.Filename
				}
				frames = append(frames, Frame{Function: f.Function, File: file})
				fn := f.Function
				if fn == "" {
					fn = "?"
				}
				st.WriteString("    at " + fn + " (" + file + ":" + strconv.Itoa(f.Lineno) + ":" + strconv.Itoa(f.Colno) + ")\n")
			}
			set("stack", strings.TrimSuffix(st.String(), "\n"))
		}
	}
	ev.Message = msg
	if len(se.Fingerprint) > 0 && !(len(se.Fingerprint) == 1 && se.Fingerprint[0] == "{{ default }}") {
		set("fingerprint", Fingerprint(nil, strings.Join(se.Fingerprint, "\x00")))
	} else if len(frames) > 0 {
		set("fingerprint", Fingerprint(frames, etype))
	} else {
		set("fingerprint", Fingerprint(nil, etype+"\x00"+volatile.ReplaceAllString(msg, "#")))
	}
	return ev, se.EventID, nil
}
