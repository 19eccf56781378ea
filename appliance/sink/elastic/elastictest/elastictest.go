package elastictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a fake Elasticsearch 8 on 127.0.0.1 (see the package comment).
// Set the hooks before the first request, or later within Locked.
type Server struct {
	t     testing.TB
	srv   *httptest.Server
	conns atomic.Int64 // open client connections

	// Whole is the status for a whole _bulk request (429, 400, 401, 503…);
	// n counts _bulk requests from 1; 0: none.
	Whole func(n int) int
	// ItemFail is an item's status (429, 503) before it is stored; attempt
	// counts the create actions for its _id from 1; 0: none.
	ItemFail func(id string, attempt int) int
	// Poison makes an item fail with 400 mapper_parsing_exception.
	Poison func(src []byte) bool
	// LoseReply stores the items of _bulk request n, then answers 503 (a
	// reply lost after storing).
	LoseReply func(n int) bool
	// Auth false answers 401.
	Auth func(r *http.Request) bool
	// Raw answers _bulk request n with this instead (malformed replies);
	// status 0: none.
	Raw func(n int) (status int, body string)
	// TemplateFail is the status for PUT /_index_template/name (401, 403,
	// 429, 503…) before it is looked at; n counts those requests from 1;
	// 0: none.
	TemplateFail func(name string, n int) int

	mu               sync.Mutex
	requests         int
	templateRequests int
	templateLog      []string                     // per PUT /_index_template: "NAME create=BOOL"
	docs             map[string]map[string][]byte // index → _id → source
	indexOf          map[string]string            // _id → index it was stored in
	attempts         map[string]int               // _id → create actions seen
	templates        map[string]*template         // name → template
	indexes          map[string]*indexState       // created indexes
	counts           Counts
	violations       []string
}

// Counts counts the answers the server gave.
type Counts struct {
	Requests  int // _bulk requests
	Created   int // items answered 201
	Conflicts int // items answered 409 (there already)
	Injected  int // items answered 429/5xx by ItemFail
	Rejected  int // items answered 400 (Poison, or not fitting the mappings)
	Templates int // index templates stored (2xx)
	Exists    int // PUT …?create=true answered "already exists"
	Dropped   int // requests whose body could not be read (the client went away)
}

// Template is a stored index template.
type Template struct {
	Patterns []string
	Priority int
	Meta     map[string]any   // _meta
	Fields   map[string]Field // template.mappings.properties
}

type template struct {
	Template
	body []byte
}

type indexState struct {
	template string // name of the template it was created with; "": none
	props    map[string]Field
}

// Field is the mapping of one field.
type Field struct {
	Type            string
	IgnoreMalformed bool
}

// New starts a server on 127.0.0.1; the test's cleanup stops it and fails
// the test with every contract violation it saw.
func New(t testing.TB) *Server {
	f := &Server{t: t, docs: map[string]map[string][]byte{}, indexOf: map[string]string{}, attempts: map[string]int{},
		templates: map[string]*template{}, indexes: map[string]*indexState{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve)) // 127.0.0.1
	f.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			f.conns.Add(1)
		case http.StateClosed, http.StateHijacked:
			f.conns.Add(-1)
		}
	}
	f.srv.Start()
	t.Cleanup(func() {
		f.srv.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, v := range f.violations {
			t.Errorf("Elasticsearch API contract violated: %s", v)
		}
	})
	return f
}

// URL is the server's base URL (http://127.0.0.1:PORT).
func (f *Server) URL() string { return f.srv.URL }

// Locked runs fn with the server's lock held: for changing hooks while
// requests may come.
func (f *Server) Locked(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

// OpenConns is the number of client connections open. After a client
// process is killed, 0 means every request it had sent was answered (or
// dropped) and counted.
func (f *Server) OpenConns() int { return int(f.conns.Load()) }

// Counts returns the answers given so far.
func (f *Server) Counts() Counts {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.counts
	c.Requests = f.requests
	return c
}

// Attempts is the number of create actions seen for _id.
func (f *Server) Attempts(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts[id]
}

// TemplateLog lists the PUT /_index_template requests, "NAME create=BOOL"
// each, in order.
func (f *Server) TemplateLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.templateLog)
}

// Template returns the stored template called name.
func (f *Server) Template(name string) (Template, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.templates[name]
	if !ok {
		return Template{}, false
	}
	return t.Template, true
}

