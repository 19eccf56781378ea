package victorialogs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"logpacker/appliance/internal/counters"
	"logpacker/appliance/pipeline"
	"logpacker/protocol"
)

// Options configures the output. DefaultOptions has the defaults of the
// configuration keys; New fills in the zero values too.
type Options struct {
	// Name is the output's name (the metrics' output label). Optional.
	Name string
	// URLs are the base URLs of a single-node VictoriaLogs or of vlinsert
	// nodes ("http://vl:9428"; /insert/jsonline is added unless the path
	// ends in it; query args given are kept); required. A request that
	// fails for now is tried on the next URL.
	URLs []string
	// StreamFields are the log stream fields (_stream_fields); nil:
	// DefaultStreamFields; empty: none.
	StreamFields []string
	// Username and Password (basic auth) or BearerToken authenticate;
	// none: no Authorization header.
	Username, Password, BearerToken string
	// AccountID and ProjectID are the tenant (headers AccountID and
	// ProjectID); empty: not sent (tenant 0:0).
	AccountID, ProjectID string
	// Compression of the request body: CompressGzip (default ""),
	// CompressZstd or CompressNone.
	Compression string
	// TLSCA is a PEM file of the CAs that sign the server's certificate
	// (https URLs); empty: the system's roots. Ignored with Transport.
	TLSCA string
	// Timeout bounds one WritePrepared (all its requests). Default 30s.
	Timeout time.Duration
	// MaxLineSize is the longest line sent, its "\n" included (the
	// server's -insert.maxLineSizeBytes); longer events are shortened
	// (doc.go). Default DefaultMaxLineSize; at least 16 KiB.
	MaxLineSize int
	// Logger gets shortened events and failed requests. Default slog.Default().
	Logger *slog.Logger
	// Transport is the HTTP transport; default http.DefaultTransport's
	// settings with TLSCA.
	Transport http.RoundTripper
}

// Stats counts what the sink did since New.
type Stats struct {
	Events    uint64 // events in requests answered 2xx
	Requests  uint64 // requests answered 2xx
	Bytes     uint64 // request bodies (compressed) answered 2xx
	Failed    uint64 // requests that failed for now (network, 5xx, 429, 401, …): retried
	Rejected  uint64 // events in requests refused for good (400, …): dead-lettered by the node
	Splits    uint64 // requests answered 413 and sent again as two halves
	Truncated uint64 // events shortened to fit VictoriaLogs' limits (doc.go)
}

// Sink writes events to VictoriaLogs' /insert/jsonline. It is a
// pipeline.PreparedSink: Prepare encodes JSON lines, WritePrepared sends
// them. Safe for concurrent use.
type Sink struct {
	client               *http.Client
	transport            http.RoundTripper
	log                  *slog.Logger
	name                 string
	urls                 []string // insert URLs, query args included
	cur                  atomic.Uint32
	header               http.Header
	compression          string
	timeout              time.Duration
	enc                  encoder
	*counters.Set[Stats] // prometheus.Collector (metrics.go)

	events, requests, bytes, failed, rejected, splits, truncated atomic.Uint64
	lastTruncLog                                                 atomic.Int64 // unix nanos

	mu   sync.Mutex // body, gz, zs
	body []byte
	gz   *gzip.Writer
	zs   *zstd.Encoder
}

var _ pipeline.PreparedSink = (*Sink)(nil)

