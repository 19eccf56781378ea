package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"logpacker/discovery"
	"logpacker/protocol"
	"logpacker/protocol/wire"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	Upstreams  []string      // parents, host:port, tried in order (when Targets is nil)
	Targets    Targets       // where parents come from (discovery); nil: Upstreams
	Balance    Balance       // how the client spreads over its parents' cluster
	TLS        *tls.Config   // node certificate and the cluster CA (RootCAs)
	NodeID     string        // must be the certificate's subject
	Origin     string        // of the IDs SendRecords gives (protocol.Origin: node ID and WAL epoch); "": NodeID
	Compress   bool          // zstd BATCH data
	AckTimeout time.Duration // a batch not ACKed by then fails its link
	Window     int           // batches in flight per link (0: DefaultWindow)
	Logger     *slog.Logger
}

// Client is the child's end of a node link: an output (appliance.Sink and
// appliance.WindowSink). Send hands one BATCH to the link and returns at once;
// the Pending it returns settles when the parent ACKs it (the events are
// durable in the parent's WAL), refuses it (PermanentError), or the link
// fails. Several batches are in flight per link; the output loop keeps up to
// Window of them and commits its cursor to the highest contiguous ACK. Write
// is Send then Wait.
//
// A link that fails is dropped and every batch in flight on it fails with it;
// the next Send dials the best other parent (see candidates and Balance),
// and the output loop sends again what was not ACKed. Events keep their IDs, so a batch stored
// before its ACK was lost lands again under the same IDs (storage is keyed
// on them).
type Client struct {
	o   ClientOptions
	log *slog.Logger

	mu       sync.Mutex // Send: encoder, buffers, link
	l        *link
	cur      atomic.Pointer[link] // l, for Parent (which must not wait for mu)
	draining []*link              // links moved away from, closing once their batches settle
	targets  Targets
	stop     context.CancelFunc // ends refresh
	view     view
	Stats    ClientStats
	enc      *wire.BatchEncoder
	recs     [][]byte
	raw      []byte
	ends     []int
	out      []byte
	data     []byte
}

// link is one QUIC connection and its stream. Its reader goroutine settles
// the batches in flight.
type link struct {
	conn    *quic.Conn
	st      *quic.Stream
	addr    string     // the parent's address as dialled
	node    string     // the parent's node ID (WELCOME)
	member  bool       // chosen from the cluster view (not from Targets)
	expires time.Time  // pick a parent again after this (zero: never)
	recheck time.Time  // a move found nowhere better: do not look again before this
	wmu     sync.Mutex // stream writes (Send, PONG)

	mu       sync.Mutex
	seq      uint64     // last BATCH seq sent
	pend     []*pending // in flight, in seq order
	err      error      // set once the link failed
	draining bool       // the client moved away: close once pend is empty
}

// ClientStats count what a Client did.
type ClientStats struct {
	Dials, DialFailures, Moves atomic.Uint64
}

// pending is one BATCH in flight; done is called once with its outcome.
type pending struct {
	seq   uint64
	done  func(error)
	timer *time.Timer
}

// settle resolves the pending batches with seq ≤ upTo (all when upTo is 0 and
// err is set) — caller holds l.mu.
func (l *link) settleLocked(upTo uint64, err error) {
	n := 0
	for _, p := range l.pend {
		if upTo != 0 && p.seq > upTo {
			break
		}
		p.timer.Stop()
		p.done(err)
		n++
	}
	l.pend = l.pend[n:]
	l.closeIfDrainedLocked()
}

// closeIfDrainedLocked closes a link the client moved away from once nothing
// is in flight on it (caller holds l.mu).
func (l *link) closeIfDrainedLocked() {
	if l.draining && len(l.pend) == 0 && l.err == nil {
		l.err = errors.New("relay: link drained (the client moved to another parent)")
		l.conn.CloseWithError(0, "moved")
	}
}

// fail closes the link and fails every batch in flight; only the first
// error counts.
func (l *link) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
		l.conn.CloseWithError(0, "")
	}
	l.settleLocked(0, l.err)
}

func (l *link) failed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err != nil
}

// PermanentError is a batch the parent refused for good (it does not decode):
// the output loop dead-letters it.
type PermanentError struct{ error }

