package store

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
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

// ParseText turns the user's text into an FTS5 query. Its syntax is small
// and every input either parses or gets a clear error; FTS5's own operators
// are never taken from the user:
//
//   - words separated by spaces must all occur (in any order, any case,
//     diacritics ignored): disk full
//   - "double quotes" make a phrase: the words next to each other, in order;
//     "" inside a phrase is a literal quote
//   - a trailing * makes a prefix: time* matches timeout, timestamps
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
	// Control characters (NUL would end the query inside SQLite) separate words.
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
		q := `"` + strings.ReplaceAll(term, `"`, `""`) + `"`
		if prefix {
			q += "*"
		}
		out = append(out, q)
	}
	return strings.Join(out, " "), nil
}

// searchable: the term has a token for FTS5's unicode61 tokenizer (a letter,
// digit or other non-separator; we are stricter and ask for a letter or digit).
func searchable(term string) bool {
	for _, r := range term {
		if r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return true
		}
	}
	return false
}

// cursor is the position after the last event of a page.
type cursor struct {
	received int64 // unix ns
	id       string
}

const cursorVersion = 1

// encodeCursor: base64url(version, varint received, id), opaque to callers.
func encodeCursor(c cursor) string {
	b := []byte{cursorVersion}
	b = binary.AppendVarint(b, c.received)
	b = append(b, c.id...)
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
	id := b[1+n:]
	if len(id) == 0 || !utf8.Valid(id) {
		return cursor{}, bad
	}
	return cursor{received: r, id: string(id)}, nil
}

// Search returns the events q selects, newest first by (received, id),
// from the newest day file back, at most q.Limit of them, and a cursor for
// the rest. Paging with Next returns every event stored before the first
// page exactly once; events that arrive meanwhile with a newer received time
// are not in later pages (they are on a new first page). Bad input is a
// *QueryError.
func (s *Store) Search(ctx context.Context, q Query) (Result, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	if limit > MaxLimit {
		return Result{}, &QueryError{"limit", fmt.Errorf("%d: at most %d", limit, MaxLimit)}
	}
	var fts string
	if q.Text != "" {
		var err error
		if fts, err = ParseText(q.Text); err != nil {
			return Result{}, &QueryError{"q", err}
		}
	}
	var cur *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor)
		if err != nil {
			return Result{}, &QueryError{"cursor", err}
		}
		cur = &c
	}
	// The conditions, the same on every day file.
	var where []string
	var args []any
	// Text alone, or with From and severity: walk the text's matches newest
	// rid first and stop early (searchDayText). With a host, app or tag,
	// which may select few of them, or an end time (the received index
	// finds the range), let SQLite use their index.
	stream := fts != "" && q.Host == "" && q.App == "" && q.Tag == "" && q.To.IsZero() && !noTextStreaming
	if fts != "" && !stream {
		where = append(where, "e.rid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)")
		args = append(args, fts)
	}
	if !q.From.IsZero() {
		where = append(where, "e.received >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		where = append(where, "e.received < ?")
		args = append(args, q.To.UnixNano())
	}
	if q.Severity != nil {
		where = append(where, "e.severity <= ?")
		args = append(args, int(*q.Severity))
	}
	if q.Host != "" {
		where = append(where, "e.host = ?")
		args = append(args, q.Host)
	}
	if q.App != "" {
		where = append(where, "e.app = ?")
		args = append(args, q.App)
	}
	if q.Tag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(e.json, '$.tags') WHERE value = ?)")
		args = append(args, q.Tag)
	}
	if cur != nil {
		where = append(where, "(e.received, e.id) < (?, ?)")
		args = append(args, cur.received, cur.id)
	}
	stmt := "SELECT e.received, e.id, e.json FROM events e"
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	stmt += " ORDER BY e.received DESC, e.id DESC LIMIT ?"
	var text *textScan
	if stream {
		text = &textScan{
			stmt: "SELECT events_fts.rowid, e.received, e.id FROM events_fts JOIN events e ON e.rid = events_fts.rowid" +
				" WHERE " + strings.Join(append([]string{"events_fts MATCH ?"}, where...), " AND ") +
				" ORDER BY events_fts.rowid DESC",
			fallback: "SELECT e.received, e.id, e.json FROM events e WHERE " +
				strings.Join(append([]string{"e.rid IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)"}, where...), " AND ") +
				" ORDER BY e.received DESC, e.id DESC LIMIT ?",
			args: append([]any{fts}, args...),
			from: math.MinInt64,
		}
		if !q.From.IsZero() {
			text.from = q.From.UnixNano()
		}
	}

	// Day files that can hold a match, newest first.
	lo, hi := "", "9999-99-99"
	if !q.From.IsZero() {
		lo = q.From.UTC().Format(dayLayout)
	}
	if !q.To.IsZero() {
		hi = q.To.UTC().Format(dayLayout)
	}
	if cur != nil {
		if c := time.Unix(0, cur.received).UTC().Format(dayLayout); c < hi {
			hi = c
		}
	}
	var res Result
	var last cursor
	more := false
	for _, name := range s.dayFiles() {
		if name < lo || name > hi {
			continue
		}
		// with the page full, this asks the day for one more match: is there a next page?
		var n bool
		var err error
		if text != nil {
			n, err = s.searchDayText(ctx, name, text, limit-len(res.Events)+1, &res, &last, limit)
		} else {
			n, err = s.searchDay(ctx, name, stmt, args, limit-len(res.Events)+1, &res, &last, limit)
		}
		if err != nil {
			return Result{}, err
		}
		if n {
			more = true
			break
		}
	}
	if more && len(res.Events) > 0 {
		res.Next = encodeCursor(last)
	}
	return res, nil
}

// searchDay appends the matches of one day file to res (up to limit events
// in all) and reports whether it had more than fit.
func (s *Store) searchDay(ctx context.Context, name, stmt string, args []any, fetch int, res *Result, last *cursor, limit int) (bool, error) {
	d, err := s.acquire(name, false)
	if err != nil || d == nil {
		return false, err
	}
	defer s.release(d)
	return s.searchRows(ctx, d.db, name, stmt, args, fetch, res, last, limit)
}

// searchRows runs stmt (received, id, json, newest first, LIMIT ? last) and
// appends its rows to res.
func (s *Store) searchRows(ctx context.Context, db querier, name, stmt string, args []any, fetch int, res *Result, last *cursor, limit int) (bool, error) {
	rows, err := db.QueryContext(ctx, stmt, append(args[:len(args):len(args)], fetch)...)
	if err != nil {
		return false, s.queryErr(name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cursor
		var js []byte
		if err := rows.Scan(&c.received, &c.id, &js); err != nil {
			return false, fmt.Errorf("store: %s: %w", name, err)
		}
		if addToPage(res, last, limit, c, js) {
			return true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return false, s.queryErr(name, err)
	}
	return false, nil
}

// addToPage appends one event to the page, or reports that the page is full
// (there is a next page).
func addToPage(res *Result, last *cursor, limit int, c cursor, js []byte) (full bool) {
	if len(res.Events) == limit {
		return true
	}
	res.Events = append(res.Events, json.RawMessage(js))
	*last = c
	return false
}

func (s *Store) queryErr(name string, err error) error {
	if strings.Contains(err.Error(), "fts5:") { // ParseText lets none through; kept as a guard
		return &QueryError{"q", err}
	}
	return fmt.Errorf("store: search %s: %w", name, err)
}
