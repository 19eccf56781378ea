package protocol

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ID identifies an event for its whole life: its origin (the node that
// first accepted it, and that node's WAL epoch: see Origin) and the index
// that WAL gave it. Relays and storage keep it unchanged.
type ID struct {
	Node string // the origin: Origin(node ID, WAL epoch)
	Seq  uint64
}

// Origin is the origin part of the IDs a node gives: "<node>.<epoch>", or
// just node when the epoch is empty (a WAL from before epochs). A new WAL
// has a new epoch, so its indices, which start at 1 again, never make an ID
// that an earlier WAL of the same node gave. The origin is compared whole,
// never split: node IDs may contain '.' themselves.
func Origin(node, epoch string) string {
	if epoch == "" {
		return node
	}
	return node + "." + epoch
}

// IsZero reports whether the ID has not been assigned yet.
func (id ID) IsZero() bool { return id.Node == "" && id.Seq == 0 }

// String returns "<origin>:<seq>", the form used in JSON and as a storage key.
func (id ID) String() string {
	return id.Node + ":" + strconv.FormatUint(id.Seq, 10)
}

// AppendText appends the String form to dst without allocating.
func (id ID) AppendText(dst []byte) []byte {
	dst = append(dst, id.Node...)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, id.Seq, 10)
}

// ParseID parses "<origin>:<seq>". The origin may itself contain '.' and
// ':'; the sequence is after the last ':'.
func ParseID(s string) (ID, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return ID{}, fmt.Errorf("protocol: id %q: missing ':'", s)
	}
	seq, err := strconv.ParseUint(s[i+1:], 10, 64)
	if err != nil {
		return ID{}, fmt.Errorf("protocol: id %q: bad sequence: %w", s, err)
	}
	return ID{Node: s[:i], Seq: seq}, nil
}

// SDParam is one PARAM-NAME="PARAM-VALUE" pair of RFC 5424 structured data.
type SDParam struct {
	Name, Value string
}

// SDElement is one [SD-ID param="value" ...] element. Params keep their order.
type SDElement struct {
	ID     string
	Params []SDParam
}

// Event is one log record as logpacker carries it from input to storage.
type Event struct {
	ID       ID        // set once, at the first WAL append (see wal and appliance)
	Received time.Time // when the first node read it
	Time     time.Time // from the message; zero when absent
	Facility Facility
	Severity Severity
	Host     string
	App      string
	ProcID   string
	MsgID    string
	Message  string
	SD       []SDElement
	Tags     []string
	Fields   map[string]string
	Peer     string // remote address the first node read it from
	// Transport is how the first node got it: "udp", "tcp", "tls", "unix"
	// (syslog listeners), "relp"; "file" (a file source); "send" (logpacker send), "stdin"
	// (logpacker parse). Relays keep the first node's value.
	Transport string
	Hops      uint8
	Count     uint32 // >1 when aggregation folded repeats into this event; 0 and 1 both mean one
	ParseErr  string // non-empty when the message did not parse; Message then holds the raw text
}
