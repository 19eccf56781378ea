package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// firstFD is SD_LISTEN_FDS_START.
const firstFD = 3

// Socket is one socket systemd passed: its FileDescriptorName= and the file.
type Socket struct {
	Name string
	File *os.File
}

// Listeners returns the sockets systemd passed ($LISTEN_FDS, names from
// $LISTEN_FDNAMES; "unknown" where it names none), or nothing when the
// variables are absent or $LISTEN_PID is not this process. It unsets the
// three variables and marks the descriptors close-on-exec.
func Listeners() ([]Socket, error) {
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()
	pid, fds := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	if fds == "" {
		return nil, nil
	}
	if pid != strconv.Itoa(os.Getpid()) {
		return nil, nil // meant for another process (we are its child), as sd_listen_fds(3)
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("systemd: LISTEN_FDS=%q: not a count", fds)
	}
	var names []string
	if v := os.Getenv("LISTEN_FDNAMES"); v != "" {
		names = strings.Split(v, ":")
	}
	socks := make([]Socket, n)
	for i := range n {
		fd := firstFD + i
		syscall.CloseOnExec(fd)
		name := "unknown"
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		socks[i] = Socket{Name: name, File: os.NewFile(uintptr(fd), "systemd:"+name)}
	}
	return socks, nil
}

// SocketType is the socket's SO_TYPE: syscall.SOCK_DGRAM or SOCK_STREAM.
func SocketType(f *os.File) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var typ int
	var serr error
	if err := sc.Control(func(fd uintptr) {
		typ, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TYPE)
	}); err != nil {
		return 0, err
	}
	return typ, serr
}

// PacketConn makes a datagram socket of s (the file is duplicated into it;
// s.File stays open, for the caller to close).
func (s Socket) PacketConn() (net.PacketConn, error) {
	pc, err := net.FilePacketConn(s.File)
	if err != nil {
		return nil, fmt.Errorf("systemd: socket %s: %w", s.Name, err)
	}
	return pc, nil
}

// Listener makes a stream listener of s (the file is duplicated into it;
// s.File stays open, for the caller to close).
func (s Socket) Listener() (net.Listener, error) {
	ln, err := net.FileListener(s.File)
	if err != nil {
		return nil, fmt.Errorf("systemd: socket %s: %w", s.Name, err)
	}
	return ln, nil
}
