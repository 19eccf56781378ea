package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"

	"logpacker/protocol"
)

// Column names. host and app come first: they are the stream fields (rows of
// one host and app share blocks, which compress best and which a host or
// app condition finds through the stream index).
const (
	colHost      = "host"
	colApp       = "app"
	colMsg       = "_msg"
	colTime      = "_time" // the received time
	colNode      = "node"  // the event ID's origin
	colSeq       = "seq"   // the event ID's sequence number
	colSeverity  = "severity"
	colFacility  = "facility"
	colEvTime    = "time" // the message's own time: received minus it, in ns (a number the engine stores compactly, not words)
	colEvTZ      = "tz"   // the message time's zone offset, seconds east of UTC (absent: UTC)
	colProcID    = "procid"
	colMsgID     = "msgid"
	colSD        = "sd"   // JSON
	colTags      = "tags" // JSON array
	colTransport = "transport"
	colPeer      = "peer"
	colHops      = "hops"
	colCount     = "count"
	colParseErr  = "parse_error"
	colLPAt      = "lp_at"  // relayed events: the origin of this node's WAL
	colLPWal     = "lp_wal" // relayed events: their index in this node's WAL
	fieldPrefix  = "fields."
)

// rowBuilder turns events into the engine's fields, reusing its buffers.
type rowBuilder struct {
	fields []logstorage.Field
}

// build fills b.fields with e's columns and returns its timestamp (received,
// unix ns). origin and wi are this node's WAL origin and e's index in it
// (0: unknown); an event whose ID is not (origin, wi) records them, for the
// replay check.
func (b *rowBuilder) build(e *protocol.Event, origin string, wi uint64) int64 {
	b.fields = b.fields[:0]
	add := func(name, value string) {
		if value != "" {
			b.fields = append(b.fields, logstorage.Field{Name: name, Value: value})
		}
	}
	num := func(name string, v uint64) {
		add(name, strconv.FormatUint(v, 10))
	}
	b.fields = append(b.fields, logstorage.Field{Name: colHost, Value: e.Host}, logstorage.Field{Name: colApp, Value: e.App})
	add(colMsg, e.Message)
	add(colNode, e.ID.Node)
	num(colSeq, e.ID.Seq)
	num(colSeverity, uint64(e.Severity))
	num(colFacility, uint64(e.Facility))
	if !e.Time.IsZero() {
		add(colEvTime, strconv.FormatInt(e.Received.UnixNano()-e.Time.UnixNano(), 10))
		if _, off := e.Time.Zone(); off != 0 {
			add(colEvTZ, strconv.Itoa(off))
		}
	}
	add(colProcID, e.ProcID)
	add(colMsgID, e.MsgID)
	if len(e.SD) > 0 {
		js, _ := json.Marshal(e.SD)
		add(colSD, string(js))
	}
	if len(e.Tags) > 0 {
		js, _ := json.Marshal(e.Tags)
		add(colTags, string(js))
	}
	add(colTransport, e.Transport)
	add(colPeer, e.Peer)
	if e.Hops > 0 {
		num(colHops, uint64(e.Hops))
	}
	if e.Count > 1 {
		num(colCount, uint64(e.Count))
	}
	add(colParseErr, e.ParseErr)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			add(fieldPrefix+k, e.Fields[k])
		}
	}
	if wi != 0 && origin != "" && (e.ID.Node != origin || e.ID.Seq != wi) {
		add(colLPAt, origin)
		num(colLPWal, wi)
	}
	ts := e.Received.UnixNano()
	if e.Received.IsZero() {
		ts = e.Time.UnixNano()
	}
	return ts
}

// eventOf rebuilds an event from a row's columns (_time as the engine
// prints it).
func eventOf(row []logstorage.Field) (protocol.Event, error) {
	get := func(name string) string {
		for _, f := range row {
			if f.Name == name {
				return f.Value
			}
		}
		return ""
	}
	var e protocol.Event
	for _, f := range row {
		if k, ok := strings.CutPrefix(f.Name, fieldPrefix); ok && f.Value != "" {
			if e.Fields == nil {
				e.Fields = map[string]string{}
			}
			e.Fields[k] = f.Value
		}
	}
	if t := get(colTime); t != "" {
		rt, err := time.Parse(time.RFC3339Nano, t)
		if err != nil {
			return e, err
		}
		e.Received = rt
	}
	e.Host, e.App, e.Message = get(colHost), get(colApp), get(colMsg)
	e.ID.Node = get(colNode)
	e.ID.Seq, _ = strconv.ParseUint(get(colSeq), 10, 64)
	sev, _ := strconv.ParseUint(get(colSeverity), 10, 8)
	fac, _ := strconv.ParseUint(get(colFacility), 10, 8)
	e.Severity, e.Facility = protocol.Severity(sev), protocol.Facility(fac)
	if t := get(colEvTime); t != "" {
		d, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return e, fmt.Errorf("time %q: %w", t, err)
		}
		off, _ := strconv.Atoi(get(colEvTZ))
		loc := time.UTC
		if off != 0 {
			loc = time.FixedZone("", off)
		}
		e.Time = time.Unix(0, e.Received.UnixNano()-d).In(loc)
	}
	e.ProcID, e.MsgID = get(colProcID), get(colMsgID)
	if v := get(colSD); v != "" {
		if err := json.Unmarshal([]byte(v), &e.SD); err != nil {
			return e, err
		}
	}
	if v := get(colTags); v != "" {
		if err := json.Unmarshal([]byte(v), &e.Tags); err != nil {
			return e, err
		}
	}
	e.Transport, e.Peer, e.ParseErr = get(colTransport), get(colPeer), get(colParseErr)
	hops, _ := strconv.ParseUint(get(colHops), 10, 8)
	cnt, _ := strconv.ParseUint(get(colCount), 10, 32)
	e.Hops, e.Count = uint8(hops), uint32(cnt)
	return e, nil
}
