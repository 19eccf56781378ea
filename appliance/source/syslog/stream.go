package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"logpacker/protocol"
	psyslog "logpacker/protocol/syslog"
)

// StreamOptions configure a TCP or TLS listener (RFC 6587 framing, octet
// counting or LF detected per frame; RFC 5425 for TLS).
type StreamOptions struct {
	Common
	Addr        string
	TLS         *tls.Config // nil: plain TCP
	MaxConns    int         // default 4096; further connections are closed at once (counted)
	IdleTimeout time.Duration
	// Listener, when set, is a socket listening already (socket activation:
	// systemd passed it); Addr is unused.
	Listener net.Listener
}

// Stream is a listening TCP or TLS syslog source.
type Stream struct {
	o         StreamOptions
	ln        net.Listener
	transport string
}

// ListenStream binds the address now, so a bad or busy port is reported at
// start, before anything else runs.
func ListenStream(o StreamOptions) (*Stream, error) {
	o.defaults()
	if o.MaxConns <= 0 {
		o.MaxConns = 4096
	}
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			return nil, fmt.Errorf("source/syslog: %s: listen %s: %w", o.Name, o.Addr, err)
		}
	}
	s := &Stream{o: o, ln: ln, transport: "tcp"}
	if o.TLS != nil {
		s.transport = "tls"
	}
	return s, nil
}

// Addr is the bound address (useful with port 0).
func (s *Stream) Addr() net.Addr { return s.ln.Addr() }

// Run accepts connections until ctx ends. Then it stops accepting, stops
// reading, waits for every batch already read to be emitted, and returns.
func (s *Stream) Run(ctx context.Context, emit EmitFunc) error {
	return ServeConns(ctx, ConnLimits{Name: s.o.Name, Listener: s.ln, MaxConns: s.o.MaxConns, Metrics: s.o.Metrics,
		Logger: s.o.Logger}, func(ctx, emitCtx context.Context, c net.Conn) { s.serve(ctx, emitCtx, c, emit) })
}

// ConnLimits describe a stream listener for ServeConns.
type ConnLimits struct {
	Name     string
	Listener net.Listener
	MaxConns int
	Metrics  *Metrics
	Logger   *slog.Logger
}

// ServeConns is the accept loop of the stream listeners (syslog TCP/TLS,
// RELP): one goroutine per connection running serve, at most MaxConns at
// once (more are refused, counted and logged), accept errors backed off
// like net/http does. When ctx ends it closes the listener, wakes every
// blocked read (serve sees a deadline error and finishes what it read;
// emitCtx, not cancelled, lets it store that), waits for all and returns.
func ServeConns(ctx context.Context, l ConnLimits, serve func(ctx, emitCtx context.Context, c net.Conn)) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	stop := context.AfterFunc(ctx, func() {
		l.Listener.Close()
		mu.Lock()
		for c := range conns {
			c.SetReadDeadline(time.Now()) // wake blocked reads
		}
		mu.Unlock()
	})
	defer stop()
	// Emits must finish even while we drain after ctx ended; the node bounds
	// the drain with its own shutdown timeout by closing the WAL.
	emitCtx := context.WithoutCancel(ctx)
	var tempDelay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				wg.Wait()
				return nil
			}
			// EMFILE and friends: back off, never spin or exit
			tempDelay = max(5*time.Millisecond, min(2*tempDelay, time.Second))
			l.Logger.Warn("accept failed; retrying", "listener", l.Name, "err", err, "delay", tempDelay)
			time.Sleep(tempDelay)
			continue
		}
		tempDelay = 0
		mu.Lock()
		if len(conns) >= l.MaxConns {
			mu.Unlock()
			l.Metrics.Rejected.Inc()
			l.Logger.Warn("connection refused: max_connections reached", "listener", l.Name,
				"peer", c.RemoteAddr().String(), "max", l.MaxConns)
			c.Close()
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetKeepAlive(true)
		}
		conns[c] = struct{}{}
		mu.Unlock()
		l.Metrics.ConnsTotal.Inc()
		l.Metrics.Conns.Inc()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer l.Metrics.Conns.Dec()
			defer func() {
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				c.Close()
			}()
			if ctx.Err() != nil {
				return
			}
			serve(ctx, emitCtx, c)
		}()
	}
}

