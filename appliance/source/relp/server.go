package relp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	ssyslog "logpacker/appliance/source/syslog"
	"logpacker/protocol"
	psyslog "logpacker/protocol/syslog"
)

// EmitFunc hands a batch to the node's ingest path; nil means durable (in
// the WAL, fsynced under the node's policy). It must not keep evs.
type EmitFunc = func(context.Context, []protocol.Event) error

// Options configure a RELP listener.
type Options struct {
	Name        string          // listener name in metrics and logs; default "relp"
	Addr        string          // host:port to listen on
	Parse       psyslog.Options // syslog parser: max message size (longer ones are truncated once), zone
	MaxData     int             // largest frame DATA accepted; default DefaultMaxData (128 KiB)
	BatchSize   int             // messages per emit at most; default 512
	MaxConns    int             // default 4096; further connections are closed at once (counted)
	IdleTimeout time.Duration   // close a connection idle this long (serverclose first); 0 never
	Software    string          // our relp_software offer; default "logpacker"
	Metrics     *ssyslog.Metrics
	Logger      *slog.Logger
	// Listener, when set, is a socket listening already (socket activation:
	// systemd passed it); Addr is unused.
	Listener net.Listener
}

// Stats are the RELP-specific counters of a listener (the message counters
// are in Options.Metrics, shared with the syslog listeners).
type Stats struct {
	Frames        atomic.Uint64 // frames read (every command)
	BadFrames     atomic.Uint64 // malformed frames and protocol violations (each closes its connection)
	Oversized     atomic.Uint64 // frames refused because DATALEN > MaxData (also in BadFrames)
	Acked         atomic.Uint64 // syslog transactions answered "200 OK" (after the WAL took them)
	UnackedCloses atomic.Uint64 // connections closed with messages unacknowledged because the WAL refused them
}

// writeTimeout bounds a write of responses: a client that stops reading its
// acknowledgements for this long loses its connection (and resends).
const writeTimeout = 60 * time.Second

// Server is a listening RELP source.
type Server struct {
	o     Options
	ln    net.Listener
	Stats Stats
}

// Listen binds the address now, so a bad or busy port is reported at start.
func Listen(o Options) (*Server, error) {
	if o.Name == "" {
		o.Name = "relp"
	}
	if o.MaxData <= 0 {
		o.MaxData = DefaultMaxData
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 4096
	}
	if o.Software == "" {
		o.Software = "logpacker"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = ssyslog.NewMetricVecs(prometheus.NewRegistry()).Listener(o.Name)
	}
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			return nil, fmt.Errorf("source/relp: %s: listen %s: %w", o.Name, o.Addr, err)
		}
	}
	return &Server{o: o, ln: ln}, nil
}

// Addr is the bound address (useful with port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close closes the listener without serving (used when the node fails to
// start after binding).
func (s *Server) Close() error { return s.ln.Close() }

// Run accepts connections until ctx ends. Then it stops accepting and
// reading; each connection stores and acknowledges what it already read,
// sends serverclose and closes; Run returns when all have.
func (s *Server) Run(ctx context.Context, emit EmitFunc) error {
	return ssyslog.ServeConns(ctx, ssyslog.ConnLimits{Name: s.o.Name, Listener: s.ln, MaxConns: s.o.MaxConns,
		Metrics: s.o.Metrics, Logger: s.o.Logger}, func(ctx, emitCtx context.Context, c net.Conn) {
		s.newSession(ctx, emitCtx, c, emit).run()
	})
}

// session is one client connection.
type session struct {
	s       *Server
	ctx     context.Context
	emitCtx context.Context
	emit    EmitFunc
	c       net.Conn
	cr      *ssyslog.CountingReader
	r       *Reader
	w       *bufio.Writer
	p       *psyslog.Parser
	peer    string
	log     *slog.Logger

	open    bool
	next    int              // the txnr the next frame must carry
	batch   []protocol.Event // parsed, not yet stored
	pending []int            // txnrs of the syslog frames in batch, in order, not yet acknowledged
	out     []byte           // responses being built

	received, parsed, parseErrors, truncated, empty, frames int
}

