package elastic

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"logpacker/appliance/internal/counters"
	"logpacker/protocol"
)

// Options configures the output.
type Options struct {
	// Name is the output's name, written into dead-letter lines. Optional.
	Name string
	// URLs are the cluster's nodes ("https://es1:9200"); required.
	URLs []string
	// Username and Password (basic auth) or APIKey (the base64 "id:key"
	// Elasticsearch gives) authenticate; none: no authentication.
	Username, Password, APIKey string
	// Index is the index name pattern (see doc.go); default DefaultIndex.
	Index string
	// DeadLetter is the path of the file items Elasticsearch rejects for
	// good (mapping conflicts) are appended to, one JSON line each; required.
	DeadLetter string
	// Logger gets rejected items and retries. Default slog.Default().
	Logger *slog.Logger
	// Timeout bounds one Write, its retries of rejected items included.
	// Default 60s.
	Timeout time.Duration
	// Transport is the HTTP transport (TLS settings); default
	// http.DefaultTransport's settings.
	Transport http.RoundTripper
	// Template says what to do about the index template for Index before
	// the first _bulk request: TemplateCreate (the default, ""),
	// TemplateOverwrite or TemplateNone (see doc.go).
	Template string
	// TemplateName is the template's name; default DefaultTemplateName(Name).
	TemplateName string
}

// Stats counts what the sink did with items (events) since New.
type Stats struct {
	Indexed      uint64 // stored (201)
	Duplicates   uint64 // there already (409 on create: stored by an earlier attempt)
	RetriedItems uint64 // items sent again after a 429 or 5xx of their own
	DeadLettered uint64 // rejected for good; in the dead-letter file
	// TemplateErrors counts index templates refused for good (401/403,
	// other 4xx): the output went on without its template.
	TemplateErrors uint64
}

const (
	defaultTimeout = 60 * time.Second
	maxItemRounds  = 8 // bulk requests per Write for items rejected with 429/5xx
)

// Sink writes events to Elasticsearch with the _bulk API. Write is safe for
// concurrent use but the output loop calls it from one goroutine.
type Sink struct {
	es                   *elasticsearch.Client
	transport            http.RoundTripper
	log                  *slog.Logger
	name                 string
	deadPath             string
	timeout              time.Duration
	backoffLo            time.Duration // between rounds of retried items
	backoffHi            time.Duration
	indexed              atomic.Uint64
	duplicates           atomic.Uint64
	retried              atomic.Uint64
	dead                 atomic.Uint64
	tmplErrors           atomic.Uint64
	*counters.Set[Stats] // prometheus.Collector (metrics.go)

	tmplMode     string
	tmplName     string
	tmplPatterns []string
	tmplBody     []byte

	mu      sync.Mutex
	pattern *indexPattern
	enc     protocol.JSONEncoder
	body    []byte
	// deadIDs are the _ids dead-lettered since the last Write that returned
	// nil: the loop retries a batch that failed as a whole, and its rejected
	// items are neither sent nor dead-lettered again.
	deadIDs map[string]bool
	// deadBefore are the _ids in the end of the dead-letter file when New
	// ran: dead-lettered before a restart, perhaps in the batch the WAL
	// replays. They are neither sent nor dead-lettered again either.
	deadBefore map[string]bool
	skipped    int // events skipped for deadBefore, not logged yet
	// tmplDone: the index template is dealt with (installed, there
	// already, refused for good, or template = none).
	tmplDone bool
}

