package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Notifier sends notify-protocol messages to systemd. A nil *Notifier (no
// $NOTIFY_SOCKET) ignores every call.
type Notifier struct {
	mu   sync.Mutex
	conn *net.UnixConn
}

// NewNotifier connects to $NOTIFY_SOCKET and unsets it (children of the
// service do not inherit it). It returns nil, nil when the variable is not
// set: not run by systemd with Type=notify.
func NewNotifier() (*Notifier, error) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return nil, nil
	}
	os.Unsetenv("NOTIFY_SOCKET")
	return Dial(path)
}

// Dial opens a notifier that sends to the socket at path ('@' first: an
// abstract socket name).
func Dial(path string) (*Notifier, error) {
	name := path
	if strings.HasPrefix(name, "@") {
		name = "\x00" + name[1:]
	}
	addr := &net.UnixAddr{Name: name, Net: "unixgram"}
	conn, err := net.DialUnix("unixgram", nil, addr) // unbound: systemd identifies us by our credentials
	if err != nil {
		return nil, fmt.Errorf("systemd: notify socket %s: %w", path, err)
	}
	return &Notifier{conn: conn}, nil
}

// Notify sends state, one or more KEY=VALUE lines ("READY=1\nSTATUS=…").
func (n *Notifier) Notify(state string) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, err := n.conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("systemd: notify %q: %w", firstLine(state), err)
	}
	return nil
}

// Ready sends READY=1 with a status line.
func (n *Notifier) Ready(status string) error {
	return n.Notify("READY=1\nSTATUS=" + oneLine(status))
}

// Status sends STATUS= (what `systemctl status` shows).
func (n *Notifier) Status(status string) error { return n.Notify("STATUS=" + oneLine(status)) }

// Stopping sends STOPPING=1 with a status line.
func (n *Notifier) Stopping(status string) error {
	return n.Notify("STOPPING=1\nSTATUS=" + oneLine(status))
}

// Close closes the socket.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	return n.conn.Close()
}

// WatchdogInterval is how often to send WATCHDOG=1: half of $WATCHDOG_USEC,
// as sd_watchdog_enabled(3) advises. ok is false when the watchdog is off
// (no or a bad $WATCHDOG_USEC, or $WATCHDOG_PID names another process).
func WatchdogInterval() (every time.Duration, ok bool) {
	if p := os.Getenv("WATCHDOG_PID"); p != "" && p != strconv.Itoa(os.Getpid()) {
		return 0, false
	}
	us, err := strconv.ParseUint(os.Getenv("WATCHDOG_USEC"), 10, 63)
	if err != nil || us == 0 {
		return 0, false
	}
	return time.Duration(us) * time.Microsecond / 2, true
}

// Watchdog runs until done is closed: on every tick it asks health, and
// sends WATCHDOG=1 (with STATUS=status) while health returns nil. When
// health returns an error it sends no ping, only STATUS= with the error
// (once per streak), so systemd's watchdog runs out and restarts the unit.
// A nil health: no watchdog, STATUS= only. status may be nil.
func (n *Notifier) Watchdog(done <-chan struct{}, tick <-chan time.Time, health func() error, status func() string) {
	failing := false
	for {
		select {
		case <-done:
			return
		case <-tick:
		}
		if health == nil {
			if status != nil {
				n.Status(status())
			}
			continue
		}
		if err := health(); err != nil {
			if !failing {
				n.Status("unhealthy, no watchdog pings: " + err.Error())
			}
			failing = true
			continue
		}
		failing = false
		msg := "WATCHDOG=1"
		if status != nil {
			msg += "\nSTATUS=" + oneLine(status())
		}
		n.Notify(msg)
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
