package elastic

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"logpacker/protocol"
)

// maxIDBytes is Elasticsearch's limit on _id.
const maxIDBytes = 512

// docID is the _id of an event: its ID, "<node>:<seq>". An ID longer than
// Elasticsearch allows (never seen in practice) becomes a prefix, "-" and
// the SHA-256 of the whole, the same on every retry.
func docID(id protocol.ID) string {
	s := id.String()
	if len(s) <= maxIDBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	cut := maxIDBytes - 1 - 2*len(sum)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "-" + hex.EncodeToString(sum[:])
}

// item is one event of a bulk request.
type item struct {
	ev    int    // index into the batch
	id    string // _id
	index string // _index
}

// appendBulk appends the _bulk NDJSON body for the items: per item the
// action line {"create":{"_index":…,"_id":…}} and the event's JSON form,
// each ending in "\n" (the body's last byte too, as _bulk requires).
func appendBulk(dst []byte, enc *protocol.JSONEncoder, evs []protocol.Event, items []item) []byte {
	for _, it := range items {
		dst = append(dst, `{"create":{"_index":`...)
		dst = appendJSONString(dst, it.index)
		dst = append(dst, `,"_id":`...)
		dst = appendJSONString(dst, it.id)
		dst = append(dst, "}}\n"...)
		dst = enc.Append(dst, &evs[it.ev])
		dst = append(dst, '\n')
	}
	return dst
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}

// bulkResponse is the part of a _bulk answer the sink reads.
type bulkResponse struct {
	Errors *bool                 `json:"errors"`
	Items  []map[string]bulkItem `json:"items"`
}

type bulkItem struct {
	Index  string     `json:"_index"`
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  *itemError `json:"error"`
}

type itemError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *itemError `json:"caused_by"`
}

func (e *itemError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil && (e.CausedBy.Type != "" || e.CausedBy.Reason != "") {
		s += " (caused by " + e.CausedBy.Type + ": " + e.CausedBy.Reason + ")"
	}
	return s
}

// errMalformed marks a _bulk answer the sink cannot read; Write returns it
// (wrapped) as a transient error.
var errMalformed = errors.New("malformed _bulk response")

// parseBulkResponse reads a 2xx _bulk answer to a request whose items had
// the _ids ids, in order. It checks what the sink relies on: one "create"
// result per item, in request order (same _id), each with an HTTP status.
func parseBulkResponse(body []byte, ids []string) ([]bulkItem, error) {
	var r bulkResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if r.Errors == nil {
		return nil, fmt.Errorf("%w: no \"errors\" field", errMalformed)
	}
	if len(r.Items) != len(ids) {
		return nil, fmt.Errorf("%w: %d items for %d sent", errMalformed, len(r.Items), len(ids))
	}
	out := make([]bulkItem, len(ids))
	anyErr := false
	for i, m := range r.Items {
		it, ok := m["create"]
		if !ok || len(m) != 1 {
			return nil, fmt.Errorf("%w: item %d is not one \"create\" result", errMalformed, i)
		}
		if it.Status < 100 || it.Status > 599 {
			return nil, fmt.Errorf("%w: item %d: status %d", errMalformed, i, it.Status)
		}
		if it.ID != ids[i] {
			return nil, fmt.Errorf("%w: item %d: _id %q, sent %q", errMalformed, i, it.ID, ids[i])
		}
		if it.Status >= 300 {
			anyErr = true
		}
		out[i] = it
	}
	if anyErr && !*r.Errors {
		return nil, fmt.Errorf("%w: failed items but \"errors\": false", errMalformed)
	}
	return out, nil
}

// bodyError reads the error object of an Elasticsearch error body
// ({"error":{"type","reason",…},"status"}); nil if there is none.
func bodyError(body []byte) *itemError {
	var r struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &r) != nil || len(r.Error) == 0 {
		return nil
	}
	var e itemError
	if json.Unmarshal(r.Error, &e) != nil || e.Type == "" && e.Reason == "" {
		return nil
	}
	return &e
}

// requestError reads the reason from an Elasticsearch error body
// ({"error":{"type","reason"},"status"} or {"error":"text"}), or gives a
// short piece of the body.
func requestError(body []byte) string {
	if e := bodyError(body); e != nil {
		return e.String()
	}
	var r struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &r) == nil && r.Error != "" {
		return r.Error
	}
	if len(body) > 200 {
		body = body[:200]
	}
	if len(body) == 0 {
		return "(no body)"
	}
	return fmt.Sprintf("%q", body)
}