// Permanent reports true.
func (PermanentError) Permanent() bool { return true }

// DefaultWindow is how many batches a Client keeps in flight when
// ClientOptions.Window is 0.
const DefaultWindow = 4

// NewClient returns a client; it connects on the first Send.
func NewClient(o ClientOptions) (*Client, error) {
	if o.Targets == nil {
		if len(o.Upstreams) == 0 {
			return nil, errors.New("relay: no upstream")
		}
		t, err := discovery.New(strings.Join(o.Upstreams, ","), discovery.Options{})
		if err != nil {
			return nil, fmt.Errorf("relay: upstream: %w", err)
		}
		o.Targets = t
	}
	o.Balance.defaults()
	if o.TLS == nil {
		return nil, errors.New("relay: client needs TLS (a node certificate and the cluster CA)")
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 30 * time.Second
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.Origin == "" {
		o.Origin = o.NodeID
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	enc, err := wire.NewBatchEncoder(o.Compress)
	if err != nil {
		return nil, err
	}
	c := &Client{o: o, log: o.Logger.With("output", "relay"), enc: enc, targets: o.Targets}
	c.view.rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	go c.refresh(ctx)
	return c, nil
}

// refresh asks Targets for its answer every second, off the send path, so
// that a DNS answer is renewed when its TTL runs out (and a target that left
// DNS is noticed: see moveReason) even while a link is up.
func (c *Client) refresh(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.targets.Order(ctx)
		}
	}
}

// Window is how many batches the output loop may keep in flight.
func (c *Client) Window() int { return c.o.Window }

