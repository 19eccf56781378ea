package appliance

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"syscall"
	"time"

	"logpacker/systemd"
)

// NewActivated is New with the sockets systemd passed (socket activation,
// systemd.Listeners): each is the listener of the [listen] key its
// FileDescriptorName= names (syslog_udp, syslog_tcp, syslog_tls, relp,
// syslog_unix), taken instead of binding the key's address, also when the
// key is empty. The name "syslog" is syslog_udp for a datagram socket and
// syslog_tcp for a stream socket, so one .socket unit can hold both 514s.
// The files stay open for the node's life: a reload that rebinds such a
// listener takes the same socket again, and a datagram queued in it is
// never lost.
func NewActivated(cfg *Config, log *slog.Logger, socks []systemd.Socket) (*Node, error) {
	return newNode(cfg, log, socks)
}

// inheritedListeners sorts the passed sockets by [listen] key.
func inheritedListeners(socks []systemd.Socket) (map[string]systemd.Socket, error) {
	if len(socks) == 0 {
		return nil, nil
	}
	m := map[string]systemd.Socket{}
	for _, s := range socks {
		name := s.Name
		typ, err := systemd.SocketType(s.File)
		if err != nil {
			return nil, fmt.Errorf("node: socket from systemd %q: %w", s.Name, err)
		}
		if name == "syslog" {
			name = "syslog_tcp"
			if typ == syscall.SOCK_DGRAM {
				name = "syslog_udp"
			}
		}
		want := syscall.SOCK_STREAM
		switch name {
		case "syslog_udp", "syslog_unix":
			want = syscall.SOCK_DGRAM
		case "syslog_tcp", "syslog_tls", "relp":
		default:
			return nil, fmt.Errorf("node: socket from systemd named %q: FileDescriptorName= must be one of syslog, syslog_udp, syslog_tcp, syslog_tls, relp, syslog_unix", s.Name)
		}
		if typ != want {
			return nil, fmt.Errorf("node: socket from systemd named %q is not a %s socket", s.Name, map[bool]string{true: "datagram", false: "stream"}[want == syscall.SOCK_DGRAM])
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("node: systemd passed two sockets for [listen] %s", name)
		}
		m[name] = s
	}
	return m, nil
}

// inheritedSocket is the listener systemd passed for the [listen] key name
// (a datagram socket or a stream listener), or nil, nil when it passed
// none: then the node binds addr itself.
func (n *Node) inheritedSocket(name, addr string) (net.PacketConn, net.Listener, error) {
	s, ok := n.inherited[name]
	if !ok {
		return nil, nil, nil
	}
	n.log.Info("listener: taking the socket systemd passed; the configured address is not bound", "input", name,
		"configured", addr, "fd_name", s.Name)
	if name == "syslog_udp" || name == "syslog_unix" {
		pc, err := s.PacketConn()
		return pc, nil, err
	}
	ln, err := s.Listener()
	return nil, ln, err
}

// DefaultStallLimit is how long an output's write may go unanswered before
// Health calls the pipeline wedged. Outputs answer well within it when they
// work, and fail (then retry, which is healthy) when they do not; only a
// write that never returns reaches it.
const DefaultStallLimit = 5 * time.Minute

// Health is the pipeline's heartbeat, which drives systemd's watchdog: nil
// while the node works; an error once an output's sink has held a batch
// without answering for longer than stall (pipeline.Consumer.Waiting: a
// wedged consumer, which only a restart frees; the WAL keeps its events).
// An output that fails and retries is healthy (a restart would not help),
// and so is a WAL that waits for disk space (the outputs drain it).
func (n *Node) Health(stall time.Duration) error {
	now := time.Now()
	n.mu.Lock()
	var errs []error
	for _, o := range n.outputs {
		if w := o.Waiting(now); w > stall {
			errs = append(errs, fmt.Errorf("output %s: its write has not returned for %s", o.Name(), w.Truncate(time.Millisecond)))
		}
	}
	n.mu.Unlock()
	return errors.Join(errs...)
}

// NotifyStatus is the one-line STATUS= systemd shows: the WAL's records
// and size, and each cursor's lag (largest first).
func (n *Node) NotifyStatus() string {
	ws := n.wal.Stats()
	type lag struct {
		name string
		n    uint64
	}
	var lags []lag
	for name, c := range ws.Cursors {
		lags = append(lags, lag{name, ws.LastIndex - min(c, ws.LastIndex)})
	}
	sort.Slice(lags, func(i, j int) bool {
		return lags[i].n > lags[j].n || lags[i].n == lags[j].n && lags[i].name < lags[j].name
	})
	var b strings.Builder
	fmt.Fprintf(&b, "taking events; WAL last index %d, %d segments, %.1f MiB; lag", ws.LastIndex, ws.Segments,
		float64(ws.Bytes)/(1<<20))
	if len(lags) == 0 {
		b.WriteString(" -")
	}
	for i, l := range lags {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %d", l.name, l.n)
	}
	if ready, why := n.readiness(); !ready {
		b.WriteString("; not ready: " + why)
	}
	return b.String()
}
