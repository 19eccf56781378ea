package journal

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"logpacker/protocol"
)

// ContentType is what systemd-journal-upload sends, and all /upload takes.
const ContentType = "application/vnd.fdo.journal"

// Options configure the upload endpoint.
type Options struct {
	// Emit stores a batch; nil only once it is durable in the WAL.
	Emit func(context.Context, []protocol.Event) error
	// MaxEntry bounds one entry (names and values); default 1 MiB.
	MaxEntry int
	// BatchEntries and BatchBytes bound a batch handed to Emit (defaults
	// 1024 entries, 4 MiB): with MaxEntry, what an upload holds in memory.
	BatchEntries, BatchBytes int
	// Source names the sender (from the token check); nil: "journal".
	Source func(context.Context) string
	Logger *slog.Logger
	// Events counts the entries stored, by source (nil: not counted).
	Events *prometheus.CounterVec
	// Seen, when set, skips entries already stored (by source and
	// journal sequence, see Seen); Duplicates counts them.
	Seen       *Seen
	Duplicates prometheus.Counter
}

// Handler serves POST /upload: systemd-journal-upload's stream, read entry
// by entry, stored batch by batch, answered 200 "OK." once every entry of
// the upload is durable. See the package comment for the cursor contract.
func Handler(o Options) http.Handler {
	if o.MaxEntry <= 0 {
		o.MaxEntry = 1 << 20
	}
	if o.BatchEntries <= 0 {
		o.BatchEntries = 1024
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			answer(w, http.StatusMethodNotAllowed, "Only POST is supported.")
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != ContentType {
			answer(w, http.StatusUnsupportedMediaType, "Content-Type: "+ContentType+" is required.")
			return
		}
		body, err := decompress(r)
		if err != nil {
			answer(w, http.StatusUnsupportedMediaType, err.Error())
			return
		}
		defer body.Close()
		source := "journal"
		if o.Source != nil {
			if s := o.Source(r.Context()); s != "" {
				source = s
			}
		}
		peer := r.RemoteAddr
		n, err := o.upload(r.Context(), body, source, peer)
		if err != nil {
			var fe *FrameError
			switch {
			case errors.As(err, &fe) && fe.Large:
				answer(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%v; %d entries before it were stored", err, n))
			case errors.As(err, &fe):
				answer(w, http.StatusBadRequest, fmt.Sprintf("%v; %d entries before it were stored", err, n))
			case r.Context().Err() != nil:
				o.Logger.Info("journal upload ended by the client", "peer", peer, "stored", n)
			default:
				o.Logger.Error("journal upload failed", "peer", peer, "stored", n, "err", err)
				answer(w, http.StatusServiceUnavailable, fmt.Sprintf("not stored: %v; %d entries before it were stored", err, n))
			}
			return
		}
		o.Logger.Debug("journal upload stored", "peer", peer, "entries", n)
		answer(w, http.StatusOK, "OK.")
	})
}

// answer replies as systemd-journal-remote does: text, one line.
func answer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

func decompress(r *http.Request) (io.ReadCloser, error) {
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return io.NopCloser(r.Body), nil
	case "gzip", "x-gzip":
		return gzip.NewReader(r.Body)
	case "zstd":
		d, err := zstd.NewReader(r.Body, zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	default:
		return nil, fmt.Errorf("Content-Encoding %q is not supported (gzip, zstd or none)", enc)
	}
}

