package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"logpacker/protocol"
	"logpacker/protocol/wire"
)

// EmitFunc stores events durably (the node's ingest path); nil means durable.
type EmitFunc = func(context.Context, []protocol.Event) error

// ServerOptions configure a Server.
type ServerOptions struct {
	Addr   string      // UDP address to listen on
	TLS    *tls.Config // certificate, ClientCAs and ClientAuth; ALPN is set here
	NodeID string      // sent in WELCOME
	Seen   *Seen       // if set: events already stored are dropped, not appended again
	// EmitRecords, if set, stores batches as they arrive (events in their
	// binary form, hops counted), without decoding and encoding them again;
	// it has emit's contract. Without it, events are decoded and given to emit.
	EmitRecords func(ctx context.Context, recs [][]byte) error
	// Members, if set, is this node's cluster view (each member's relay
	// address and load; see the Attr* keys): sent in WELCOME and again every
	// StatusInterval (default 2 s) while it changes, so children can balance.
	Members        func() []wire.Member
	StatusInterval time.Duration
	Logger         *slog.Logger
}

// ServerStats count what a Server saw.
type ServerStats struct {
	Links, Refused, Batches, Events, BadFrames, BadBatches, Duplicates atomic.Uint64
	// WireBytes is the BATCH data received as sent (compressed when the link
	// compresses); RecordBytes is the same batches' encoded events, uncompressed.
	WireBytes, RecordBytes atomic.Uint64
	// ColumnBatches counts the batches that came as wire.CodecColumns.
	ColumnBatches atomic.Uint64
}

// Server is the parent's end of node links: an input. It accepts QUIC
// connections, checks the peer's certificate (mutual TLS), answers HELLO with
// WELCOME, and for every BATCH stores its events (IDs kept, hops + 1) through
// emit before it ACKs.
type Server struct {
	o     ServerOptions
	ln    *quic.Listener
	log   *slog.Logger
	Stats ServerStats
	wg    sync.WaitGroup
}

func quicConfig() *quic.Config {
	// A parent killed without a word (SIGKILL, power) is noticed by the idle
	// timeout: keep-alives every 2 s, gone after 6 s of silence.
	return &quic.Config{MaxIdleTimeout: 6 * time.Second, KeepAlivePeriod: 2 * time.Second,
		HandshakeIdleTimeout: 3 * time.Second, MaxIncomingStreams: 4, MaxIncomingUniStreams: -1}
}

// Listen binds the server's address.
func Listen(o ServerOptions) (*Server, error) {
	if o.TLS == nil {
		return nil, errors.New("relay: server needs TLS (a node certificate and the cluster CA)")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.TLS.ClientCAs == nil {
		return nil, errors.New("relay: server TLS needs ClientCAs (the cluster CA): links are mutual TLS")
	}
	s := &Server{o: o, log: o.Logger.With("listener", "relay")}
	tc := o.TLS.Clone()
	tc.NextProtos = []string{wire.ALPN}
	tc.MinVersion = tls.VersionTLS13
	// Verify the client's certificate ourselves, so that a refusal is logged
	// and counted (crypto/tls would only fail the handshake).
	tc.ClientAuth = tls.RequestClientCert // required by VerifyPeerCertificate below, which also sees "none"
	tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
		err := verifyClient(raw, o.TLS.ClientCAs)
		if err != nil {
			s.Stats.Refused.Add(1)
			s.log.Warn("relay link refused: client certificate", "err", err)
		}
		return err
	}
	ln, err := quic.ListenAddr(o.Addr, tc, quicConfig())
	if err != nil {
		return nil, fmt.Errorf("relay: listen %s: %w", o.Addr, err)
	}
	s.ln = ln
	return s, nil
}

// verifyClient checks a client's certificate chain against the cluster CA.
func verifyClient(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("unparsable certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run accepts links until ctx ends, then closes them and waits.
func (s *Server) Run(ctx context.Context, emit EmitFunc) error {
	defer s.wg.Wait()
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		conn, err := s.ln.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("relay: accept: %w", err)
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(ctx, conn, emit)
		}()
	}
}

// Close stops listening (Run returns once ctx ends).
func (s *Server) Close() error { return s.ln.Close() }