// serve reads one connection: frame, parse, batch, emit. TCP has no
// acknowledgements, so durability is back-pressure: while the WAL cannot
// take a batch (it waits for space, or fails and the batch is emitted again,
// see stall.go) we do not read, and the sender's kernel buffers fill. Only
// a permanent refusal (the WAL closed) closes the connection; what was read
// and not stored then is counted as dropped.
func (s *Stream) serve(ctx, emitCtx context.Context, c net.Conn, emit EmitFunc) {
	peer := c.RemoteAddr().String()
	log := s.o.Logger.With("listener", s.o.Name, "peer", peer)
	var r io.Reader = c
	if s.o.TLS != nil {
		tc := tls.Server(c, s.o.TLS)
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			s.o.Metrics.Rejected.Inc()
			log.Warn("TLS handshake failed", "err", err)
			return
		}
		r = tc
	}
	rctx, stopReading := context.WithCancel(ctx) // reads end with ctx, or when the WAL refused for good
	defer stopReading()
	cr := NewCountingReader(rctx, r, c, s.o.IdleTimeout)
	fr := psyslog.NewFramer(cr, s.o.Parse.MaxSize)
	dec := newDecoder(&s.o.Common, s.transport)
	var refused atomic.Bool
	st := newStorer(&s.o.Common, emit, "its TCP/TLS senders are back-pressured, nothing is dropped")
	p := startPipeline(emitCtx, &s.o.Common, st, func(err error) {
		// only a permanent error (the WAL is closed) ends the connection
		refused.Store(true)
		log.Error("cannot store events: the WAL refused them for good; closing the connection", "err", err)
		stopReading()
		c.SetReadDeadline(time.Now())
	})
	batch := make([]protocol.Event, 0, s.o.BatchSize)
	flushCounted := 0
	for {
		frame, info, err := fr.Next()
		if info.Empty {
			s.o.Metrics.Empty.Inc()
		}
		if len(frame) > 0 || (err == nil && !info.Empty) {
			batch = dec.decode(batch, frame, peer, info.Truncated)
		}
		if info.Discarded > 0 && flushCounted < 10 {
			flushCounted++
			log.Warn("message longer than max_message_size truncated", "max", s.o.Parse.MaxSize, "discarded_bytes", info.Discarded)
		}
		if err != nil {
			dec.flush()
			s.o.Metrics.Bytes.Add(float64(cr.Take()))
			if len(batch) > 0 {
				p.send(batch)
			}
			switch {
			case errors.Is(err, io.EOF), ctx.Err() != nil, refused.Load():
			case IsTimeout(err):
				log.Info("closing idle connection", "idle_timeout", s.o.IdleTimeout)
			default:
				log.Info("connection ended", "err", err)
			}
			p.close()
			return
		}
		switch {
		case len(batch) >= s.o.BatchSize || fr.Buffered() == 0:
			// full, or about to block in read: count, hand it over now
			dec.flush()
			s.o.Metrics.Bytes.Add(float64(cr.Take()))
			p.send(batch)
			batch = p.get(s.o.BatchSize)
		case len(batch) > 0 && p.offer(batch):
			dec.flush()
			batch = p.get(s.o.BatchSize)
		}
	}
}

// IsTimeout reports whether err is a network timeout (an idle deadline).
func IsTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// CountingReader counts the bytes read from a connection (for the listener's
// byte counter) and moves its idle deadline before every read; once ctx ends
// it reads nothing more. Stream listeners (syslog TCP/TLS, RELP) share it.
type CountingReader struct {
	ctx  context.Context
	r    io.Reader
	conn net.Conn
	idle time.Duration
	n    int
}

// NewCountingReader reads r (conn, or a layer over it such as TLS); idle 0
// sets no deadline.
func NewCountingReader(ctx context.Context, r io.Reader, conn net.Conn, idle time.Duration) *CountingReader {
	return &CountingReader{ctx: ctx, r: r, conn: conn, idle: idle}
}

func (c *CountingReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, c.ctx.Err() // shutting down: read nothing more
	}
	if c.idle > 0 {
		c.conn.SetReadDeadline(time.Now().Add(c.idle))
		if c.ctx.Err() != nil { // lost a race with shutdown's wake-up
			c.conn.SetReadDeadline(time.Now())
		}
	}
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// Take returns the bytes read since the last Take.
func (c *CountingReader) Take() int {
	n := c.n
	c.n = 0
	return n
}

// Close closes the listener without serving (used when the node fails to
// start after binding).
func (s *Stream) Close() error { return s.ln.Close() }