// New checks opts, reads the _ids at the end of the dead-letter file (see
// doc.go) and makes the client. It does not contact the cluster (a node
// starts while Elasticsearch is down; the first Write finds out).
func New(opts Options) (*Sink, error) {
	if len(opts.URLs) == 0 {
		return nil, errors.New("sink/elastic: no urls")
	}
	for _, u := range opts.URLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("sink/elastic: url %q: want http://host:port or https://host:port", u)
		}
	}
	if opts.DeadLetter == "" {
		return nil, errors.New("sink/elastic: no dead-letter path")
	}
	if opts.APIKey != "" && (opts.Username != "" || opts.Password != "") {
		return nil, errors.New("sink/elastic: api_key and username/password are exclusive")
	}
	pat, err := parseIndexPattern(opts.Index)
	if err != nil {
		return nil, fmt.Errorf("sink/elastic: %w", err)
	}
	if err := CheckTemplate(opts.Index, opts.Template, opts.TemplateName); err != nil {
		return nil, fmt.Errorf("sink/elastic: %w", err)
	}
	s := &Sink{
		log:       opts.Logger,
		name:      opts.Name,
		deadPath:  opts.DeadLetter,
		timeout:   opts.Timeout,
		backoffLo: 100 * time.Millisecond,
		backoffHi: 5 * time.Second,
		pattern:   pat,
		deadIDs:   map[string]bool{},
		transport: opts.Transport,
		tmplMode:  opts.Template,
		tmplName:  opts.TemplateName,
	}
	s.Set = newMetrics(s, opts.Name)
	if s.tmplMode == "" {
		s.tmplMode = TemplateCreate
	}
	if s.tmplName == "" {
		s.tmplName = DefaultTemplateName(opts.Name)
	}
	if s.tmplMode == TemplateNone {
		s.tmplDone = true
	} else {
		s.tmplPatterns, _ = pat.templatePatterns() // checked by CheckTemplate
		s.tmplBody = templateBody(s.tmplPatterns, opts.Name, pat.src)
	}
	if s.transport == nil {
		s.transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	if s.deadBefore, err = loadDeadTail(s.deadPath, deadTailScan); err != nil {
		return nil, fmt.Errorf("sink/elastic: dead-letter file: %w", err)
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses: opts.URLs,
		Username:  opts.Username,
		Password:  opts.Password,
		APIKey:    opts.APIKey,
		Transport: s.transport,
		// Whole requests answered 429 or 502-504 are retried by the client
		// (then Write returns an error and the loop retries the batch).
		RetryOnStatus: []int{429, 502, 503, 504},
		MaxRetries:    3,
		RetryBackoff: func(attempt int) time.Duration {
			return s.backoff(attempt)
		},
		DisableMetaHeader: true,
	})
	if err != nil {
		return nil, fmt.Errorf("sink/elastic: %w", err)
	}
	s.es = es
	return s, nil
}

// backoff is the wait before attempt (1, 2, …): capped exponential with
// jitter (half to all of it).
func (s *Sink) backoff(attempt int) time.Duration {
	d := s.backoffLo
	for i := 1; i < attempt && d < s.backoffHi; i++ {
		d *= 2
	}
	d = min(d, s.backoffHi)
	return d/2 + rand.N(d/2+1)
}

// Stats returns the counters. Collect exports them too (metrics.go).
func (s *Sink) Stats() Stats {
	return Stats{Indexed: s.indexed.Load(), Duplicates: s.duplicates.Load(),
		RetriedItems: s.retried.Load(), DeadLettered: s.dead.Load(), TemplateErrors: s.tmplErrors.Load()}
}

// Close releases idle connections.
func (s *Sink) Close() error {
	if t, ok := s.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	return nil
}

