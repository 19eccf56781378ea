package syslog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"logpacker/protocol"
)

// DgramOptions configure a UDP listener (one message per datagram, RFC
// 5426) or a unix datagram socket (/dev/log style).
type DgramOptions struct {
	Common
	Network    string // "udp" or "unixgram"
	Addr       string // host:port, or a socket path for unixgram
	ReadBuffer int    // SO_RCVBUF bytes; default 4 MiB
	Readers    int    // UDP: sockets bound with SO_REUSEPORT, one goroutine each; default 2
	// Conn, when set, is a socket bound already (socket activation: systemd
	// passed it): it is read as it is, by one goroutine, Addr, Readers and
	// ReadBuffer unused (its receive buffer is the .socket unit's
	// ReceiveBuffer=), and a unixgram path is not removed at Close.
	Conn net.PacketConn
}

// Dgram is a listening datagram syslog source.
type Dgram struct {
	o     DgramOptions
	conns []net.PacketConn
}

// ListenDgram binds now. UDP binds Readers sockets to the same address with
// SO_REUSEPORT so the kernel spreads datagrams across them; each gets a large
// receive buffer (SO_RCVBUFFORCE when permitted, else SO_RCVBUF, with a
// warning when net.core.rmem_max caps it).
func ListenDgram(o DgramOptions) (*Dgram, error) {
	o.defaults()
	if o.ReadBuffer == 0 {
		o.ReadBuffer = 4 << 20
	}
	if o.Readers <= 0 {
		o.Readers = 2
	}
	d := &Dgram{o: o}
	if o.Conn != nil {
		d.conns = []net.PacketConn{o.Conn}
		if rc, ok := o.Conn.(syscall.Conn); ok && o.Network == "udp" {
			if sc, err := rc.SyscallConn(); err == nil {
				sc.Control(func(fd uintptr) {
					if ino, err := socketInode(fd); err == nil {
						o.Metrics.addInode(ino)
					}
				})
			}
		}
		return d, nil
	}
	switch o.Network {
	case "udp":
		lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
			})
			return errors.Join(err, serr)
		}}
		addr := o.Addr
		for i := 0; i < o.Readers; i++ {
			pc, err := lc.ListenPacket(context.Background(), "udp", addr)
			if err != nil {
				d.Close()
				return nil, fmt.Errorf("source/syslog: %s: listen udp %s: %w", o.Name, o.Addr, err)
			}
			if i == 0 {
				addr = pc.LocalAddr().String() // port 0: the others join the port the first got
			}
			d.conns = append(d.conns, pc)
			d.tune(pc.(*net.UDPConn))
		}
	case "unixgram":
		if fi, err := os.Lstat(o.Addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(o.Addr) // stale socket from a previous run
		}
		pc, err := net.ListenPacket("unixgram", o.Addr)
		if err != nil {
			return nil, fmt.Errorf("source/syslog: %s: listen unixgram %s: %w", o.Name, o.Addr, err)
		}
		os.Chmod(o.Addr, 0o666) // like /dev/log: every local program may log
		d.conns = append(d.conns, pc)
		if uc, ok := pc.(*net.UnixConn); ok {
			uc.SetReadBuffer(o.ReadBuffer)
		}
	default:
		return nil, fmt.Errorf("source/syslog: unknown datagram network %q", o.Network)
	}
	return d, nil
}

func (d *Dgram) tune(c *net.UDPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	var got int
	rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, d.o.ReadBuffer) != nil {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, d.o.ReadBuffer)
		}
		got, _ = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if ino, err := socketInode(fd); err == nil {
			d.o.Metrics.addInode(ino)
		}
	})
	// Linux reports twice the usable size it granted.
	if got/2 < d.o.ReadBuffer {
		d.o.Logger.Warn("UDP receive buffer capped by the kernel; bursts may be dropped (see logpacker_listener_kernel_drops_total). Raise net.core.rmem_max or run with CAP_NET_ADMIN",
			"listener", d.o.Name, "wanted", d.o.ReadBuffer, "got", got/2)
	}
}

// Addr is the bound address of the first socket.
func (d *Dgram) Addr() net.Addr { return d.conns[0].LocalAddr() }

// Close closes every socket (Run does this itself when ctx ends).
func (d *Dgram) Close() {
	d.o.Metrics.KernelDrops() // the last count of the sockets' kernel drops is kept
	for _, c := range d.conns {
		c.Close()
	}
	if d.o.Network == "unixgram" && d.o.Conn == nil {
		os.Remove(d.o.Addr)
	}
}

// Run reads until ctx ends, one goroutine per socket.
func (d *Dgram) Run(ctx context.Context, emit EmitFunc) error {
	stop := context.AfterFunc(ctx, func() {
		for _, c := range d.conns {
			c.SetReadDeadline(time.Now())
		}
	})
	defer stop()
	emitCtx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range d.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.read(ctx, emitCtx, c, emit)
		}()
	}
	wg.Wait()
	d.Close()
	return nil
}