func (s *Server) serve(ctx context.Context, conn *quic.Conn, emit EmitFunc) {
	peer := conn.RemoteAddr().String()
	log := s.log.With("peer", peer)
	cs := conn.ConnectionState().TLS
	if len(cs.PeerCertificates) == 0 {
		// RequireAndVerifyClientCert makes the handshake fail first; this is
		// for configurations that only request one.
		s.Stats.Refused.Add(1)
		log.Warn("relay link refused: no client certificate")
		conn.CloseWithError(1, "client certificate required")
		return
	}
	cert := cs.PeerCertificates[0].Subject.CommonName
	st, err := conn.AcceptStream(ctx)
	if err != nil {
		conn.CloseWithError(0, "")
		return
	}
	defer conn.CloseWithError(0, "")
	stop := context.AfterFunc(ctx, func() { conn.CloseWithError(0, "shutting down") })
	defer stop()
	r := wire.NewReader(st, 0)
	var out []byte
	var sendMu sync.Mutex // the reader (PONG, ERROR) and the storer (ACK, ERROR) both answer
	send := func(f wire.Frame) error {
		sendMu.Lock()
		defer sendMu.Unlock()
		out = wire.AppendFrame(out[:0], f)
		_, err := st.Write(out)
		return err
	}
	fail := func(seq uint64, code wire.ErrCode, reason string) {
		send(&wire.Error{Seq: seq, Code: code, Reason: reason})
		st.Close()
		// Let the ERROR reach the peer before the connection goes: wait for
		// the peer to close (it does on an ERROR), at most a second.
		select {
		case <-conn.Context().Done():
		case <-time.After(time.Second):
		}
	}
	f, err := r.Next()
	hello, ok := f.(*wire.Hello)
	if err != nil || !ok {
		s.Stats.BadFrames.Add(1)
		log.Warn("relay link: no HELLO", "err", err)
		fail(0, wire.ErrBadFrame, "expected HELLO")
		return
	}
	if hello.Version < 1 {
		fail(0, wire.ErrVersion, "unsupported version")
		return
	}
	if hello.Node != cert {
		// The certificate names the node: a node cannot speak for another.
		s.Stats.Refused.Add(1)
		log.Warn("relay link refused: HELLO node differs from the certificate", "hello", hello.Node, "cert", cert)
		fail(0, wire.ErrUnauthorized, "node ID does not match the certificate")
		return
	}
	welcome := &wire.Welcome{Version: min(hello.Version, wire.Version), Node: s.o.NodeID}
	if s.o.Members != nil {
		welcome.Members = s.o.Members()
	}
	if err := send(welcome); err != nil {
		return
	}
	if s.o.Members != nil {
		go s.status(conn, welcome, send)
	}
	s.Stats.Links.Add(1)
	log = log.With("node", hello.Node)
	log.Info("relay link up")
	dec, err := wire.NewBatchDecoder()
	if err != nil {
		fail(0, wire.ErrUnavailable, "internal error")
		return
	}
	// Two stages per link, so batches in flight overlap: this goroutine
	// reads and decodes (decompression is CPU), the storer appends and ACKs.
	// Batches already decoded when the storer gets to them are stored with
	// one emit (one WAL group commit, one journal sync) and one ACK.
	work := make(chan *linkBatch, linkQueue)
	free := make(chan *linkBatch, linkQueue+1)
	for range linkQueue + 1 {
		free <- &linkBatch{}
	}
	storerDone := make(chan struct{})
	go func() {
		defer close(storerDone)
		s.storeLink(ctx, emit, log, work, free, send, func(seq uint64, code wire.ErrCode, reason string) {
			fail(seq, code, reason)
			conn.CloseWithError(0, "") // and the reader stops
		})
	}()
	defer func() {
		close(work)
		<-storerDone
	}()
	var recs [][]byte
	for {
		f, err := r.Next()
		if err != nil {
			var fe *wire.FrameError
			if errors.As(err, &fe) {
				s.Stats.BadFrames.Add(1)
				log.Warn("relay link: bad frame; closing", "err", err)
				fail(0, wire.ErrBadFrame, fe.Reason)
			} else if !errors.Is(err, io.EOF) && ctx.Err() == nil {
				log.Info("relay link down", "err", err)
			}
			return
		}
		switch f := f.(type) {
		case *wire.Batch:
			var b *linkBatch
			select {
			case b = <-free:
			case <-conn.Context().Done():
				return
			}
			b.seq, b.bad = f.Seq, nil
			recs, err = dec.Records(f, recs)
			if err == nil {
				err = b.take(recs, time.Now().UTC())
			}
			if err != nil {
				s.Stats.BadBatches.Add(1)
				log.Warn("relay: batch refused", "seq", f.Seq, "err", err)
				b.bad = err
			} else {
				s.Stats.WireBytes.Add(uint64(len(f.Data)))
				s.Stats.RecordBytes.Add(uint64(len(b.buf)))
				if f.Codec == wire.CodecColumns {
					s.Stats.ColumnBatches.Add(1)
				}
			}
			work <- b
		case *wire.Ping:
			if send(&wire.Pong{Nonce: f.Nonce}) != nil {
				return
			}
		case *wire.Pong, *wire.Ack:
		default:
			s.Stats.BadFrames.Add(1)
			fail(0, wire.ErrBadFrame, "unexpected "+f.Type().String())
			return
		}
	}
}

