package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"logpacker/protocol"
	"logpacker/protocol/wire"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	Upstreams  []string    // parents, host:port, tried in order
	TLS        *tls.Config // node certificate and the cluster CA (RootCAs)
	NodeID     string      // must be the certificate's subject
	Compress   bool        // zstd BATCH data
	AckTimeout time.Duration
	Logger     *slog.Logger
}

// Client is the child's end of a node link: an output (appliance.Sink).
// Write sends one BATCH and returns once the parent ACKed it, that is once
// the events are durable in the parent's WAL. A link that fails is dropped
// and Write returns an error: the output loop retries the same events, which
// the next Write sends on a new link, to the next parent in the list.
// Events keep their IDs, so a batch the parent stored before its ACK was lost
// lands again under the same IDs (storage is keyed on them).
//
// One batch is in flight per link: the output loop prepares the next batch
// while this one waits for its ACK. A window of several is future work.
type Client struct {
	o   ClientOptions
	log *slog.Logger

	mu   sync.Mutex
	conn *quic.Conn
	st   *quic.Stream
	r    *wire.Reader
	seq  uint64
	next int // upstream to try next
	enc  *wire.BatchEncoder
	recs [][]byte
	raw  []byte
	out  []byte
	data []byte
}

// PermanentError is a batch the parent refused for good (it does not decode):
// the output loop dead-letters it.
type PermanentError struct{ error }

// Permanent reports true.
func (PermanentError) Permanent() bool { return true }

// NewClient returns a client; it connects on the first Write.
func NewClient(o ClientOptions) (*Client, error) {
	if len(o.Upstreams) == 0 {
		return nil, errors.New("relay: no upstream")
	}
	if o.TLS == nil {
		return nil, errors.New("relay: client needs TLS (a node certificate and the cluster CA)")
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	enc, err := wire.NewBatchEncoder(o.Compress)
	if err != nil {
		return nil, err
	}
	return &Client{o: o, log: o.Logger.With("output", "relay"), enc: enc}, nil
}

// connect opens a link to the next upstream that answers (caller holds mu).
func (c *Client) connect(ctx context.Context) error {
	var errs []error
	for range c.o.Upstreams {
		addr := c.o.Upstreams[c.next%len(c.o.Upstreams)]
		c.next++
		err := c.dial(ctx, addr)
		if err == nil {
			return nil
		}
		c.log.Warn("relay: upstream unavailable", "upstream", addr, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return fmt.Errorf("relay: no upstream reachable: %w", errors.Join(errs...))
}

func (c *Client) dial(ctx context.Context, addr string) error {
	tc := c.o.TLS.Clone()
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
	if _, err := st.Write(wire.AppendFrame(nil, &wire.Hello{Version: wire.Version, Node: c.o.NodeID, Caps: caps, Window: 1})); err != nil {
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
	switch f := f.(type) {
	case *wire.Welcome:
		c.log.Info("relay: link up", "upstream", addr, "parent", f.Node)
	case *wire.Error:
		conn.CloseWithError(0, "")
		return fmt.Errorf("refused: %s (code %d)", f.Reason, f.Code)
	default:
		conn.CloseWithError(0, "")
		return fmt.Errorf("unexpected %s", f.Type())
	}
	c.conn, c.st, c.r, c.seq = conn, st, r, 0
	return nil
}

func (c *Client) drop() {
	if c.conn != nil {
		c.conn.CloseWithError(0, "")
	}
	c.conn, c.st, c.r = nil, nil, nil
}

// Write sends evs as one BATCH and waits for its ACK.
func (c *Client) Write(ctx context.Context, evs []protocol.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		if err := c.connect(ctx); err != nil {
			return err
		}
	}
	c.recs, c.raw = c.recs[:0], c.raw[:0]
	for i := range evs {
		start := len(c.raw)
		c.raw = evs[i].AppendBinary(c.raw)
		c.recs = append(c.recs, c.raw[start:])
	}
	c.seq++
	b, err := c.enc.Encode(c.seq, c.recs, c.data)
	if err != nil {
		return PermanentError{err}
	}
	c.data = b.Data
	c.out = wire.AppendFrame(c.out[:0], b)
	if _, err := c.st.Write(c.out); err != nil {
		c.drop()
		return fmt.Errorf("relay: send: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { c.st.SetReadDeadline(time.Now()) })
	defer stop()
	c.st.SetReadDeadline(time.Now().Add(c.o.AckTimeout))
	for {
		f, err := c.r.Next()
		if err != nil {
			c.drop()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("relay: waiting for ACK %d: %w", c.seq, err)
		}
		switch f := f.(type) {
		case *wire.Ack:
			if f.Seq >= c.seq {
				return nil
			}
		case *wire.Error:
			if f.Seq == c.seq && f.Code == wire.ErrBadBatch {
				return PermanentError{fmt.Errorf("relay: parent refused batch: %s", f.Reason)}
			}
			c.drop()
			return fmt.Errorf("relay: parent closed the link: %s (code %d)", f.Reason, f.Code)
		case *wire.Ping:
			c.st.Write(wire.AppendFrame(nil, &wire.Pong{Nonce: f.Nonce}))
		}
	}
}

// Close closes the link.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop()
	return nil
}
