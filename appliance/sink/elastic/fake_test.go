package elastic

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeES is an in-test Elasticsearch 8 that enforces the _bulk contract the
// sink relies on and answers the way Elasticsearch does (see
// https://www.elastic.co/guide/en/elasticsearch/reference/8.19/docs-bulk.html):
//
//   - every answer carries X-Elastic-Product: Elasticsearch (the client checks it);
//   - POST /_bulk with Content-Type application/x-ndjson; the body must end
//     with "\n" (else 400 "The bulk request must be terminated by a newline");
//   - lines alternate: an action {"create":{"_index":…,"_id":…}} (the sink's
//     only action; any other, unknown action keys, a missing _index or _id, or
//     an invalid index name is a contract violation), then the document, a
//     JSON object;
//   - the answer is {"took","errors","items":[{"create":{"_index","_id",
//     "_version","result","status"} | {…,"status","error":{"type","reason"}}}]}
//     with the items in request order; a create of an _id the index has
//     already answers 409 version_conflict_engine_exception.
//
// Faults are injected by the hooks. Contract violations are recorded and
// fail the test (checked by the server's cleanup).
type fakeES struct {
	t   testing.TB
	srv *httptest.Server

	// Hooks (set before the first request). n counts _bulk requests from 1.
	whole     func(n int) int                       // status for the whole request (429, 400, 401, 503…); 0: none
	itemFail  func(id string, attempt int) int      // per-item status (429, 503) before storing; 0: none
	poison    func(src []byte) bool                 // per-item 400 mapper_parsing_exception
	loseReply func(n int) bool                      // store the items, then answer 503 (a reply lost)
	auth      func(r *http.Request) bool            // false: 401
	raw       func(n int) (status int, body string) // answer this instead (malformed replies); status 0: none

	mu         sync.Mutex
	requests   int
	docs       map[string]map[string][]byte // index → _id → source
	indexOf    map[string]string            // _id → index it was stored in
	created    int                          // 201 answers
	attempts   map[string]int               // _id → create actions seen
	violations []string
}

func newFakeES(t testing.TB) *fakeES {
	f := &fakeES{t: t, docs: map[string]map[string][]byte{}, indexOf: map[string]string{}, attempts: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve)) // 127.0.0.1
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, v := range f.violations {
			t.Errorf("_bulk contract violated: %s", v)
		}
	})
	return f
}

func (f *fakeES) URL() string { return f.srv.URL }