// status sends WELCOME again with the cluster view whenever it changed,
// checked every StatusInterval, until the link ends.
func (s *Server) status(conn *quic.Conn, last *wire.Welcome, send func(wire.Frame) error) {
	every := s.o.StatusInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-conn.Context().Done():
			return
		case <-t.C:
		}
		w := &wire.Welcome{Version: last.Version, Node: last.Node, Members: s.o.Members()}
		if slices.EqualFunc(w.Members, last.Members, func(a, b wire.Member) bool {
			return a.Node == b.Node && a.Addr == b.Addr && slices.Equal(a.Attrs, b.Attrs)
		}) {
			continue
		}
		if send(w) != nil {
			return
		}
		last = w
	}
}

// linkQueue is how many decoded batches of one link may wait for the storer.
const linkQueue = 8

// maxCoalesce bounds the events of the batches stored with one emit.
const maxCoalesce = 16384

// linkBatch is one decoded BATCH on its way from a link's reader to its
// storer: its records (copied out of the decoder, hops counted) and their IDs.
type linkBatch struct {
	seq  uint64
	buf  []byte
	recs [][]byte
	ids  []protocol.ID
	ends []int
	bad  error // refused: answered with ERROR(seq, ErrBadBatch)
}

// take checks every record of a batch (each must decode, with its ID) and
// keeps a copy of them with one more hop: all or nothing.
func (b *linkBatch) take(recs [][]byte, now time.Time) error {
	b.buf, b.recs, b.ids, b.ends = b.buf[:0], b.recs[:0], b.ids[:0], b.ends[:0]
	var ev protocol.Event
	node := "" // the origin's name, copied once: batches mostly have one
	for i, r := range recs {
		if err := ev.UnmarshalBinaryShared(r); err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		if ev.ID.Node == "" || ev.ID.Seq == 0 {
			return fmt.Errorf("event %d has no ID", i)
		}
		if ev.ID.Node != node {
			node = strings.Clone(ev.ID.Node) // r is the decoder's buffer
		}
		b.ids = append(b.ids, protocol.ID{Node: node, Seq: ev.ID.Seq})
		if ev.Hops < 255 {
			ev.Hops++
		}
		if ev.Received.IsZero() {
			// a sender that did not stamp it: the first node that stores it does
			ev.Received = now
			b.buf = ev.AppendBinary(b.buf)
		} else {
			start := len(b.buf)
			b.buf = append(b.buf, r...)
			b.buf[start+hopsAt] = ev.Hops
		}
		b.ends = append(b.ends, len(b.buf))
	}
	start := 0
	for _, end := range b.ends {
		b.recs = append(b.recs, b.buf[start:end:end])
		start = end
	}
	return nil
}

// hopsAt is the offset of the hop count in an event's binary form.
const hopsAt = 4