// New checks opts and makes the client. It does not contact the server (a
// node starts while VictoriaLogs is down; the first write finds out).
func New(opts Options) (*Sink, error) {
	o := opts
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("sink/victorialogs: %w", err)
	}
	if o.StreamFields == nil {
		o.StreamFields = DefaultStreamFields
	}
	for _, f := range o.StreamFields {
		if err := checkStreamField(f); err != nil {
			return nil, fmt.Errorf("sink/victorialogs: stream_fields: %w", err)
		}
	}
	if o.Compression == "" {
		o.Compression = CompressGzip
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxLineSize == 0 {
		o.MaxLineSize = DefaultMaxLineSize
	}
	if o.MaxLineSize < minMaxLineSize {
		return nil, fmt.Errorf("sink/victorialogs: max line size %d: at least %d", o.MaxLineSize, minMaxLineSize)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	s := &Sink{log: o.Logger, name: o.Name, compression: o.Compression, timeout: o.Timeout,
		enc: encoder{maxLine: o.MaxLineSize}, header: http.Header{}}
	s.Set = newMetrics(s, o.Name)
	for _, u := range o.URLs {
		iu, err := insertURL(u, o.StreamFields)
		if err != nil {
			return nil, fmt.Errorf("sink/victorialogs: %w", err)
		}
		s.urls = append(s.urls, iu)
	}
	s.header.Set("Content-Type", "application/stream+json")
	if o.Compression != CompressNone {
		s.header.Set("Content-Encoding", o.Compression)
	}
	switch {
	case o.BearerToken != "":
		s.header.Set("Authorization", "Bearer "+o.BearerToken)
	case o.Username != "":
		r := &http.Request{Header: http.Header{}}
		r.SetBasicAuth(o.Username, o.Password)
		s.header.Set("Authorization", r.Header.Get("Authorization"))
	}
	if o.AccountID != "" {
		s.header.Set("AccountID", o.AccountID)
	}
	if o.ProjectID != "" {
		s.header.Set("ProjectID", o.ProjectID)
	}
	s.transport = o.Transport
	if s.transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if o.TLSCA != "" {
			pool, err := loadCAs(o.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("sink/victorialogs: tls_ca: %w", err)
			}
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
		}
		s.transport = t
	}
	s.client = &http.Client{Transport: s.transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var err error
	switch o.Compression {
	case CompressGzip:
		s.gz, err = gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	case CompressZstd:
		s.zs, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
	}
	if err != nil {
		return nil, fmt.Errorf("sink/victorialogs: compression: %w", err)
	}
	return s, nil
}

// insertURL is base's /insert/jsonline URL with the query args that say
// which fields are _msg, _time and the stream fields; base's own query args
// (extra_fields, ignore_fields, …) are kept.
func insertURL(base string, streamFields []string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("url %q: want http://host:port or https://host:port", base)
	}
	if !strings.HasSuffix(u.Path, "/insert/jsonline") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/insert/jsonline"
	}
	q := u.Query()
	q.Set("_msg_field", "_msg")
	q.Set("_time_field", "_time")
	q.Del("_stream_fields")
	if len(streamFields) > 0 {
		q.Set("_stream_fields", strings.Join(streamFields, ","))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if pool := x509.NewCertPool(); pool.AppendCertsFromPEM(pem) {
		return pool, nil
	}
	return nil, fmt.Errorf("%s: no PEM certificates", path)
}

// Prepare appends one JSON line per event to dst (see doc.go for the
// fields). It keeps nothing of evs.
func (s *Sink) Prepare(dst []byte, evs []protocol.Event) []byte {
	for i := range evs {
		var trunc bool
		if dst, trunc = s.enc.appendLine(dst, &evs[i]); trunc {
			s.truncated.Add(1)
			s.logTruncated(&evs[i])
		}
	}
	return dst
}

// logTruncated logs a shortened event, at most once a minute.
func (s *Sink) logTruncated(ev *protocol.Event) {
	now := time.Now().UnixNano()
	last := s.lastTruncLog.Load()
	if now-last < int64(time.Minute) || !s.lastTruncLog.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn("sink/victorialogs: event shortened to fit VictoriaLogs' limits (message cut, or fields dropped); "+
		"marked truncated=true", "output", s.name, "id", ev.ID.String(), "truncated_total", s.truncated.Load())
}

// Write sends evs (Prepare, then WritePrepared).
func (s *Sink) Write(ctx context.Context, evs []protocol.Event) error {
	return s.WritePrepared(ctx, s.Prepare(nil, evs))
}

// WritePrepared sends lines made by Prepare in one POST (two halves, each
// split again as needed, if the server answers 413). nil: VictoriaLogs took
// every line. An error with Permanent() true (400 and other 4xx the same
// request would always get) is not worth retrying; any other error is
// (network, 5xx, 429, 401/403, 404 — see doc.go), and the next attempt goes
// to the next URL.
func (s *Sink) WritePrepared(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.send(ctx, data)
}

func (s *Sink) send(ctx context.Context, data []byte) error {
	lines := bytes.Count(data, []byte{'\n'})
	err := s.post(ctx, data, lines)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusRequestEntityTooLarge {
		return err
	}
	if lines < 2 {
		he.permanent = true
		s.rejected.Add(1)
		return err
	}
	// Too large for the server (or a proxy in front): two halves.
	s.splits.Add(1)
	mid := bytes.IndexByte(data[len(data)/2:], '\n') + len(data)/2 + 1
	if mid >= len(data) { // the second half's first line runs to the end
		mid = bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	}
	if err := s.send(ctx, data[:mid]); err != nil {
		return err
	}
	return s.send(ctx, data[mid:])
}