// read serves one socket until ctx ends or the WAL refuses for good: it
// decodes datagrams into batches for the emitter (see pipeline; while the WAL
// does not take a batch the reader stops and the socket buffer fills, then
// the kernel drops and counts). Before returning it takes what is still
// queued in the socket (drain), so a shutdown loses no datagram that had
// arrived: each is stored, or counted as dropped when the WAL refuses it.
func (d *Dgram) read(ctx, emitCtx context.Context, c net.PacketConn, emit EmitFunc) {
	transport, what := "udp", "its datagrams queue in the socket buffer and the kernel drops what does not fit (counted: logpacker_listener_kernel_drops_total)"
	if d.o.Network == "unixgram" {
		transport, what = "unix", "its datagrams queue in the socket buffer, and senders block or get EAGAIN once it is full"
	}
	dec := newDecoder(&d.o.Common, transport)
	var stopped atomic.Bool
	p := startPipeline(emitCtx, &d.o.Common, newStorer(&d.o.Common, emit, what), func(err error) {
		// only a permanent error (the WAL is closed): stop reading
		stopped.Store(true)
		d.o.Logger.Error("cannot store datagrams: the WAL refused them for good; listener stops reading", "listener", d.o.Name, "err", err)
		c.SetReadDeadline(time.Now())
	})
	// One byte more than the largest message we keep, so we can tell a
	// datagram was longer (UDP payloads are at most 65507 bytes anyway).
	buf := make([]byte, max(d.o.Parse.MaxSize+1, 65536))
	batch := make([]protocol.Event, 0, d.o.BatchSize)
	var lastAP netip.AddrPort
	var lastPeer string
	peerOf := func(ap netip.AddrPort) string {
		if ap != lastAP || lastPeer == "" {
			lastAP, lastPeer = ap, ap.String()
		}
		return lastPeer
	}
	uc, _ := c.(*net.UDPConn)
	ending := func() bool { return ctx.Err() != nil || stopped.Load() } // shutdown, or refused for good
	setDeadline := func(t time.Time) {
		c.SetReadDeadline(t)
		if ending() { // lost a race with the wake-up: make sure we wake
			c.SetReadDeadline(time.Now())
		}
	}
	// take decodes one datagram of n bytes in buf into the batch, and hands
	// the batch over when it is full or the emitter is idle.
	take := func(n int, peer string) {
		d.o.Metrics.Bytes.Add(float64(n))
		if n == 0 {
			d.o.Metrics.Empty.Inc()
			return
		}
		msg := buf[:n]
		over := false
		if n > d.o.Parse.MaxSize {
			msg, over = msg[:d.o.Parse.MaxSize], true
		}
		batch = dec.decode(batch, msg, peer, over)
		switch {
		case len(batch) >= d.o.BatchSize:
			dec.flush()
			p.send(batch)
			batch = p.get(d.o.BatchSize)
		case p.offer(batch):
			dec.flush()
			batch = p.get(d.o.BatchSize)
		}
	}
	waiting := false // a short deadline is armed to flush a partial batch
	for {
		var n int
		var err error
		peer := ""
		if uc != nil {
			var ap netip.AddrPort
			n, ap, err = uc.ReadFromUDPAddrPort(buf)
			if err == nil {
				peer = peerOf(ap)
			}
		} else {
			n, _, err = c.ReadFrom(buf)
		}
		if err != nil {
			if IsTimeout(err) && waiting && !ending() {
				// quiet for idleFlush: hand over what we have and block again
				dec.flush()
				p.send(batch)
				batch = p.get(d.o.BatchSize)
				waiting = false
				setDeadline(time.Time{})
				continue
			}
			drain(c, buf, 1+2*d.o.ReadBuffer/256, peerOf, take)
			dec.flush()
			if len(batch) > 0 {
				p.send(batch)
			}
			p.close()
			return
		}
		take(n, peer)
		if len(batch) > 0 && !waiting && !ending() {
			waiting = true
			setDeadline(time.Now().Add(idleFlush))
		} else if len(batch) == 0 && waiting && !ending() {
			waiting = false
			setDeadline(time.Time{})
		}
	}
}

// drain takes the datagrams queued in c without waiting (the deadline that
// woke the reader fails ordinary reads at once, so it reads the file
// descriptor itself, MSG_DONTWAIT, until EAGAIN), at most limit of them
// (what a full receive buffer holds: a sender that keeps sending cannot hold
// a shutdown up).
func drain(c net.PacketConn, buf []byte, limit int, peerOf func(netip.AddrPort) string, take func(n int, peer string)) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	for range limit {
		var n int
		var from syscall.Sockaddr
		var rerr error
		if err := rc.Control(func(fd uintptr) {
			for {
				n, from, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
				if rerr != syscall.EINTR {
					return
				}
			}
		}); err != nil || rerr != nil {
			return // EAGAIN: nothing more queued
		}
		peer := ""
		switch sa := from.(type) {
		case *syscall.SockaddrInet4:
			peer = peerOf(netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)))
		case *syscall.SockaddrInet6:
			peer = peerOf(netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)))
		}
		take(n, peer)
	}
}