func (f *fakeES) violate(format string, args ...any) {
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

func esError(w http.ResponseWriter, status int, typ, reason string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"root_cause":[{"type":%q,"reason":%q}],"type":%q,"reason":%q},"status":%d}`, typ, reason, typ, reason, status)
}

func (f *fakeES) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		io.WriteString(w, `{"name":"fake","cluster_name":"test","version":{"number":"8.19.7","build_flavor":"default"},"tagline":"You Know, for Search"}`)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/_bulk" {
		f.violate("%s %s: the sink only sends POST /_bulk", r.Method, r.URL.Path)
		esError(w, 400, "illegal_argument_exception", "unexpected request")
		return
	}
	f.requests++
	n := f.requests
	if f.auth != nil && !f.auth(r) {
		esError(w, 401, "security_exception", "unable to authenticate user [x] for REST request [/_bulk]")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-ndjson" {
		f.violate("Content-Type %q, want application/x-ndjson", r.Header.Get("Content-Type"))
		esError(w, 406, "media_type_header_exception", "Content-Type header is not supported")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.violate("reading body: %v", err)
		return
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		f.violate("body does not end with a newline")
		esError(w, 400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
		return
	}
	if f.raw != nil {
		if st, b := f.raw(n); st != 0 {
			w.WriteHeader(st)
			io.WriteString(w, b)
			return
		}
	}
	if f.whole != nil {
		if st := f.whole(n); st != 0 {
			typ := map[int]string{429: "es_rejected_execution_exception", 401: "security_exception", 403: "security_exception",
				400: "parse_exception", 503: "unavailable_shards_exception"}[st]
			if typ == "" {
				typ = "exception"
			}
			esError(w, st, typ, fmt.Sprintf("injected whole-request %d", st))
			return
		}
	}
	lines := bytes.Split(body[:len(body)-1], []byte("\n"))
	if len(lines)%2 != 0 {
		f.violate("%d lines: action and source lines must alternate", len(lines))
		esError(w, 400, "illegal_argument_exception", "Malformed action/metadata line")
		return
	}
	type result struct {
		Index   string         `json:"_index"`
		ID      string         `json:"_id"`
		Version int            `json:"_version,omitempty"`
		Result  string         `json:"result,omitempty"`
		Status  int            `json:"status"`
		Error   map[string]any `json:"error,omitempty"`
	}
	var items []map[string]result
	anyErr := false
	for i := 0; i < len(lines); i += 2 {
		var action map[string]map[string]any
		if err := json.Unmarshal(lines[i], &action); err != nil || len(action) != 1 || action["create"] == nil {
			f.violate("line %d: %q is not one create action", i+1, lines[i])
			esError(w, 400, "illegal_argument_exception", "Malformed action/metadata line")
			return
		}
		meta := action["create"]
		index, _ := meta["_index"].(string)
		id, _ := meta["_id"].(string)
		for k := range meta {
			if k != "_index" && k != "_id" {
				f.violate("line %d: unexpected action key %q", i+1, k)
			}
		}
		if index == "" || id == "" {
			f.violate("line %d: create without _index or _id: %s", i+1, lines[i])
			esError(w, 400, "action_request_validation_exception", "Validation Failed: index is missing")
			return
		}
		if strings.ToLower(index) != index || strings.ContainsAny(index, "\\/*?\"<>| ,#:") || strings.ContainsAny(index[:1], "-_+") {
			f.violate("line %d: invalid index name %q", i+1, index)
		}
		src := lines[i+1]
		var obj map[string]any
		if err := json.Unmarshal(src, &obj); err != nil {
			f.violate("line %d: source is not a JSON object: %v", i+2, err)
		}
		f.attempts[id]++
		res := result{Index: index, ID: id}
		switch {
		case f.docs[index][id] != nil:
			res.Status = 409
			res.Error = map[string]any{"type": "version_conflict_engine_exception",
				"reason": fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", id)}
		case f.itemFail != nil && f.itemFail(id, f.attempts[id]) != 0:
			res.Status = f.itemFail(id, f.attempts[id])
			typ := "es_rejected_execution_exception"
			if res.Status != 429 {
				typ = "unavailable_shards_exception"
			}
			res.Error = map[string]any{"type": typ, "reason": "injected"}
		case f.poison != nil && f.poison(src):
			res.Status = 400
			res.Error = map[string]any{"type": "mapper_parsing_exception",
				"reason":    fmt.Sprintf("failed to parse field [message] of type [long] in document with id '%s'", id),
				"caused_by": map[string]any{"type": "illegal_argument_exception", "reason": "For input string: \"poison\""}}
		default:
			if old, ok := f.indexOf[id]; ok {
				f.violate("_id %q stored in %q and again in %q", id, old, index)
			}
			if f.docs[index] == nil {
				f.docs[index] = map[string][]byte{}
			}
			f.docs[index][id] = bytes.Clone(src)
			f.indexOf[id] = index
			f.created++
			res.Status, res.Version, res.Result = 201, 1, "created"
		}
		if res.Status >= 300 {
			anyErr = true
		}
		items = append(items, map[string]result{"create": res})
	}
	if f.loseReply != nil && f.loseReply(n) {
		esError(w, 503, "unavailable_shards_exception", "injected: reply lost after storing")
		return
	}
	out, _ := json.Marshal(map[string]any{"took": 3, "errors": anyErr, "items": items})
	w.Write(out)
}

// stored returns the number of documents and a copy of _id → index.
func (f *fakeES) stored() (int, map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]string, len(f.indexOf))
	for k, v := range f.indexOf {
		m[k] = v
	}
	n := 0
	for _, d := range f.docs {
		n += len(d)
	}
	return n, m
}