// post sends data (lines events) in one request, to the current URL.
func (s *Sink) post(ctx context.Context, data []byte, lines int) error {
	body, err := s.compress(data)
	if err != nil {
		return fmt.Errorf("sink/victorialogs: compress: %w", err)
	}
	i := s.cur.Load()
	u := s.urls[int(i)%len(s.urls)]
	err = s.do(ctx, u, body)
	var he *HTTPError
	switch {
	case err == nil:
		s.events.Add(uint64(lines))
		s.requests.Add(1)
		s.bytes.Add(uint64(len(body)))
		return nil
	case errors.As(err, &he) && he.Status == http.StatusRequestEntityTooLarge:
		return err // split by send
	case pipeline.IsPermanent(err):
		s.rejected.Add(uint64(lines))
		s.log.Error("sink/victorialogs: request refused for good; the node dead-letters its events", "output", s.name,
			"events", lines, "err", err)
		return err
	}
	s.failed.Add(1)
	if len(s.urls) > 1 {
		s.cur.CompareAndSwap(i, i+1) // the retry goes to the next URL
	}
	return err
}

// compress returns data as the request body (s.body, or data itself).
func (s *Sink) compress(data []byte) ([]byte, error) {
	switch {
	case s.gz != nil:
		buf := bytes.NewBuffer(s.body[:0])
		s.gz.Reset(buf)
		if _, err := s.gz.Write(data); err != nil {
			return nil, err
		}
		if err := s.gz.Close(); err != nil {
			return nil, err
		}
		s.body = buf.Bytes()
	case s.zs != nil:
		s.body = s.zs.EncodeAll(data, s.body[:0])
	default:
		return data, nil
	}
	if cap(s.body) > 32<<20 {
		defer func() { s.body = nil }()
	}
	return s.body, nil
}

// do POSTs body to u and reads the answer.
func (s *Sink) do(ctx context.Context, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sink/victorialogs: %w", err)
	}
	req.Header = s.header.Clone()
	res, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sink/victorialogs: POST %s: %w", redact(u), err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20)) // so the connection is reused
	if res.StatusCode >= 200 && res.StatusCode <= 299 {
		return nil
	}
	return &HTTPError{URL: redact(u), Status: res.StatusCode, Msg: strings.TrimSpace(string(msg)),
		permanent: permanentStatus(res.StatusCode)}
}

// permanentStatus: the statuses the same request would always get. 400 is
// VictoriaLogs' answer to bad query args or headers and to a body none of
// whose lines it can read; 413 is one line too long (send splits longer
// requests). Everything else can go away: 5xx and 429 by themselves,
// 401/403/404/407 and a proxy's other 4xx when an operator fixes them.
func permanentStatus(code int) bool {
	switch code {
	case http.StatusBadRequest, http.StatusLengthRequired, http.StatusRequestEntityTooLarge,
		http.StatusRequestURITooLong, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

// HTTPError is a request answered with a status other than 2xx.
type HTTPError struct {
	URL       string // without user info
	Status    int
	Msg       string // the start of the answer's body
	permanent bool
}

func (e *HTTPError) Error() string {
	hint := ""
	switch {
	case e.permanent:
		hint = " (refused for good)"
	case e.Status == 401 || e.Status == 403:
		hint = " (check username/password or bearer_token; retrying)"
	case e.Status == 404:
		hint = " (check urls: want the base URL of VictoriaLogs or vlinsert; retrying)"
	default:
		hint = " (retrying)"
	}
	return fmt.Sprintf("sink/victorialogs: POST %s: HTTP %d: %s%s", e.URL, e.Status, e.Msg, hint)
}

// Permanent reports whether the same request would always be refused.
func (e *HTTPError) Permanent() bool { return e.permanent }

// redact drops user info from a URL for messages.
func redact(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.User != nil {
		pu.User = nil
		return pu.String()
	}
	return u
}

// Stats returns the counters. Collect exports them too (metrics.go).
func (s *Sink) Stats() Stats {
	return Stats{Events: s.events.Load(), Requests: s.requests.Load(), Bytes: s.bytes.Load(),
		Failed: s.failed.Load(), Rejected: s.rejected.Load(), Splits: s.splits.Load(), Truncated: s.truncated.Load()}
}

// Close releases idle connections and the compressor.
func (s *Sink) Close() error {
	if t, ok := s.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.zs != nil {
		s.zs.Close()
	}
	return nil
}