// storeLink stores the link's batches in order and answers each: the
// batches waiting when it gets to them are stored together and ACKed with
// the highest seq (ACKs are cumulative); a refused batch ends the group and
// gets its ERROR in order.
func (s *Server) storeLink(ctx context.Context, emit EmitFunc, log *slog.Logger, work <-chan *linkBatch,
	free chan<- *linkBatch, send func(wire.Frame) error, fail func(uint64, wire.ErrCode, string)) {
	var g recGroup
	var held []*linkBatch
	broken := false
	for b := range work {
		if broken { // the link is closing: drain without storing
			free <- b
			continue
		}
		if b.bad != nil {
			if send(&wire.Error{Seq: b.seq, Code: wire.ErrBadBatch, Reason: b.bad.Error()}) != nil {
				broken = true
			}
			free <- b
			continue
		}
		held = append(held[:0], b)
		g.reset()
		g.add(b)
	gather:
		for len(g.recs) < maxCoalesce {
			select {
			case nb, ok := <-work:
				if !ok {
					break gather
				}
				held = append(held, nb)
				if nb.bad != nil {
					break gather // answered after the group
				}
				g.add(nb)
			default:
				break gather
			}
		}
		var last *linkBatch
		if l := held[len(held)-1]; l.bad != nil {
			last, held = l, held[:len(held)-1]
		}
		stored, err := s.store(ctx, emit, &g)
		if err != nil {
			log.Error("relay: cannot store batch; closing link", "seq", held[0].seq, "err", err)
			fail(0, wire.ErrUnavailable, "cannot store")
			broken = true
		} else {
			s.Stats.Batches.Add(uint64(len(held)))
			s.Stats.Events.Add(uint64(stored))
			s.Stats.Duplicates.Add(uint64(len(g.recs) - stored))
			if send(&wire.Ack{Seq: held[len(held)-1].seq}) != nil {
				broken = true
			}
		}
		for _, h := range held {
			free <- h
		}
		if last != nil {
			if !broken && send(&wire.Error{Seq: last.seq, Code: wire.ErrBadBatch, Reason: last.bad.Error()}) != nil {
				broken = true
			}
			free <- last
		}
	}
}

// recGroup is the records of the batches stored together.
type recGroup struct {
	recs   [][]byte
	ids    []protocol.ID
	fresh  []int
	frecs  [][]byte
	fids   []protocol.ID
	evs    []protocol.Event
	origin []string
}

func (g *recGroup) reset() {
	clear(g.evs)
	g.recs, g.ids, g.evs = g.recs[:0], g.ids[:0], g.evs[:0]
}

func (g *recGroup) add(b *linkBatch) {
	g.recs = append(g.recs, b.recs...)
	g.ids = append(g.ids, b.ids...)
}

// store appends the group's events that are not in Seen yet (all of them
// without a Seen) and marks them, holding their origins' locks throughout, so
// a batch that arrives twice (a resend after a lost ACK, on this link or
// another) is stored once. It returns how many events were new.
func (s *Server) store(ctx context.Context, emit EmitFunc, g *recGroup) (int, error) {
	seen := s.o.Seen
	if seen == nil {
		return len(g.recs), s.emit(ctx, emit, g, g.recs)
	}
	g.origin = g.origin[:0]
	for _, id := range g.ids {
		if !slices.Contains(g.origin, id.Node) {
			g.origin = append(g.origin, id.Node)
		}
	}
	unlock := seen.Lock(g.origin)
	defer unlock()
	g.fresh = seen.Fresh(g.fresh[:0], g.ids)
	if len(g.fresh) == 0 {
		return 0, nil
	}
	recs, ids := g.recs, g.ids
	if len(g.fresh) < len(g.recs) {
		g.frecs, g.fids = g.frecs[:0], g.fids[:0]
		for _, i := range g.fresh {
			g.frecs = append(g.frecs, g.recs[i])
			g.fids = append(g.fids, g.ids[i])
		}
		recs, ids = g.frecs, g.fids
	}
	if err := s.emit(ctx, emit, g, recs); err != nil {
		return 0, err
	}
	if err := seen.Mark(ids); err != nil {
		return 0, err
	}
	return len(recs), nil
}

// emit stores recs through EmitRecords, or decoded through emit.
func (s *Server) emit(ctx context.Context, emit EmitFunc, g *recGroup, recs [][]byte) error {
	if s.o.EmitRecords != nil {
		return s.o.EmitRecords(ctx, recs)
	}
	g.evs = g.evs[:0]
	for _, r := range recs {
		var ev protocol.Event
		if err := ev.UnmarshalBinary(r); err != nil { // checked when the batch arrived
			return err
		}
		g.evs = append(g.evs, ev)
	}
	return emit(ctx, g.evs)
}
