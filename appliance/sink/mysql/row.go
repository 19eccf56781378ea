package mysql

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"logpacker/protocol"
)

// Column sizes, in characters (VARCHAR) or bytes (MEDIUMTEXT).
const (
	idChars      = 255
	hostChars    = 255
	appChars     = 128
	messageBytes = 1<<24 - 1 // MEDIUMTEXT
	numColumns   = 9
	// maxPlaceholders is the server's limit on ? in one prepared statement.
	maxPlaceholders = 65535
	// rowOverhead is the estimated statement bytes of one row besides its
	// strings: "(", quotes and commas, two DATETIME(6) literals, two numbers.
	rowOverhead = 96
)

// DATETIME's range; times outside it are stored as NULL (and kept in extra).
var (
	minDatetime = time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDatetime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// appendRow appends the nine column values of ev to args (in column order:
// id, time, received, host, app, severity, facility, message, extra) and
// returns them with the row's estimated size in the statement: every string
// counted twice (worst-case escaping) plus rowOverhead.
//
// Nothing a row holds can make a strict-mode server refuse it: strings are
// valid UTF-8 (invalid bytes become U+FFFD), host and app are cut to their
// columns (the full value goes to extra), times outside DATETIME's range
// become NULL (the value goes to extra), the message is cut to msgMax bytes
// (its original length goes to extra as message_bytes), and extra is valid
// JSON or NULL.
//
// scratch is reused for the extra JSON; the returned args hold their own
// copy of it.
func appendRow(args []any, scratch []byte, ev *protocol.Event, msgMax int) ([]any, []byte, int) {
	id := rowID(ev.ID)
	host, hostCut := fitChars(ev.Host, hostChars)
	app, appCut := fitChars(ev.App, appChars)
	msg := validUTF8(ev.Message)
	msgLen := len(msg)
	if msgMax > messageBytes {
		msgMax = messageBytes
	}
	msgCut := false
	if len(msg) > msgMax {
		msg, msgCut = cutBytes(msg, msgMax), true
	}
	tm, tmOK := datetime(ev.Time)
	recv, recvOK := datetime(ev.Received)

	x := scratch[:0]
	x = appendExtra(x, ev)
	if !tmOK {
		x = appendKey(x, "time")
		x = protocol.AppendJSONString(x, ev.Time.Format(time.RFC3339Nano))
	}
	if !recvOK {
		x = appendKey(x, "received")
		x = protocol.AppendJSONString(x, ev.Received.Format(time.RFC3339Nano))
	}
	if hostCut {
		x = appendKey(x, "host")
		x = protocol.AppendJSONString(x, ev.Host)
	}
	if appCut {
		x = appendKey(x, "app")
		x = protocol.AppendJSONString(x, ev.App)
	}
	if msgCut {
		x = appendKey(x, "message_bytes")
		x = strconv.AppendInt(x, int64(msgLen), 10)
	}
	var extra any // NULL when there is nothing to add
	if len(x) > 0 {
		x = append(x, '}')
		extra = string(x)
	}
	args = append(args, id, tm, recv, host, app, uint8(ev.Severity), uint8(ev.Facility), msg, extra)
	size := rowOverhead + 2*(len(id)+len(host)+len(app)+len(msg)+len(x))
	return args, x, size
}

// rowID is the primary key: ev.ID.String(), made valid UTF-8, and when
// longer than the column a prefix plus the SHA-256 of the whole ID (so it
// stays unique and the same on every retry).
func rowID(id protocol.ID) string {
	s := validUTF8(id.String())
	if utf8.RuneCountInString(s) <= idChars {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	h := hex.EncodeToString(sum[:])
	return cutChars(s, idChars-len(h)-1) + "~" + h
}

// datetime returns t in UTC for a DATETIME(6) column, or nil (NULL) and
// false when t is unset (ok is then true) or outside DATETIME's range.
func datetime(t time.Time) (any, bool) {
	if t.IsZero() {
		return nil, true
	}
	if t.Before(minDatetime) || !t.Before(maxDatetime) {
		return nil, false
	}
	return t.UTC(), true
}

// fitChars makes s valid UTF-8 and cuts it to n characters; cut reports
// whether it was cut.
func fitChars(s string, n int) (string, bool) {
	s = validUTF8(s)
	if len(s) <= n { // bytes ≥ characters
		return s, false
	}
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	return cutChars(s, n), true
}

func cutChars(s string, n int) string {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	return s[:i]
}

// cutBytes cuts valid UTF-8 s to at most n bytes, on a character boundary.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b []byte
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+w]...)
		}
		i += w
	}
	return string(b)
}

// appendExtra appends the start of the extra object (without its closing
// brace) for the fields of ev that have no column, in the public JSON form's
// names: procid, msgid, sd, tags, fields, transport, peer, hops, count (>1
// only), parse_error. Empty fields are left out; nothing at all appends
// nothing.
func appendExtra(x []byte, ev *protocol.Event) []byte {
	if ev.ProcID != "" {
		x = appendKey(x, "procid")
		x = protocol.AppendJSONString(x, ev.ProcID)
	}
	if ev.MsgID != "" {
		x = appendKey(x, "msgid")
		x = protocol.AppendJSONString(x, ev.MsgID)
	}
	if len(ev.SD) > 0 {
		x = appendKey(x, "sd")
		x = append(x, '{')
		for i, el := range ev.SD {
			if i > 0 {
				x = append(x, ',')
			}
			x = protocol.AppendJSONString(x, el.ID)
			x = append(x, ':', '{')
			for j, p := range el.Params {
				if j > 0 {
					x = append(x, ',')
				}
				x = protocol.AppendJSONString(x, p.Name)
				x = append(x, ':')
				x = protocol.AppendJSONString(x, p.Value)
			}
			x = append(x, '}')
		}
		x = append(x, '}')
	}
	if len(ev.Tags) > 0 {
		x = appendKey(x, "tags")
		x = append(x, '[')
		for i, t := range ev.Tags {
			if i > 0 {
				x = append(x, ',')
			}
			x = protocol.AppendJSONString(x, t)
		}
		x = append(x, ']')
	}
	if len(ev.Fields) > 0 {
		x = appendKey(x, "fields")
		x = append(x, '{')
		keys := make([]string, 0, len(ev.Fields))
		for k := range ev.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				x = append(x, ',')
			}
			x = protocol.AppendJSONString(x, k)
			x = append(x, ':')
			x = protocol.AppendJSONString(x, ev.Fields[k])
		}
		x = append(x, '}')
	}
	if ev.Transport != "" {
		x = appendKey(x, "transport")
		x = protocol.AppendJSONString(x, ev.Transport)
	}
	if ev.Peer != "" {
		x = appendKey(x, "peer")
		x = protocol.AppendJSONString(x, ev.Peer)
	}
	if ev.Hops != 0 {
		x = appendKey(x, "hops")
		x = strconv.AppendUint(x, uint64(ev.Hops), 10)
	}
	if ev.Count > 1 {
		x = appendKey(x, "count")
		x = strconv.AppendUint(x, uint64(ev.Count), 10)
	}
	if ev.ParseErr != "" {
		x = appendKey(x, "parse_error")
		x = protocol.AppendJSONString(x, ev.ParseErr)
	}
	return x
}

// appendKey appends "{" (first key) or "," and then "key":.
func appendKey(x []byte, k string) []byte {
	if len(x) == 0 {
		x = append(x, '{')
	} else {
		x = append(x, ',')
	}
	x = append(x, '"')
	x = append(x, k...)
	return append(x, '"', ':')
}