// Write indexes evs with _bulk "create" actions keyed on the event IDs,
// after installing the index template if that is not done yet (a failure
// that can go away returns an error before any event is sent). It
// returns nil once every event is stored (201), was stored already (409),
// or was rejected for good and written to the dead-letter file. Items
// answered 429 or 5xx are sent again, alone, with backoff; if some still
// fail, or the request as a whole fails (connection, 429, 5xx, 401/403, a
// malformed answer), Write returns a (transient) error and the output loop
// retries the whole batch, whose stored items then answer 409. Write never
// returns a permanent error: nothing is dropped.
func (s *Sink) Write(ctx context.Context, evs []protocol.Event) error {
	if len(evs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if !s.tmplDone {
		if err := s.installTemplate(ctx); err != nil {
			return err
		}
	}

	items := make([]item, 0, len(evs))
	for i := range evs {
		id := docID(evs[i].ID)
		if s.deadIDs[id] {
			continue
		}
		if s.deadBefore[id] {
			s.skipped++
			continue
		}
		items = append(items, item{ev: i, id: id, index: s.pattern.nameFor(indexTime(evs[i].Received, evs[i].Time))})
	}
	for round := 1; len(items) > 0; round++ {
		retry, err := s.bulk(ctx, evs, items)
		if err != nil {
			return err
		}
		if len(retry) == 0 {
			break
		}
		if round >= maxItemRounds {
			return fmt.Errorf("sink/elastic: %d of %d events still rejected after %d attempts (429/5xx per item), e.g. %s",
				len(retry), len(evs), round, retry[0].reason)
		}
		s.retried.Add(uint64(len(retry)))
		if round == 1 || round%4 == 0 {
			s.log.Warn("sink/elastic: items rejected for now; sending them again", "output", s.name,
				"items", len(retry), "round", round, "first", retry[0].reason)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sink/elastic: %d events not stored yet: %w", len(retry), ctx.Err())
		case <-time.After(s.backoff(round)):
		}
		items = items[:0]
		for _, r := range retry {
			items = append(items, r.item)
		}
	}
	clear(s.deadIDs)
	if s.skipped > 0 {
		s.log.Info("sink/elastic: skipped events dead-lettered before the restart", "output", s.name,
			"events", s.skipped, "dead_letter", s.deadPath)
		s.skipped = 0
	}
	return nil
}

type retryItem struct {
	item
	reason string
}

// bulk sends one _bulk request for items and handles the answer: stored
// and duplicate items are counted, permanently rejected ones dead-lettered;
// the ones to send again (429, 5xx) are returned.
func (s *Sink) bulk(ctx context.Context, evs []protocol.Event, items []item) ([]retryItem, error) {
	s.body = appendBulk(s.body[:0], &s.enc, evs, items)
	res, err := s.es.Bulk(bytes.NewReader(s.body),
		s.es.Bulk.WithContext(ctx),
		s.es.Bulk.WithHeader(map[string]string{"Content-Type": "application/x-ndjson"}))
	if err != nil {
		return nil, fmt.Errorf("sink/elastic: bulk request (%d events): %w", len(items), err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("sink/elastic: bulk response (%d events): %w", len(items), err)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		hint := ""
		switch {
		case res.StatusCode == 401 || res.StatusCode == 403:
			hint = " (check username/password or api_key and the user's index privileges; retrying)"
		case res.StatusCode == 413:
			hint = " (request too large for http.max_content_length: lower batch_size; retrying)"
		case res.StatusCode == 429 || res.StatusCode >= 500:
			hint = " (cluster busy or unavailable; retrying)"
		default:
			hint = " (the request was refused as a whole; nothing was stored or dropped; retrying)"
		}
		return nil, fmt.Errorf("sink/elastic: bulk request (%d events): HTTP %d: %s%s", len(items), res.StatusCode, requestError(body), hint)
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	results, err := parseBulkResponse(body, ids)
	if err != nil {
		return nil, fmt.Errorf("sink/elastic: bulk request (%d events): %w", len(items), err)
	}
	var retry []retryItem
	var deadBuf []byte
	var deadIDs []string
	for i, r := range results {
		it := items[i]
		switch {
		case r.Status >= 200 && r.Status <= 299:
			s.indexed.Add(1)
		case r.Status == 409:
			s.duplicates.Add(1)
		case retriable(r):
			retry = append(retry, retryItem{item: it, reason: fmt.Sprintf("HTTP %d %s", r.Status, r.Error.String())})
		default:
			deadBuf = s.appendDead(deadBuf, &evs[it.ev], it, r)
			deadIDs = append(deadIDs, it.id)
		}
	}
	if len(deadIDs) > 0 {
		if err := appendSync(s.deadPath, deadBuf); err != nil {
			// Not recorded anywhere: the loop retries, and they are rejected again.
			return nil, fmt.Errorf("sink/elastic: %d rejected events: cannot write dead-letter file: %w", len(deadIDs), err)
		}
		for _, id := range deadIDs {
			s.deadIDs[id] = true
		}
		s.dead.Add(uint64(len(deadIDs)))
		s.log.Error("sink/elastic: events rejected by Elasticsearch; written to the dead-letter file", "output", s.name,
			"events", len(deadIDs), "first_id", deadIDs[0], "dead_letter", s.deadPath)
	}
	return retry, nil
}

// retriable reports whether an item's failure can go away by itself: 429
// (es_rejected_execution_exception), 5xx, and what an operator fixes on the
// cluster without touching the events — a missing index where automatic
// creation is off (404 index_not_found_exception), missing privileges
// (401/403), a closed or read-only index (cluster_block_exception).
func retriable(r bulkItem) bool {
	if r.Status == 429 || r.Status >= 500 || r.Status == 401 || r.Status == 403 {
		return true
	}
	if r.Error != nil {
		switch r.Error.Type {
		case "index_not_found_exception", "cluster_block_exception", "index_closed_exception",
			"es_rejected_execution_exception", "unavailable_shards_exception":
			return true
		}
	}
	return false
}

// appendDead appends one dead-letter line: {"output","index","_id","status",
// "error":{"type","reason"},"event":{…}}.
func (s *Sink) appendDead(dst []byte, ev *protocol.Event, it item, r bulkItem) []byte {
	typ, reason := "", fmt.Sprintf("HTTP %d", r.Status)
	if r.Error != nil {
		typ, reason = r.Error.Type, r.Error.String()
	}
	dst = append(dst, `{"output":`...)
	dst = appendJSONString(dst, s.name)
	dst = append(dst, `,"index":`...)
	dst = appendJSONString(dst, it.index)
	dst = append(dst, `,"_id":`...)
	dst = appendJSONString(dst, it.id)
	dst = fmt.Appendf(dst, `,"status":%d,"error":{"type":`, r.Status)
	dst = appendJSONString(dst, typ)
	dst = append(dst, `,"reason":`...)
	dst = appendJSONString(dst, reason)
	dst = append(dst, `},"event":`...)
	dst = ev.AppendJSON(dst)
	return append(dst, "}\n"...)
}