// connect opens a link to the best parent that answers (caller holds mu):
// see candidates. avoid is a parent being left.
func (c *Client) connect(ctx context.Context, avoid string) error {
	cands, err := c.candidates(ctx, avoid)
	if err != nil {
		return fmt.Errorf("relay: no upstream: %w", err)
	}
	var errs []error
	for _, t := range cands {
		c.Stats.Dials.Add(1)
		err := c.dial(ctx, t)
		if err == nil {
			c.view.ok(t.addr)
			return nil
		}
		c.Stats.DialFailures.Add(1)
		c.view.failed(t.addr, c.o.Balance.Retry)
		c.targets.Failed(t.addr)
		c.log.Warn("relay: upstream unavailable", "upstream", t.addr, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", t.addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("relay: no upstream reachable: %w", errors.Join(errs...))
}

func (c *Client) dial(ctx context.Context, t candidate) error {
	addr := t.addr
	tc := c.o.TLS.Clone()
	if tc.ServerName == "" && t.name != "" {
		tc.ServerName = t.name
	}
	tc.NextProtos = []string{wire.ALPN}
	tc.MinVersion = tls.VersionTLS13
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(dctx, addr, tc, quicConfig())
	if err != nil {
		return err
	}
	st, err := conn.OpenStreamSync(dctx)
	if err != nil {
		conn.CloseWithError(0, "")
		return err
	}
	caps := wire.Caps(0)
	if c.o.Compress {
		caps |= wire.CapZstd
	}
	hello := &wire.Hello{Version: wire.Version, Node: c.o.NodeID, Caps: caps, Window: uint32(c.o.Window)}
	if _, err := st.Write(wire.AppendFrame(nil, hello)); err != nil {
		conn.CloseWithError(0, "")
		return err
	}
	r := wire.NewReader(st, 0)
	st.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := r.Next()
	st.SetReadDeadline(time.Time{})
	if err != nil {
		conn.CloseWithError(0, "")
		return err
	}
	var parent string
	switch f := f.(type) {
	case *wire.Welcome:
		parent = f.Node
		c.log.Info("relay: link up", "upstream", addr, "parent", f.Node, "version", f.Version, "members", len(f.Members))
		c.enc.UseColumns(f.Version >= 2)
		if len(f.Members) > 0 {
			c.view.set(f.Node, f.Members)
		}
	case *wire.Error:
		conn.CloseWithError(0, "")
		return fmt.Errorf("refused: %s (code %d)", f.Reason, f.Code)
	default:
		conn.CloseWithError(0, "")
		return fmt.Errorf("unexpected %s", f.Type())
	}
	l := &link{conn: conn, st: st, addr: addr, node: parent, member: t.member}
	l.expires = c.nextPick()
	if !t.member && len(c.view.get()) > 0 {
		// Dialled from the configured list (every child tries the same
		// one first): pick from the cluster view at the next batch, so
		// children spread from the start.
		l.expires = time.Now()
	}
	go l.read(r, func(w *wire.Welcome) {
		l.mu.Lock()
		current := !l.draining && l.err == nil
		l.mu.Unlock()
		if current && len(w.Members) > 0 { // a link being left no longer speaks for the cluster
			c.view.set(w.Node, w.Members)
		}
	})
	c.l = l
	c.cur.Store(l)
	return nil
}

// read settles the link's batches from the parent's frames until the link
// fails.
func (l *link) read(r *wire.Reader, onView func(*wire.Welcome)) {
	for {
		f, err := r.Next()
		if err != nil {
			l.fail(fmt.Errorf("relay: link: %w", err))
			return
		}
		switch f := f.(type) {
		case *wire.Ack:
			l.mu.Lock()
			l.settleLocked(f.Seq, nil)
			l.mu.Unlock()
		case *wire.Error:
			if f.Seq != 0 && f.Code == wire.ErrBadBatch {
				// That batch is settled (refused); an ACK covers the others.
				l.mu.Lock()
				for i, p := range l.pend {
					if p.seq == f.Seq {
						p.timer.Stop()
						p.done(PermanentError{fmt.Errorf("relay: parent refused batch: %s", f.Reason)})
						l.pend = append(l.pend[:i], l.pend[i+1:]...)
						break
					}
				}
				l.closeIfDrainedLocked()
				l.mu.Unlock()
				continue
			}
			l.fail(fmt.Errorf("relay: parent closed the link: %s (code %d)", f.Reason, f.Code))
			return
		case *wire.Welcome:
			onView(f) // a new cluster view
		case *wire.Ping:
			l.wmu.Lock()
			_, err := l.st.Write(wire.AppendFrame(nil, &wire.Pong{Nonce: f.Nonce}))
			l.wmu.Unlock()
			if err != nil {
				l.fail(fmt.Errorf("relay: link: %w", err))
				return
			}
		}
	}
}

// Send encodes evs as one BATCH and sends it on the current link (dialling
// one first if there is none); it keeps nothing of evs. Unless it returns an
// error, done is called exactly once, from another goroutine, when the parent
// ACKs the batch (nil), refuses it (a PermanentError), or the link fails.
// done must not block.
func (c *Client) Send(ctx context.Context, evs []protocol.Event, done func(error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs, c.raw = c.recs[:0], c.raw[:0]
	for i := range evs {
		start := len(c.raw)
		c.raw = evs[i].AppendBinary(c.raw)
		c.recs = append(c.recs, c.raw[start:])
	}
	return c.sendLocked(ctx, done)
}

// Record is an event's binary form (package protocol's encoding) and the WAL
// index it was stored at: what SendRecords forwards.
type Record struct {
	Index uint64
	Data  []byte
}

// SendRecords is Send for events in their binary form, as this node's WAL
// holds them: they are forwarded without being decoded, those without an ID
// given ClientOptions.Origin and their WAL index. Like Send, it keeps nothing of
// recs (nor of their Data) once it returns.
func (c *Client) SendRecords(ctx context.Context, recs []Record, done func(error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs, c.raw = c.recs[:0], c.raw[:0]
	ends := c.ends[:0]
	for _, r := range recs {
		var err error
		if c.raw, err = protocol.AppendRecordWithID(c.raw, r.Data, protocol.ID{Node: c.o.Origin, Seq: r.Index}); err != nil {
			return PermanentError{fmt.Errorf("relay: WAL record %d: %w", r.Index, err)}
		}
		ends = append(ends, len(c.raw))
	}
	start := 0
	for _, end := range ends {
		c.recs = append(c.recs, c.raw[start:end])
		start = end
	}
	c.ends = ends
	return c.sendLocked(ctx, done)
}

// sendLocked sends c.recs as one BATCH (caller holds c.mu).
func (c *Client) sendLocked(ctx context.Context, done func(error)) error {
	avoid := ""
	if c.l != nil && c.l.failed() {
		c.targets.Failed(c.l.addr)
		c.view.failed(c.l.addr, c.o.Balance.Retry)
		c.l = nil
		c.cur.Store(nil)
	}
	if c.l != nil {
		avoid = c.maybeMove(ctx)
	}
	if c.l == nil {
		if err := c.connect(ctx, avoid); err != nil {
			return err
		}
	}
	l := c.l
	l.mu.Lock()
	if l.err != nil {
		err := l.err
		l.mu.Unlock()
		c.l = nil
		return err
	}
	l.seq++
	p := &pending{seq: l.seq, done: done}
	b, err := c.enc.Encode(p.seq, c.recs, c.data)
	if err != nil {
		l.seq--
		l.mu.Unlock()
		return PermanentError{err}
	}
	l.pend = append(l.pend, p)
	p.timer = time.AfterFunc(c.o.AckTimeout, func() {
		l.fail(fmt.Errorf("relay: no ACK for batch %d within %s", p.seq, c.o.AckTimeout))
	})
	l.mu.Unlock()
	c.data = b.Data
	c.out = wire.AppendFrame(c.out[:0], b)
	l.wmu.Lock()
	_, err = l.st.Write(c.out)
	l.wmu.Unlock()
	if err != nil {
		l.fail(fmt.Errorf("relay: send: %w", err))
		c.l = nil
	}
	return nil
}

// nextPick is when a link made now should pick its parent again:
// MaxLinkAge ±25%, or never (zero) when MaxLinkAge is negative. Caller holds
// c.mu.
func (c *Client) nextPick() time.Time {
	age := c.o.Balance.MaxLinkAge
	if age <= 0 {
		return time.Time{}
	}
	return time.Now().Add(age*3/4 + time.Duration(c.view.rand().Int64N(int64(age/2)+1)))
}

// maybeMove leaves the current link when the policy says so (see Balance):
// no new batch goes on it, and it closes once its batches in flight are
// settled, so moving loses nothing and sends nothing twice. It returns the
// parent left ("" if none). Caller holds c.mu.
func (c *Client) maybeMove(ctx context.Context) string {
	l := c.l
	now := time.Now()
	if now.Before(l.recheck) {
		return ""
	}
	why := c.moveReason(l, now)
	if why == "" {
		return ""
	}
	// Move only to a parent that is there: the best candidate must be
	// another one, not down lately. For link age staying is one of the
	// outcomes of the weighted pick; for the other reasons the current
	// parent goes last.
	avoid := l.addr
	if why == "link age" {
		avoid = ""
	}
	cands, err := c.candidates(ctx, avoid)
	if err != nil || len(cands) == 0 || cands[0].addr == l.addr || c.view.isDown(cands[0].addr, now) {
		if why == "link age" {
			l.expires = c.nextPick() // the pick says stay
		} else {
			l.recheck = now.Add(c.o.Balance.Retry) // nowhere better to go: stay, look again later
		}
		return ""
	}
	c.Stats.Moves.Add(1)
	c.log.Info("relay: moving to another parent", "from", l.addr, "parent", l.node, "why", why, "to", cands[0].addr)
	l.mu.Lock()
	l.draining = true
	l.closeIfDrainedLocked()
	l.mu.Unlock()
	c.draining = append(slices.DeleteFunc(c.draining, (*link).failed), l)
	c.l = nil
	c.cur.Store(nil)
	return l.addr
}

// Parent is the current parent's address and node ID ("" when no link is
// up). It does not wait for a Send in progress.
func (c *Client) Parent() (addr, node string) {
	l := c.cur.Load()
	if l == nil || l.failed() {
		return "", ""
	}
	return l.addr, l.node
}

// View is the latest cluster view a parent sent (nil if none did).
func (c *Client) View() []ViewMember { return c.view.get() }

// Write sends evs as one BATCH and waits for its ACK.
func (c *Client) Write(ctx context.Context, evs []protocol.Event) error {
	res := make(chan error, 1)
	if err := c.Send(ctx, evs, func(err error) { res <- err }); err != nil {
		return err
	}
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the link; batches in flight fail.
func (c *Client) Close() error {
	c.stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	closed := errors.New("relay: client closed")
	for _, l := range c.draining {
		l.fail(closed)
	}
	c.draining = nil
	if c.l != nil {
		c.l.fail(closed)
		c.l = nil
		c.cur.Store(nil)
	}
	return nil
}