// upload reads entries from body and emits them in batches; it returns how
// many were stored. A batch is emitted whole or not at all; an entry cut
// by a framing error is never stored.
func (o *Options) upload(ctx context.Context, body io.Reader, source, peer string) (int, error) {
	dec := NewDecoder(body, o.MaxEntry)
	batch := make([]protocol.Event, 0, min(o.BatchEntries, 256))
	bytes, stored := 0, 0
	seqs := map[string][]uint64{} // the batch's journal sequence numbers
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := o.Emit(ctx, batch); err != nil {
			return err
		}
		stored += len(batch)
		if o.Events != nil {
			o.Events.WithLabelValues("journal", source).Add(float64(len(batch)))
		}
		clear(batch)
		batch, bytes = batch[:0], 0
		if o.Seen != nil {
			if err := o.Seen.Add(seqs); err != nil {
				o.Logger.Error("journal: recording the entries stored (they may be stored again if sent again)", "err", err)
			}
			clear(seqs)
		}
		return nil
	}
	for {
		fields, err := dec.Next()
		if err == io.EOF {
			return stored, flush()
		}
		if err != nil {
			var fe *FrameError
			if errors.As(err, &fe) {
				// what came before the bad frame is complete: keep it
				if ferr := flush(); ferr != nil {
					return stored, ferr
				}
			}
			return stored, err
		}
		if o.Seen != nil {
			if id, n, ok := seqnum(fields); ok {
				key := source + "/" + id
				if o.Seen.Has(key, n) || inBatch(seqs[key], n) {
					if o.Duplicates != nil {
						o.Duplicates.Inc()
					}
					continue
				}
				seqs[key] = append(seqs[key], n)
			}
		}
		ev := ToEvent(fields)
		ev.Transport, ev.Peer = "journal", peer
		ev.Tags = append(ev.Tags, source)
		batch = append(batch, ev)
		for _, f := range fields {
			bytes += len(f.Name) + len(f.Value)
		}
		if len(batch) >= o.BatchEntries || bytes >= o.BatchBytes {
			if err := flush(); err != nil {
				return stored, err
			}
		}
	}
}

// ToEvent maps a journal entry onto an event: MESSAGE, PRIORITY,
// SYSLOG_FACILITY, SYSLOG_IDENTIFIER (else _COMM), _HOSTNAME, _PID (else
// SYSLOG_PID), __REALTIME_TIMESTAMP (µs) are the event's; every field,
// those too, is in Fields under its name (a repeated field: NAME, NAME.2,
// NAME.3, …), a value that is not UTF-8 base64-encoded under NAME.base64
// (exact bytes; every output can carry it).
func ToEvent(fields []Field) protocol.Event {
	ev := protocol.Event{Facility: protocol.FacUser, Severity: protocol.SevInfo, Fields: make(map[string]string, len(fields))}
	var comm, syslogPID string
	for _, f := range fields {
		v := string(f.Value)
		key := f.Name
		for i := 2; ; i++ {
			if _, dup := ev.Fields[key]; !dup {
				if _, dup := ev.Fields[key+".base64"]; !dup {
					break
				}
			}
			key = f.Name + "." + strconv.Itoa(i)
		}
		if utf8.ValidString(v) {
			ev.Fields[key] = v
		} else {
			ev.Fields[key+".base64"] = base64.StdEncoding.EncodeToString(f.Value)
		}
		if key != f.Name {
			continue // the event's own fields take the first value
		}
		switch f.Name {
		case "MESSAGE":
			ev.Message = strings.ToValidUTF8(v, "\uFFFD")
		case "PRIORITY":
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 7 {
				ev.Severity = protocol.Severity(n)
			}
		case "SYSLOG_FACILITY":
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 23 {
				ev.Facility = protocol.Facility(n)
			}
		case "SYSLOG_IDENTIFIER":
			ev.App = v
		case "_COMM":
			comm = v
		case "_HOSTNAME":
			ev.Host = v
		case "_PID":
			ev.ProcID = v
		case "SYSLOG_PID":
			syslogPID = v
		case "__REALTIME_TIMESTAMP":
			if us, err := strconv.ParseInt(v, 10, 64); err == nil && us > 0 {
				ev.Time = time.UnixMicro(us).UTC()
			}
		}
	}
	if ev.App == "" {
		ev.App = comm
	}
	if ev.ProcID == "" {
		ev.ProcID = syslogPID
	}
	// the event's own fields are not repeated in Fields (text values only:
	// a binary MESSAGE keeps its exact bytes in MESSAGE.base64)
	for _, k := range []string{"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "_HOSTNAME", "_PID", "__REALTIME_TIMESTAMP"} {
		delete(ev.Fields, k)
	}
	return ev
}

func inBatch(ns []uint64, n uint64) bool {
	if len(ns) == 0 || ns[len(ns)-1] < n { // entries come in order
		return false
	}
	for _, x := range ns {
		if x == n {
			return true
		}
	}
	return false
}