// Indexes returns each index created and the template it was created with
// ("" for none).
func (f *Server) Indexes() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]string, len(f.indexes))
	for name, idx := range f.indexes {
		m[name] = idx.template
	}
	return m
}

// Documents calls fn for every stored document (its index, _id and
// source), with the server's lock held.
func (f *Server) Documents(fn func(index, id string, src []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for index, docs := range f.docs {
		for id, src := range docs {
			fn(index, id, src)
		}
	}
}

func (f *Server) violate(format string, args ...any) {
	f.violations = append(f.violations, fmt.Sprintf(format, args...))
}

func esError(w http.ResponseWriter, status int, typ, reason string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"root_cause":[{"type":%q,"reason":%q}],"type":%q,"reason":%q},"status":%d}`, typ, reason, typ, reason, status)
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	body, err := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.counts.Dropped++ // the client went away mid-request
		return
	}
	switch name, isTemplate := strings.CutPrefix(r.URL.Path, "/_index_template/"); {
	case r.Method == http.MethodGet && r.URL.Path == "/":
		io.WriteString(w, `{"name":"fake","cluster_name":"test","version":{"number":"8.19.7","build_flavor":"default"},"tagline":"You Know, for Search"}`)
	case r.Method == http.MethodPost && r.URL.Path == "/_bulk":
		f.bulk(w, r, body)
	case r.Method == http.MethodPut && isTemplate && name != "" && !strings.Contains(name, "/"):
		f.putTemplate(w, r, name, body)
	default:
		f.violate("%s %s: the sink only sends POST /_bulk and PUT /_index_template/NAME", r.Method, r.URL.Path)
		esError(w, 400, "illegal_argument_exception", "unexpected request")
	}
}

func (f *Server) bulk(w http.ResponseWriter, r *http.Request, body []byte) {
	f.requests++
	n := f.requests
	if f.Auth != nil && !f.Auth(r) {
		esError(w, 401, "security_exception", "unable to authenticate user [x] for REST request [/_bulk]")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-ndjson" {
		f.violate("Content-Type %q, want application/x-ndjson", r.Header.Get("Content-Type"))
		esError(w, 406, "media_type_header_exception", "Content-Type header is not supported")
		return
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		f.violate("body does not end with a newline")
		esError(w, 400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
		return
	}
	if f.Raw != nil {
		if st, b := f.Raw(n); st != 0 {
			w.WriteHeader(st)
			io.WriteString(w, b)
			return
		}
	}
	if f.Whole != nil {
		if st := f.Whole(n); st != 0 {
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
		idx := f.index(index)
		src := lines[i+1]
		var obj map[string]any
		dec := json.NewDecoder(bytes.NewReader(src))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			f.violate("line %d: source is not a JSON object: %v", i+2, err)
		}
		f.attempts[id]++
		misfit := idx.misfit(obj)
		res := result{Index: index, ID: id}
		switch {
		case f.docs[index][id] != nil:
			res.Status = 409
			res.Error = map[string]any{"type": "version_conflict_engine_exception",
				"reason": fmt.Sprintf("[%s]: version conflict, document already exists (current version [1])", id)}
			f.counts.Conflicts++
		case f.ItemFail != nil && f.ItemFail(id, f.attempts[id]) != 0:
			res.Status = f.ItemFail(id, f.attempts[id])
			typ := "es_rejected_execution_exception"
			if res.Status != 429 {
				typ = "unavailable_shards_exception"
			}
			res.Error = map[string]any{"type": typ, "reason": "injected"}
			f.counts.Injected++
		case f.Poison != nil && f.Poison(src):
			res.Status = 400
			res.Error = map[string]any{"type": "mapper_parsing_exception",
				"reason":    fmt.Sprintf("failed to parse field [message] of type [long] in document with id '%s'", id),
				"caused_by": map[string]any{"type": "illegal_argument_exception", "reason": "For input string: \"poison\""}}
			f.counts.Rejected++
		case misfit != "":
			res.Status = 400
			res.Error = map[string]any{"type": "document_parsing_exception",
				"reason": fmt.Sprintf("[1:1] failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%v'",
					misfit, idx.props[misfit].Type, id, obj[misfit])}
			f.counts.Rejected++
		default:
			if old, ok := f.indexOf[id]; ok {
				f.violate("_id %q stored in %q and again in %q", id, old, index)
			}
			if f.docs[index] == nil {
				f.docs[index] = map[string][]byte{}
			}
			f.docs[index][id] = bytes.Clone(src)
			f.indexOf[id] = index
			f.counts.Created++
			res.Status, res.Version, res.Result = 201, 1, "created"
		}
		if res.Status >= 300 {
			anyErr = true
		}
		items = append(items, map[string]result{"create": res})
	}
	if f.LoseReply != nil && f.LoseReply(n) {
		esError(w, 503, "unavailable_shards_exception", "injected: reply lost after storing")
		return
	}
	out, _ := json.Marshal(map[string]any{"took": 3, "errors": anyErr, "items": items})
	w.Write(out)
}

// index returns the index called name, creating it (automatic index
// creation) with the mappings of the matching template of highest priority.
func (f *Server) index(name string) *indexState {
	if idx := f.indexes[name]; idx != nil {
		return idx
	}
	idx := &indexState{}
	best := -1
	for _, tn := range slices.Sorted(maps.Keys(f.templates)) {
		t := f.templates[tn]
		if t.Priority > best && slices.ContainsFunc(t.Patterns, func(p string) bool { return globsOverlap(p, name) }) {
			best, idx.template, idx.props = t.Priority, tn, t.Fields
		}
	}
	f.indexes[name] = idx
	return idx
}

// misfit returns the first mapped field of doc whose value does not fit its
// mapping, or "".
func (idx *indexState) misfit(doc map[string]any) string {
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if m, ok := idx.props[k]; ok && !m.Fits(doc[k]) {
			return k
		}
	}
	return ""
}

// fits reports whether Elasticsearch would index v (a JSON value decoded
// with UseNumber) in a field mapped as m.
func (m Field) Fits(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []any:
		for _, e := range x {
			if !m.Fits(e) {
				return false
			}
		}
		return true
	}
	_, isObject := v.(map[string]any)
	switch m.Type {
	case "keyword", "text":
		return !isObject
	case "flattened":
		return isObject
	case "integer", "long":
		n, ok := v.(json.Number)
		if s, isStr := v.(string); isStr { // coerced
			n, ok = json.Number(s), true
		}
		i, err := n.Int64()
		if !ok || err != nil {
			return m.IgnoreMalformed
		}
		return m.Type == "long" || i >= -1<<31 && i < 1<<31 || m.IgnoreMalformed
	case "date", "date_nanos":
		if m.IgnoreMalformed {
			return true
		}
		s, ok := v.(string)
		if !ok {
			_, isNum := v.(json.Number) // epoch milliseconds
			return isNum
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return false
		}
		return m.Type == "date" || t.Year() >= 1970 && t.Year() < 2262
	}
	return true
}

// mappingParams are the mapping types the fake knows and the parameters
// each takes (besides type).
var mappingParams = map[string][]string{
	"keyword":    {"ignore_above", "index", "doc_values", "store", "null_value", "normalizer", "fields"},
	"text":       {"analyzer", "search_analyzer", "index", "store", "norms", "fields"},
	"date":       {"format", "ignore_malformed", "null_value", "index", "doc_values", "store"},
	"date_nanos": {"format", "ignore_malformed", "null_value", "index", "doc_values", "store"},
	"integer":    {"ignore_malformed", "coerce", "null_value", "index", "doc_values", "store"},
	"long":       {"ignore_malformed", "coerce", "null_value", "index", "doc_values", "store"},
	"flattened":  {"ignore_above", "depth_limit", "index", "doc_values", "null_value", "split_queries_on_whitespace"},
	"boolean":    {"null_value", "index", "doc_values", "store"},
	"ip":         {"ignore_malformed", "null_value", "index", "doc_values", "store"},
}

func (f *Server) putTemplate(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	f.templateRequests++
	n := f.templateRequests
	create := false
	for k, v := range r.URL.Query() {
		switch {
		case k == "create" && len(v) == 1 && (v[0] == "true" || v[0] == "false"):
			create = v[0] == "true"
		default:
			f.violate("PUT /_index_template/%s: unexpected parameter %s=%v", name, k, v)
		}
	}
	f.templateLog = append(f.templateLog, fmt.Sprintf("%s create=%v", name, create))
	if f.Auth != nil && !f.Auth(r) {
		esError(w, 401, "security_exception", "unable to authenticate user [x] for REST request [/_index_template/"+name+"]")
		return
	}
	if f.TemplateFail != nil {
		switch st := f.TemplateFail(name, n); st {
		case 0:
		case 401, 403:
			esError(w, st, "security_exception", "action [indices:admin/index_template/put] is unauthorized for user [logpacker] "+
				"with effective roles [logpacker_writer], this action is granted by the cluster privileges [manage_index_templates,manage,all]")
			return
		case 429:
			esError(w, st, "es_rejected_execution_exception", "injected: rejected execution")
			return
		default:
			esError(w, st, "master_not_discovered_exception", fmt.Sprintf("injected %d", st))
			return
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		mt != "application/json" && mt != "application/vnd.elasticsearch+json" {
		f.violate("PUT /_index_template/%s: Content-Type %q, want application/json", name, r.Header.Get("Content-Type"))
		esError(w, 406, "media_type_header_exception", "Content-Type header is not supported")
		return
	}
	if strings.ToLower(name) != name || strings.ContainsAny(name, "\\/*?\"<>| ,#:") || strings.HasPrefix(name, "_") {
		f.violate("PUT /_index_template/%s: invalid template name", name)
		esError(w, 400, "invalid_index_template_exception", "index_template ["+name+"] invalid, cause [name is not valid]")
		return
	}
	t, typ, reason := parseTemplate(body)
	if t == nil {
		f.violate("PUT /_index_template/%s: %s: %s", name, typ, reason)
		esError(w, 400, typ, reason)
		return
	}
	if create && f.templates[name] != nil {
		f.counts.Exists++
		esError(w, 400, "illegal_argument_exception", "index template ["+name+"] already exists")
		return
	}
	for _, on := range slices.Sorted(maps.Keys(f.templates)) {
		o := f.templates[on]
		if on == name || o.Priority != t.Priority {
			continue
		}
		for _, p := range t.Patterns {
			for _, op := range o.Patterns {
				if globsOverlap(p, op) {
					esError(w, 400, "illegal_argument_exception", fmt.Sprintf("index template [%s] has index patterns %v matching patterns "+
						"from existing templates [%s] with patterns (%s => %v) that have the same priority [%d], multiple index templates "+
						"may not match during index creation, please use a different priority", name, t.Patterns, on, on, o.Patterns, t.Priority))
					return
				}
			}
		}
	}
	f.templates[name] = t
	f.counts.Templates++
	io.WriteString(w, `{"acknowledged":true}`)
}

// parseTemplate checks a composable index template body; nil and an
// Elasticsearch error type and reason when it is not valid.
func parseTemplate(body []byte) (t *template, typ, reason string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, "x_content_parse_exception", "[1:1] not a JSON object: " + err.Error()
	}
	t = &template{body: bytes.Clone(body)}
	for k, v := range top {
		var err error
		switch k {
		case "index_patterns":
			var one string
			if json.Unmarshal(v, &one) == nil {
				t.Patterns = []string{one}
			} else {
				err = json.Unmarshal(v, &t.Patterns)
			}
		case "priority":
			err = json.Unmarshal(v, &t.Priority)
			if err == nil && t.Priority < 0 {
				return nil, "action_request_validation_exception", "Validation Failed: 1: index template priority must be >= 0;"
			}
		case "version":
			var n int64
			err = json.Unmarshal(v, &n)
		case "_meta":
			err = json.Unmarshal(v, &t.Meta)
		case "template":
			var tm map[string]json.RawMessage
			if err = json.Unmarshal(v, &tm); err != nil {
				break
			}
			for tk, tv := range tm {
				switch tk {
				case "settings", "aliases", "lifecycle":
				case "mappings":
					var ok bool
					if t.Fields, typ, reason, ok = parseMappings(tv); !ok {
						return nil, typ, reason
					}
				default:
					return nil, "x_content_parse_exception", "[1:1] [template] unknown field [" + tk + "]"
				}
			}
		case "composed_of", "data_stream", "allow_auto_create", "ignore_missing_component_templates", "deprecated":
		default:
			return nil, "x_content_parse_exception", "[1:2] [index_template] unknown field [" + k + "]"
		}
		if err != nil {
			return nil, "x_content_parse_exception", fmt.Sprintf("[1:1] [index_template] failed to parse field [%s]: %v", k, err)
		}
	}
	if len(t.Patterns) == 0 {
		return nil, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;"
	}
	for _, p := range t.Patterns {
		if p == "" || strings.ContainsAny(p, " ,#:\\/?\"<>|") || strings.HasPrefix(p, "_") {
			return nil, "invalid_index_template_exception", fmt.Sprintf("index_template [..] invalid, cause [index_pattern [%s] is not valid]", p)
		}
	}
	return t, "", ""
}

// parseMappings checks template.mappings: an object of root parameters,
// properties each with a known type and only its parameters.
func parseMappings(b json.RawMessage) (props map[string]Field, typ, reason string, ok bool) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(b, &root); err != nil {
		return nil, "mapper_parsing_exception", "Failed to parse mapping: mappings is not a JSON object", false
	}
	props = map[string]Field{}
	for k, v := range root {
		switch k {
		case "dynamic", "_meta", "_source", "dynamic_templates", "runtime", "date_detection", "numeric_detection", "_routing":
			continue
		case "properties":
		default:
			return nil, "mapper_parsing_exception", "Root mapping definition has unsupported parameters:  [" + k + "]", false
		}
		var fields map[string]map[string]any
		if err := json.Unmarshal(v, &fields); err != nil {
			return nil, "mapper_parsing_exception", "Failed to parse mapping: properties: " + err.Error(), false
		}
		for name, def := range fields {
			t, _ := def["type"].(string)
			params, known := mappingParams[t]
			if !known {
				return nil, "mapper_parsing_exception", fmt.Sprintf("No handler for type [%s] declared on field [%s]", t, name), false
			}
			fm := Field{Type: t}
			for p, pv := range def {
				switch {
				case p == "type":
				case !slices.Contains(params, p):
					return nil, "mapper_parsing_exception", fmt.Sprintf("unknown parameter [%s] on mapper [%s] of type [%s]", p, name, t), false
				case p == "ignore_above":
					if n, isNum := pv.(float64); !isNum || n < 0 || n != float64(int(n)) {
						return nil, "mapper_parsing_exception", fmt.Sprintf("Failed to parse mapping: [ignore_above] on [%s] must be a non-negative integer", name), false
					}
				case p == "ignore_malformed":
					b, isBool := pv.(bool)
					if !isBool {
						return nil, "mapper_parsing_exception", fmt.Sprintf("Failed to parse mapping: [ignore_malformed] on [%s] must be a boolean", name), false
					}
					fm.IgnoreMalformed = b
				}
			}
			props[name] = fm
		}
	}
	return props, "", "", true
}

// globsOverlap reports whether some name matches both patterns (* matches
// any run of characters); a name is a pattern without *.
func globsOverlap(a, b string) bool {
	switch {
	case a == "" && b == "":
		return true
	case a != "" && a[0] == '*':
		return globsOverlap(a[1:], b) || b != "" && globsOverlap(a, b[1:])
	case b != "" && b[0] == '*':
		return globsOverlap(a, b[1:]) || a != "" && globsOverlap(a[1:], b)
	case a == "" || b == "":
		return false
	}
	return a[0] == b[0] && globsOverlap(a[1:], b[1:])
}

// SeedTemplate stores a template (a PUT /_index_template body) as an
// operator would have installed it; a body the server would refuse fails
// the test.
func (f *Server) SeedTemplate(name, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, typ, reason := parseTemplate([]byte(body))
	if t == nil {
		f.t.Fatalf("SeedTemplate %s: %s: %s", name, typ, reason)
	}
	f.templates[name] = t
}

// Stored returns the number of documents and a copy of _id → index.
func (f *Server) Stored() (int, map[string]string) {
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

// DeadLetter is one line of the elastic output's dead-letter file.
type DeadLetter struct {
	Output string `json:"output"`
	Index  string `json:"index"`
	ID     string `json:"_id"`
	Status int    `json:"status"`
	Error  struct {
		Type, Reason string
	} `json:"error"`
	Event struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"event"`
}

// ReadDeadLetters reads an elastic output's dead-letter file; a missing
// file or a line that is not a whole JSON object fails the test.
func ReadDeadLetters(t testing.TB, path string) []DeadLetter {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []DeadLetter
	for line := range bytes.Lines(b) {
		var l DeadLetter
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("%s: line %q: %v", path, line, err)
		}
		out = append(out, l)
	}
	return out
}