func (s *Server) newSession(ctx, emitCtx context.Context, c net.Conn, emit EmitFunc) *session {
	peer := c.RemoteAddr().String()
	cr := ssyslog.NewCountingReader(ctx, c, c, s.o.IdleTimeout)
	return &session{
		s: s, ctx: ctx, emitCtx: emitCtx, emit: emit, c: c, cr: cr,
		r: NewReader(cr, s.o.MaxData), w: bufio.NewWriterSize(c, 16<<10),
		p: psyslog.NewParser(s.o.Parse), peer: peer,
		log:  s.o.Logger.With("listener", s.o.Name, "peer", peer),
		next: 1, batch: make([]protocol.Event, 0, s.o.BatchSize),
	}
}

// run serves the connection until the client closes it, breaks the
// protocol, the WAL refuses a batch, or the node shuts down.
func (ss *session) run() {
	for {
		f, err := ss.r.Next()
		if err != nil {
			ss.readFailed(err)
			return
		}
		ss.frames++
		if f.Txnr != ss.next {
			ss.violation(fmt.Sprintf("transaction number %d out of sequence (expected %d)", f.Txnr, ss.next))
			return
		}
		ss.next = nextTxnr(f.Txnr)
		switch f.Command {
		case CmdSyslog:
			if !ss.open {
				ss.violation("syslog before open")
				return
			}
			ss.decode(f.Data)
			ss.pending = append(ss.pending, f.Txnr)
			if len(ss.pending) >= ss.s.o.BatchSize || !ss.r.Ready() {
				// full, or about to block in read: store, then acknowledge
				if !ss.flush() {
					return
				}
			}
		case CmdOpen:
			if !ss.flush() {
				return
			}
			if ss.open {
				// librelp answers a repeated open this way (a harmless client quirk)
				ss.respond(f.Txnr, []byte("200 connection already open - ignored"))
				if !ss.send() {
					return
				}
				continue
			}
			offers, err := ParseOffers(f.Data)
			var rsp []byte
			if err == nil {
				rsp, err = negotiate(offers, ss.s.o.Software)
			}
			if err != nil {
				ss.respond(f.Txnr, fmt.Appendf(nil, "500 %v", err))
				ss.violation("open refused: " + err.Error())
				return
			}
			ss.open = true
			ss.respond(f.Txnr, rsp)
			if !ss.send() {
				return
			}
			ss.log.Debug("RELP session opened", "offers", string(f.Data))
		case CmdClose:
			if !ss.flush() {
				return
			}
			ss.respond(f.Txnr, []byte(rsp200))
			ss.out = AppendServerClose(ss.out)
			ss.send()
			ss.log.Debug("RELP session closed by the client")
			return
		case CmdStartTLS:
			ss.violation("starttls: this listener does not offer TLS")
			return
		default: // rsp, serverclose, abort: never sent by a client
			ss.violation(fmt.Sprintf("command %q is not accepted from a client", f.Command))
			return
		}
	}
}

// decode parses one syslog message into the batch, as the syslog
// listeners do: never dropped (unparseable input is kept raw with
// parse_error set), truncated once to the parser's maximum and tagged.
func (ss *session) decode(msg []byte) {
	if len(msg) == 0 {
		ss.empty++
		return
	}
	ss.batch = append(ss.batch, protocol.Event{Peer: ss.peer, Transport: "relp"})
	ev := &ss.batch[len(ss.batch)-1]
	truncated := ss.p.Parse(msg, ev)
	ss.received++
	if ev.ParseErr != "" {
		ss.parseErrors++
	} else {
		ss.parsed++
	}
	if truncated {
		ss.truncated++
		ev.Tags = append(ev.Tags, ssyslog.TruncatedTag)
	}
}

