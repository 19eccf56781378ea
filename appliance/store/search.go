package store

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"logpacker/protocol"
)

// Query selects events. The zero Query selects every event, newest first.
type Query struct {
	// Text is matched against the message with full-text search: see
	// ParseText for its syntax. Empty: no text condition.
	Text string
	// From (inclusive) and To (exclusive) bound the received time; zero: open.
	From, To time.Time
	// Severity, when set, keeps this severity and worse (numerically <=).
	Severity *protocol.Severity
	// Host (any case), App and Tag are exact matches; empty: any.
	Host, App, Tag string
	// Limit caps the events returned; 0: DefaultLimit; at most MaxLimit.
	Limit int
	// Cursor is Result.Next of the page before; empty: the newest events.
	Cursor string
}

// Result is one page of events, newest first.
type Result struct {
	// Events are the events' public JSON forms (protocol.Event.AppendJSON).
	Events []json.RawMessage
	// Next fetches the following (older) page; empty when there is none.
	Next string
}

const (
	DefaultLimit = 100
	MaxLimit     = 10000
)

// QueryError is bad query input (text syntax, cursor, parameters): the
// caller's fault, an HTTP 400. Other errors from Search are the store's.
type QueryError struct {
	Param string // "q", "cursor", "limit", … (ParseQuery's names)
	Err   error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("store: bad query: %s: %v", e.Param, e.Err)
}
func (e *QueryError) Unwrap() error { return e.Err }

// IsQueryError reports whether err is (or wraps) a *QueryError.
func IsQueryError(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe)
}

// ParseQuery reads a Query from URL parameters (the REST API's names): q,
// from, to (RFC 3339), severity (a name such as warning, or 0-7), host, app,
// tag, limit, cursor. Unknown parameters are errors.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	for k, vs := range v {
		if len(vs) != 1 {
			return q, &QueryError{k, errors.New("given more than once")}
		}
		val := strings.TrimSpace(vs[0])
		bad := func(err error) (Query, error) { return q, &QueryError{k, err} }
		switch k {
		case "q":
			if _, err := ParseText(val); err != nil {
				return bad(err)
			}
			q.Text = val
		case "from", "to":
			if val == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return bad(fmt.Errorf("%q is not an RFC 3339 time (2026-11-24T10:00:00Z)", val))
			}
			if k == "from" {
				q.From = t
			} else {
				q.To = t
			}
		case "severity":
			if val == "" {
				continue
			}
			sev, err := parseSeverity(val)
			if err != nil {
				return bad(err)
			}
			q.Severity = &sev
		case "host":
			q.Host = val
		case "app":
			q.App = val
		case "tag":
			q.Tag = val
		case "limit":
			if val == "" {
				continue
			}
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > MaxLimit {
				return bad(fmt.Errorf("%q: want 1-%d", val, MaxLimit))
			}
			q.Limit = n
		case "cursor":
			if val == "" { // the first page
				continue
			}
			if _, err := decodeCursor(val); err != nil {
				return bad(err)
			}
			q.Cursor = val
		default:
			return bad(errors.New("unknown parameter (known: q, from, to, severity, host, app, tag, limit, cursor)"))
		}
	}
	return q, nil
}

func parseSeverity(v string) (protocol.Severity, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 || n > 7 {
			return 0, fmt.Errorf("%d: want 0-7 or a name (emerg … debug)", n)
		}
		return protocol.Severity(n), nil
	}
	sev, err := protocol.ParseSeverity(strings.ToLower(v))
	if err != nil {
		return 0, fmt.Errorf("%q: want 0-7 or a name (emerg, alert, crit, err, warning, notice, info, debug)", v)
	}
	return sev, nil
}

