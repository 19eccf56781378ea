package filetail

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"logpacker/wal/durable"
)

// FingerprintSize is how many leading bytes identify a file's content
// (with its device and inode): the same as Filebeat's default.
const FingerprintSize = 1024

// ident is what identifies one file: device and inode while it is a plain
// file, and a hash of its first fplen (at most FingerprintSize) bytes,
// which tells a reused inode from the file that had it and finds a file
// again once compressed (or copied by copytruncate).
type ident struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	FP    uint64 `json:"fp"`
	FPLen int    `json:"fplen"`
	// Birth is the file's creation time (statx btime, ns; 0: unknown). A
	// reused inode has another: a new file with the inode and the header
	// of a deleted one is not taken for it.
	Birth int64 `json:"birth,omitempty"`
}

// sameBirth reports whether two birth times may be the same file's (an
// unknown one matches any).
func sameBirth(a, b int64) bool { return a == 0 || b == 0 || a == b }

// birthOf is the creation time of the open file f (statx; 0 when the
// filesystem does not keep it).
func birthOf(f *os.File) int64 {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH, unix.STATX_BTIME, &stx); err != nil || stx.Mask&unix.STATX_BTIME == 0 {
		return 0
	}
	return stx.Btime.Sec*1e9 + int64(stx.Btime.Nsec)
}

// ID is "DEV:INO:FP" (FP in hex).
func (id ident) ID() string {
	return strconv.FormatUint(id.Dev, 10) + ":" + strconv.FormatUint(id.Ino, 10) + ":" + strconv.FormatUint(id.FP, 16)
}

// fingerprint hashes b (at most FingerprintSize bytes are used).
func fingerprint(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b[:min(len(b), FingerprintSize)])
	return h.Sum64()
}

// readFingerprint hashes the first n bytes of r (n ≤ FingerprintSize), and
// reports how many there were.
func readFingerprint(r io.ReaderAt, n int) (uint64, int, error) {
	buf := make([]byte, n)
	k, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	return fingerprint(buf[:k]), k, nil
}

// fileState is one file of a stream in the checkpoint.
type fileState struct {
	ident
	Off  int64  `json:"off"`            // bytes emitted (the WAL has them)
	Role string `json:"role"`           // "cur" (at the stream's path), "old" (rotated away, being drained), "done"
	Gz   string `json:"gz,omitempty"`   // read from this compressed file
	Copy string `json:"copy,omitempty"` // read from this copy (copytruncate), not from its inode
}

// streamState is one path's files in the checkpoint.
type streamState struct {
	Seen  time.Time   `json:"seen"` // when the source last looked at the path
	Files []fileState `json:"files"`
}

// checkpoint is the state file: every stream the source follows.
type checkpoint struct {
	Version int                     `json:"version"`
	Streams map[string]*streamState `json:"streams"`
}

func loadCheckpoint(path string) (*checkpoint, error) {
	cp := &checkpoint{Version: 1, Streams: map[string]*streamState{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cp, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, cp); err != nil {
		return nil, fmt.Errorf("source/file: checkpoint %s: %w", path, err)
	}
	if cp.Streams == nil {
		cp.Streams = map[string]*streamState{}
	}
	return cp, nil
}

func (cp *checkpoint) save(path string) error {
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	return durable.WriteFileAtomic(path, b, 0o640)
}

// Recovered is what the WAL's newest records say a source emitted (found
// at node start, before anything else is appended): per file_id, the end
// of the last event; and the files an event that began in them and ended
// in the next one completed. It covers a kill between an emit and the
// checkpoint that follows it.
type Recovered struct {
	End  map[string]int64
	Done map[string]bool
	Path map[string]string    // file_id → the path of its events
	Seen map[string]time.Time // path → when its last event was read
}

// Note adds one event's fields and received time (a record of this
// source) to r.
func (r *Recovered) Note(fields map[string]string, received time.Time) {
	id, end := fields[FieldFileID], fields[FieldEnd]
	if id == "" || end == "" {
		return
	}
	e, err := strconv.ParseInt(end, 10, 64)
	if err != nil {
		return
	}
	if r.End == nil {
		r.End, r.Done, r.Path, r.Seen = map[string]int64{}, map[string]bool{}, map[string]string{}, map[string]time.Time{}
	}
	p := fields[FieldPath]
	r.Path[id] = p
	if received.After(r.Seen[p]) {
		r.Seen[p] = received
	}
	if e > r.End[id] {
		r.End[id] = e
	}
	for _, p := range strings.Split(fields[FieldStartedIn], ",") {
		if p != "" {
			r.Done[p] = true
		}
	}
}