// flush stores the batch (emit returns once it is durable), then
// acknowledges every pending transaction in order. It reports whether the
// session can go on. If the WAL refuses the batch, nothing is acknowledged
// and the connection is closed: librelp then reconnects and resends every
// unacknowledged frame. (A "500" response would not do: librelp drops the
// message it answers.)
func (ss *session) flush() bool {
	ss.count()
	if len(ss.pending) == 0 {
		return true
	}
	if len(ss.batch) > 0 {
		if err := ss.emit(ss.emitCtx, ss.batch); err != nil {
			ss.s.Stats.UnackedCloses.Add(1)
			ss.log.Error("cannot store RELP messages; closing the connection without acknowledging them (the client resends them)",
				"err", err, "unacknowledged", len(ss.pending))
			ss.pending = ss.pending[:0]
			ss.batch = ss.batch[:0]
			ss.out = AppendServerClose(ss.out[:0])
			ss.send()
			return false
		}
	}
	for _, t := range ss.pending {
		ss.out = AppendOK(ss.out, t)
	}
	ss.s.Stats.Acked.Add(uint64(len(ss.pending)))
	ss.batch = ss.batch[:0]
	ss.pending = ss.pending[:0]
	return ss.send()
}

// respond queues a response frame.
func (ss *session) respond(txnr int, data []byte) {
	ss.out = AppendFrame(ss.out, txnr, CmdRsp, data)
}

// send writes the queued responses.
func (ss *session) send() bool {
	if len(ss.out) == 0 {
		return true
	}
	ss.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := ss.w.Write(ss.out)
	if err == nil {
		err = ss.w.Flush()
	}
	ss.out = ss.out[:0]
	if err != nil {
		ss.log.Info("cannot write RELP responses; closing the connection", "err", err)
		return false
	}
	return true
}

// count adds the session's counts to the listener's metrics.
func (ss *session) count() {
	m := ss.s.o.Metrics
	if ss.received > 0 {
		m.Received.Add(float64(ss.received))
		m.Parsed.Add(float64(ss.parsed))
		m.ParseErrors.Add(float64(ss.parseErrors))
		m.Truncated.Add(float64(ss.truncated))
		ss.received, ss.parsed, ss.parseErrors, ss.truncated = 0, 0, 0, 0
	}
	if ss.empty > 0 {
		m.Empty.Add(float64(ss.empty))
		ss.empty = 0
	}
	if ss.frames > 0 {
		ss.s.Stats.Frames.Add(uint64(ss.frames))
		ss.frames = 0
	}
	if n := ss.cr.Take(); n > 0 {
		m.Bytes.Add(float64(n))
	}
}

// violation ends the session on a protocol error: what was read before it
// is stored and acknowledged, then the client gets the serverclose hint
// and the connection is closed. Counted and logged.
func (ss *session) violation(reason string) {
	ss.s.Stats.BadFrames.Add(1)
	ss.log.Warn("RELP protocol error; closing the connection", "err", reason, "offset", ss.r.start)
	out := ss.out // a response already queued (a refused open) goes after the acks
	ss.out = nil
	if !ss.flush() {
		return
	}
	ss.out = append(ss.out, out...)
	ss.out = AppendServerClose(ss.out)
	ss.send()
}

// readFailed ends the session after Next failed.
func (ss *session) readFailed(err error) {
	var fe *FrameError
	if errors.As(err, &fe) {
		if errors.Is(err, ErrDataTooLarge) {
			ss.s.Stats.Oversized.Add(1)
		}
		ss.violation(fe.Error())
		return
	}
	// The client closed, the connection broke, it was idle too long, or the
	// node is shutting down: store and acknowledge what was read.
	if !ss.flush() {
		return
	}
	switch {
	case errors.Is(err, io.EOF):
		ss.log.Debug("RELP client closed the connection", "opened", ss.open)
		return
	case ss.ctx.Err() != nil:
		ss.log.Debug("shutting down: closing RELP session")
	case ssyslog.IsTimeout(err):
		ss.log.Info("closing idle RELP connection", "idle_timeout", ss.s.o.IdleTimeout)
	default:
		ss.log.Info("RELP connection ended", "err", err)
		return
	}
	ss.out = AppendServerClose(ss.out)
	ss.send()
}