// ParseText turns the user's text into a LogsQL filter on the message. Its
// syntax is small and every input either parses or gets a clear error;
// LogsQL's own operators are never taken from the user (every term is
// quoted; see textFilter for how case is matched):
//
//   - words separated by spaces must all occur (in any order, in their
//     common cases: disk, Disk, DISK): disk full
//   - "double quotes" make a phrase: the words next to each other, in order;
//     "" inside a phrase is a literal quote
//   - a trailing * makes a prefix, in any case: time* matches timeout,
//     Timestamps
//
// Words are split like the message (letters and digits; punctuation
// separates), so 10.0.0.1 is the phrase 10 0 0 1 and user=bob is user bob.
// Text with nothing searchable (only punctuation) is an error.
func ParseText(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", errors.New("text is not valid UTF-8")
	}
	if len(text) > 4096 {
		return "", errors.New("text is longer than 4096 bytes")
	}
	var out []string
	// Control characters separate words.
	s := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, text)
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		var term string
		if s[0] == '"' {
			// phrase: up to the closing quote ("" is a literal quote)
			var b strings.Builder
			i, closed := 1, false
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return "", errors.New(`unterminated phrase: a " without its closing "`)
			}
			term, s = b.String(), s[i:]
		} else {
			end := strings.IndexAny(s, " \"")
			if end < 0 {
				end = len(s)
			}
			term, s = s[:end], s[end:]
		}
		prefix := false
		if strings.HasPrefix(s, "*") {
			prefix, s = true, s[1:]
		} else if t, ok := strings.CutSuffix(term, "*"); ok {
			prefix, term = true, t
		}
		if !searchable(term) {
			if prefix || term != "" {
				return "", fmt.Errorf("%q has no letters or digits to search for", term)
			}
			return "", errors.New(`empty phrase ""`)
		}
		out = append(out, textFilter(term, prefix))
	}
	return strings.Join(out, " "), nil
}

// maxCaseVariants caps the capitals of a term searched in its common cases:
// each capital doubles the phrases the engine looks for.
const maxCaseVariants = 6

// textFilter is the engine's filter for one term. A word or phrase is
// searched in its common cases (contains_common_case of the term with each
// word capitalised: as typed, lower case, UPPER CASE, Capitalised, with any
// of its capitals lowered), which the engine's per-block bloom filters
// answer quickly; a prefix, or a term with too many capitals for that, is
// matched in any case (i(…), which reads every message of the range).
func textFilter(term string, prefix bool) string {
	if !prefix {
		var b strings.Builder
		start, upper := true, 0
		for _, r := range term {
			if start && unicode.IsLower(r) {
				r = unicode.ToUpper(r)
			}
			if unicode.IsUpper(r) {
				upper++
			}
			start = !(unicode.IsLetter(r) || unicode.IsDigit(r))
			b.WriteRune(r)
		}
		if upper <= maxCaseVariants {
			return colMsg + ":contains_common_case(" + strconv.Quote(b.String()) + ")"
		}
		return "i(" + strconv.Quote(term) + ")"
	}
	return "i(" + strconv.Quote(term) + "*)"
}

// searchable: the term has a word character for the engine's tokenizer (a
// letter or digit).
func searchable(term string) bool {
	for _, r := range term {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return true
		}
	}
	return false
}

// cursor is the position after the last event of a page: its received
// time and ID. Pages are ordered by (received, node, seq), newest first.
type cursor struct {
	received int64 // unix ns
	node     string
	seq      uint64
}

const cursorVersion = 2

// encodeCursor: base64url(version, varint received, uvarint seq, node), opaque to callers.
func encodeCursor(c cursor) string {
	b := []byte{cursorVersion}
	b = binary.AppendVarint(b, c.received)
	b = binary.AppendUvarint(b, c.seq)
	b = append(b, c.node...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	bad := errors.New("not a cursor of this store (take Next from the previous page as it is)")
	if len(s) > 1024 {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != cursorVersion {
		return cursor{}, bad
	}
	r, n := binary.Varint(b[1:])
	if n <= 0 {
		return cursor{}, bad
	}
	seq, m := binary.Uvarint(b[1+n:])
	if m <= 0 {
		return cursor{}, bad
	}
	node := b[1+n+m:]
	if len(node) == 0 || !utf8.Valid(node) {
		return cursor{}, bad
	}
	return cursor{received: r, node: string(node), seq: seq}, nil
}

// before reports whether a sorts after b in a page (is older).
func (a cursor) before(b cursor) bool {
	if a.received != b.received {
		return a.received < b.received
	}
	if a.node != b.node {
		return a.node < b.node
	}
	return a.seq < b.seq
}
