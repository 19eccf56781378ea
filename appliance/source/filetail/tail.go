package filetail

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"logpacker/appliance/pipeline"
	"logpacker/protocol"
)

// Field names every event of a file source carries (Event.Fields).
const (
	FieldSource    = "source"     // the [source.NAME]
	FieldPath      = "path"       // the path the file was found at (glob match)
	FieldOffset    = "offset"     // byte offset of the event's first line
	FieldEnd       = "end"        // byte offset after its last line (in the file of file_id)
	FieldFileID    = "file_id"    // DEV:INO:FP:FPLEN:BIRTH of the file it ends in
	FieldStartedIn = "started_in" // a multi-line event split by a rotation: the file_id(s) it began in
)

// TruncatedTag marks an event whose line was cut at MaxLineBytes.
const TruncatedTag = "truncated"

// Options configure a file source ([source.NAME] type = file).
type Options struct {
	Name      string   // the source's NAME
	Paths     []string // globs of the files to follow
	Exclude   []string // globs (of the whole path or the base name) to leave out
	StateFile string   // the checkpoint (JSON), written atomically after every emit
	// App is the app name events get (and a tag); Parse, if set, reads each
	// event's text (the app's format: time, severity, app) and may set
	// ParseErr. Message always keeps the text.
	App   string
	Parse func(text string, ev *protocol.Event)
	Tags  []string
	Host  string // Event.Host (default: os.Hostname)
	// MultilineStart: a line that matches starts an event; others are
	// appended to the event before them (stack traces). nil: one line, one event.
	MultilineStart   *regexp.Regexp
	MultilineTimeout time.Duration // an event waits this long for more lines (default 1 s)
	MaxLineBytes     int           // longer events are cut here, once, and tagged "truncated" (default 256 KiB)
	// ReadFromEnd: files found at the source's very first start are read
	// from their end (default: from their beginning). Files that appear
	// later are always read from their beginning.
	ReadFromEnd  bool
	PollInterval time.Duration // how often paths are globbed and files checked (default 250 ms)
	// RotateWait: a file rotated away (renamed, deleted) is kept open and
	// read while it grows, until it was idle this long (default 5 s).
	RotateWait time.Duration
	BatchSize  int       // events per emit at most (default 1000)
	Recovered  Recovered // from the WAL (see Recovered)
	Logger     *slog.Logger
}

// Source tails files. It implements pipeline.Source.
type Source struct {
	o        Options
	log      *slog.Logger
	cp       *checkpoint
	fresh    bool // no checkpoint existed: ReadFromEnd applies to files found now
	streams  map[string]*stream
	byIno    map[[2]uint64]*tracked // every open file, across streams
	rec      map[[2]uint64][]recEnd
	buf      []byte
	b        batch
	dirty    bool
	stop     chan struct{}
	stopOnce sync.Once
	st       stats
	descs    []*prometheus.Desc
	// crashAfterEmit (tests): when it reports true after an emit, flush
	// stops there, as a kill between the WAL append and the checkpoint.
	crashAfterEmit func() bool
}

// errCrash is what flush returns when crashAfterEmit said so (tests).
var errCrash = errors.New("source/file: simulated crash after emit")

var _ pipeline.Source = (*Source)(nil)

type recEnd struct {
	fp    uint64
	fplen int
	birth int64
	end   int64
	done  bool
}

// stream is one path: the file there now (cur), the files rotated away
// from it that are still read (old, in order), and the last ones done.
type stream struct {
	path      string
	cur       *tracked
	old       []*tracked
	done      []fileState // the newest last, at most maxDone
	seen      time.Time
	pend      *pending
	restored  []fileState   // from the checkpoint, to be found again (first service)
	missing   []missingFile // from the checkpoint, not found yet
	restoring []fileState   // the checkpoint's files while restore looks for them
	rotated   bool          // the path's file changed: rotated files not seen are looked for
}

const maxDone = 32

// tracked is one file being read.
type tracked struct {
	ident
	name      string // what is read: the path, a rotated name, a .gz or a copy
	f         *os.File
	gz        *gzip.Reader // a compressed file: read in order, once
	gzf       *os.File
	oneShot   bool // a .gz or a copytruncate copy: done at its end
	pos       int64
	lineStart int64
	partial   []byte
	overflow  bool
	committed int64
	eof       bool
	idleSince time.Time
	toEOF     bool // recovered as done: skip to its end
	gzBroken  bool // the compressed file ended early: reopened at the next poll
}

// reopenGz opens t's compressed file again and skips to t.pos.
func (t *tracked) reopenGz() error {
	f, err := os.Open(t.name)
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(f)
	if err == nil {
		_, err = io.CopyN(io.Discard, zr, t.pos)
	}
	if err != nil {
		f.Close()
		return err
	}
	t.gz, t.gzf = zr, f
	return nil
}

type pending struct {
	text      []byte
	truncated bool
	file      *tracked // where it began
	start     int64
	spans     []*tracked // files it went through before the last
	last      *tracked
	end       int64
	at        time.Time
}

type advance struct {
	t   *tracked
	end int64
}

type batch struct {
	evs []protocol.Event
	adv []advance
}

// New checks o and reads the checkpoint.
func New(o Options) (*Source, error) {
	if len(o.Paths) == 0 {
		return nil, fmt.Errorf("source/file %s: no paths", o.Name)
	}
	for _, p := range append(slices.Clone(o.Paths), o.Exclude...) {
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, fmt.Errorf("source/file %s: glob %q: %w", o.Name, p, err)
		}
	}
	if o.StateFile == "" {
		return nil, fmt.Errorf("source/file %s: no state file", o.Name)
	}
	if o.MultilineTimeout <= 0 {
		o.MultilineTimeout = time.Second
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = 256 << 10
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 250 * time.Millisecond
	}
	if o.RotateWait <= 0 {
		o.RotateWait = 5 * time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.App != "" && !slices.Contains(o.Tags, o.App) {
		o.Tags = append(slices.Clone(o.Tags), o.App)
	}
	s := &Source{o: o, log: o.Logger.With("source", o.Name), streams: map[string]*stream{},
		byIno: map[[2]uint64]*tracked{}, rec: map[[2]uint64][]recEnd{}, buf: make([]byte, 64<<10), stop: make(chan struct{}),
		descs: newDescs(o.Name)}
	if err := os.MkdirAll(filepath.Dir(o.StateFile), 0o750); err != nil {
		return nil, fmt.Errorf("source/file %s: %w", o.Name, err)
	}
	_, statErr := os.Stat(o.StateFile)
	s.fresh = errors.Is(statErr, os.ErrNotExist)
	cp, err := loadCheckpoint(o.StateFile)
	if err != nil {
		return nil, err
	}
	s.cp = cp
	for p, ss := range cp.Streams {
		st := &stream{path: p, seen: ss.Seen}
		for _, f := range ss.Files {
			if f.Role == "done" {
				st.done = append(st.done, f)
			} else {
				st.restored = append(st.restored, f)
			}
		}
		s.streams[p] = st
	}
	for id, end := range o.Recovered.End {
		s.noteRecovered(id, end, false)
		s.seedRecovered(id, end)
	}
	for id := range o.Recovered.Done {
		s.noteRecovered(id, 0, true)
	}
	return s, nil
}

// seedRecovered adds a file the WAL has events of, but the checkpoint does
// not know (a kill after the first emit, before the first checkpoint), to
// its stream, to be found again as the checkpoint's files are.
func (s *Source) seedRecovered(id string, end int64) {
	p := s.o.Recovered.Path[id]
	f, ok := parseFileID(id)
	if p == "" || !ok {
		return
	}
	st := s.streams[p]
	if st == nil {
		st = &stream{path: p, seen: s.o.Recovered.Seen[p]}
		s.streams[p] = st
	}
	for _, x := range append(slices.Clone(st.restored), st.done...) {
		if x.Dev == f.Dev && x.Ino == f.Ino {
			return
		}
	}
	st.restored = append(st.restored, fileState{ident: f, Off: end, Role: "cur"})
}

func parseFileID(id string) (ident, bool) {
	p := strings.Split(id, ":")
	if len(p) != 5 {
		return ident{}, false
	}
	dev, e1 := strconv.ParseUint(p[0], 10, 64)
	ino, e2 := strconv.ParseUint(p[1], 10, 64)
	fp, e3 := strconv.ParseUint(p[2], 16, 64)
	fplen, e4 := strconv.Atoi(p[3])
	birth, e5 := strconv.ParseInt(p[4], 10, 64)
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil || e5 != nil {
		return ident{}, false
	}
	return ident{Dev: dev, Ino: ino, FP: fp, FPLen: fplen, Birth: birth}, true
}

func (s *Source) noteRecovered(id string, end int64, done bool) {
	f, ok := parseFileID(id)
	if !ok {
		return
	}
	k := [2]uint64{f.Dev, f.Ino}
	s.rec[k] = append(s.rec[k], recEnd{fp: f.FP, fplen: f.FPLen, birth: f.Birth, end: end, done: done})
}

// fileID is the file_id field: DEV:INO:FP:FPLEN:BIRTH.
func (id ident) fileID() string {
	return id.ID() + ":" + strconv.Itoa(id.FPLen) + ":" + strconv.FormatInt(id.Birth, 10)
}

// Run follows the files until ctx ends; what was read is emitted (or, if
// ctx ended first, read again after a restart).
func (s *Source) Run(ctx context.Context, emit pipeline.EmitFunc) error {
	defer s.closeAll()
	s.log.Info("source/file: following", "paths", s.o.Paths, "state", s.o.StateFile)
	for {
		busy, err := s.cycle(ctx, emit)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if busy {
			select {
			case <-ctx.Done():
				return nil
			case <-s.stop:
				return nil
			default:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case <-time.After(s.o.PollInterval):
		}
	}
}

// Stop makes Run return after the cycle it is in: its emit finished and
// its checkpoint written (a reload stops a source this way; cancelling
// Run's ctx may interrupt an emit, which the WAL recovery at the next
// start covers).
func (s *Source) Stop() { s.stopOnce.Do(func() { close(s.stop) }) }

// cycle globs, services every stream once and flushes. busy: it read something.
func (s *Source) cycle(ctx context.Context, emit pipeline.EmitFunc) (bool, error) {
	now := time.Now()
	paths := s.glob()
	for _, p := range paths {
		if s.streams[p] == nil {
			s.streams[p] = &stream{path: p}
			s.dirty = true
		}
	}
	names := make([]string, 0, len(s.streams))
	for p := range s.streams {
		names = append(names, p)
	}
	sort.Strings(names)
	busy := false
	for _, p := range names {
		st := s.streams[p]
		n, err := s.service(ctx, emit, st, now)
		if err != nil {
			return busy, err
		}
		busy = busy || n > 0
		if st.cur == nil && len(st.old) == 0 && st.pend == nil && len(st.restored) == 0 && len(st.missing) == 0 && !slices.Contains(paths, p) {
			delete(s.streams, p)
			s.dirty = true
		}
	}
	if err := s.flush(ctx, emit); err != nil {
		return busy, err
	}
	s.fresh = false
	if s.rec != nil {
		pending := false
		for _, st := range s.streams {
			pending = pending || len(st.restored) > 0 || len(st.missing) > 0
		}
		if !pending {
			s.rec = nil
		}
	}
	open := 0
	for _, st := range s.streams {
		for _, t := range append([]*tracked{st.cur}, st.old...) {
			if t != nil && (t.f != nil || t.gzf != nil) {
				open++
			}
		}
	}
	s.st.open.Store(int64(open))
	return busy, nil
}

var compressed = []string{".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4"}

func isCompressed(p string) bool {
	for _, e := range compressed {
		if strings.HasSuffix(p, e) {
			return true
		}
	}
	return false
}

// glob lists the paths the globs match now: regular files, not
// compressed, not excluded.
func (s *Source) glob() []string {
	var out []string
	for _, g := range s.o.Paths {
		m, _ := filepath.Glob(g)
		for _, p := range m {
			if isCompressed(p) || s.excluded(p) || slices.Contains(out, p) {
				continue
			}
			if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
				continue
			}
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Source) excluded(p string) bool {
	for _, x := range s.o.Exclude {
		if ok, _ := filepath.Match(x, p); ok {
			return true
		}
		if ok, _ := filepath.Match(x, filepath.Base(p)); ok {
			return true
		}
	}
	return false
}

func statIno(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}

// service reads what is new in one stream, in order: the files rotated
// away from its path (to their end), files rotated away unseen, then the
// file at the path.
func (s *Source) service(ctx context.Context, emit pipeline.EmitFunc, st *stream, now time.Time) (int, error) {
	fi, err := os.Stat(st.path)
	var dev, ino uint64
	exists := err == nil && fi.Mode().IsRegular()
	if exists {
		dev, ino = statIno(fi)
	}
	read := 0
	if st.restored != nil {
		st.rotated = s.restore(st, exists, dev, ino) || st.rotated
	}
	if len(st.missing) > 0 {
		s.findMissing(st, now)
	}
	if c := st.cur; c != nil {
		if exists && c.Dev == dev && c.Ino == ino {
			if fi.Size() < c.pos || !s.samePrefix(c, fi.Size()) {
				if err := s.flush(ctx, emit); err != nil {
					return read, err
				}
				s.truncated(st, c)
			}
		} else {
			c.idleSince = now
			s.st.rotations.Add(1)
			st.old = append(st.old, c)
			st.cur = nil
			st.rotated = true
			s.dirty = true
		}
	}
	for _, t := range st.old {
		n, err := s.readAll(ctx, emit, st, t)
		read += n
		if err != nil {
			return read, err
		}
	}
	// a file the checkpoint names and that is not found yet (a .gz gzip
	// is still writing) comes before the newer ones: they wait for it
	// (at most RotateWait)
	if len(st.missing) == 0 {
		if st.rotated && !st.seen.IsZero() {
			for _, t := range s.unseen(st, dev, ino) {
				st.old = append(st.old, t)
				n, err := s.readAll(ctx, emit, st, t)
				read += n
				if err != nil {
					return read, err
				}
			}
		}
		st.rotated = false
		if st.cur == nil && exists && s.byIno[[2]uint64{dev, ino}] == nil {
			if t := s.open(st, st.path, dev, ino, fi.Size()); t != nil {
				st.cur = t
				s.dirty = true
			}
		}
		if st.cur != nil {
			n, err := s.readAll(ctx, emit, st, st.cur)
			read += n
			if err != nil {
				return read, err
			}
		}
	}
	// retire old files that are finished
	for _, t := range slices.Clone(st.old) {
		if !t.eof {
			continue
		}
		if !t.oneShot && now.Sub(t.idleSince) < s.o.RotateWait {
			continue
		}
		s.finishPartial(st, t)
		if st.pend != nil && (st.pend.file == t || slices.Contains(st.pend.spans, t) || st.pend.last == t) {
			continue
		}
		if t.committed < t.pos {
			continue // emitted with the next flush; retired after it
		}
		s.retire(st, t)
	}
	if st.pend != nil && read == 0 && now.Sub(st.pend.at) >= s.o.MultilineTimeout {
		s.flushPending(st)
	}
	if (exists || st.cur != nil) && len(st.missing) == 0 {
		st.seen = now
	}
	return read, nil
}

// retire moves t from st.old to st.done.
func (s *Source) retire(st *stream, t *tracked) {
	st.old = slices.DeleteFunc(st.old, func(x *tracked) bool { return x == t })
	s.closeFile(t)
	st.done = append(st.done, fileState{ident: t.ident, Off: t.committed, Role: "done"})
	if len(st.done) > maxDone {
		st.done = st.done[len(st.done)-maxDone:]
	}
	s.dirty = true
}

func (s *Source) closeFile(t *tracked) {
	if t.f != nil {
		t.f.Close()
		if s.byIno[[2]uint64{t.Dev, t.Ino}] == t {
			delete(s.byIno, [2]uint64{t.Dev, t.Ino})
		}
		t.f = nil
	}
	if t.gzf != nil {
		t.gzf.Close()
		t.gzf, t.gz = nil, nil
	}
}

func (s *Source) closeAll() {
	for _, st := range s.streams {
		if st.cur != nil {
			s.closeFile(st.cur)
		}
		for _, t := range st.old {
			s.closeFile(t)
		}
	}
}

// open starts following the plain file at p (st's path or a rotated name).
// Its start: where a done or recovered record of the same file says, else
// 0, or its end (ReadFromEnd, at the first start).
func (s *Source) open(st *stream, p string, dev, ino uint64, size int64) *tracked {
	f, err := os.Open(p)
	if err != nil {
		s.log.Warn("source/file: open", "path", p, "err", err)
		return nil
	}
	fp, n, err := readFingerprint(f, FingerprintSize)
	if err != nil {
		f.Close()
		s.log.Warn("source/file: read", "path", p, "err", err)
		return nil
	}
	t := &tracked{ident: ident{Dev: dev, Ino: ino, FP: fp, FPLen: n, Birth: birthOf(f)}, name: p, f: f}
	// (no resuming from a done file's offset: a file at the path that
	// has the inode and the first bytes of one read before is, far more
	// often than that file renamed back, a new file on a reused inode
	// with the same header)
	off := int64(-1)
	if r, ok := s.recovered(t.ident, f); ok {
		off = max(off, r.end)
		if r.done {
			off = size
		}
	}
	if off < 0 {
		off = 0
		if s.fresh && s.o.ReadFromEnd && st.seen.IsZero() {
			off = size
		}
	}
	t.pos, t.lineStart, t.committed = off, off, off
	s.byIno[[2]uint64{dev, ino}] = t
	return t
}

// recovered finds what the WAL says was emitted of the file id (opened as
// r). The WAL's records are about the files there were at the start: once
// every checkpointed file is found again (after the first poll), s.rec is
// dropped, so that a new file on a reused inode is never taken for one.
func (s *Source) recovered(id ident, r io.ReaderAt) (recEnd, bool) {
	var out recEnd
	found := false
	for _, e := range s.rec[[2]uint64{id.Dev, id.Ino}] {
		if sameBirth(e.birth, id.Birth) && s.prefixIs(r, e.fp, e.fplen) {
			out.end = max(out.end, e.end)
			out.done = out.done || e.done
			found = true
		}
	}
	return out, found
}

// prefixIs reports whether the first n bytes of r hash to fp.
func (s *Source) prefixIs(r io.ReaderAt, fp uint64, n int) bool {
	got, k, err := readFingerprint(r, n)
	return err == nil && k == n && got == fp
}

// samePrefix checks that t's file still starts as it did (and extends its
// fingerprint while the file is shorter than FingerprintSize).
func (s *Source) samePrefix(t *tracked, size int64) bool {
	if t.f == nil {
		return true
	}
	if t.FPLen < FingerprintSize && size > int64(t.FPLen) {
		if !s.prefixIs(t.f, t.FP, t.FPLen) {
			return false
		}
		fp, n, err := readFingerprint(t.f, FingerprintSize)
		if err == nil {
			t.FP, t.FPLen = fp, n
			s.dirty = true
		}
		return true
	}
	return s.prefixIs(t.f, t.FP, t.FPLen)
}

// truncated handles c (at st's path) being shorter than what was read, or
// starting with other bytes: copytruncate. What was written after the last
// read and before the truncation is in the copy: it is found by its first
// bytes (plain or compressed) and read from there, then c from its start.
func (s *Source) truncated(st *stream, c *tracked) {
	from := c.lineStart
	s.log.Info("source/file: file truncated (copytruncate?)", "path", st.path, "read", c.pos)
	s.st.truncations.Add(1)
	if cp, _ := s.findContent(st, c.ident, from, c.Dev, c.Ino); cp != nil {
		st.old = append(st.old, cp)
	}
	// more than one truncation since the last look leaves copies this one
	// does not know: look for rotated files not seen, as after a rename
	st.rotated = true
	st.done = append(st.done, fileState{ident: c.ident, Off: from, Role: "done"})
	c.partial, c.overflow, c.eof = nil, false, false
	fp, n, _ := readFingerprint(c.f, FingerprintSize)
	c.FP, c.FPLen = fp, n
	c.pos, c.lineStart, c.committed = 0, 0, 0
	s.dirty = true
}

// sibling is a file next to a stream's path that may be one of its
// rotated files: same directory, a name that starts as the path's does.
type sibling struct {
	path     string
	dev, ino uint64
	size     int64
	mtime    time.Time
	gz       bool
}

func (s *Source) siblings(st *stream) []sibling {
	dir, base := filepath.Split(st.path)
	stem := base
	if i := strings.IndexByte(base, '.'); i > 0 {
		stem = base[:i]
	}
	ents, err := os.ReadDir(filepath.Clean(dir))
	if err != nil {
		return nil
	}
	var out []sibling
	for _, e := range ents {
		n := e.Name()
		if n == base || !strings.HasPrefix(n, stem) {
			continue
		}
		gz := strings.HasSuffix(n, ".gz")
		if !gz && isCompressed(n) {
			continue
		}
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		dev, ino := statIno(fi)
		out = append(out, sibling{path: p, dev: dev, ino: ino, size: fi.Size(), mtime: fi.ModTime(), gz: gz})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].mtime.Before(out[j].mtime) })
	return out
}

// gzPrefix reads the first n bytes of a compressed file's content. It
// fails (io.ErrUnexpectedEOF) when the file ends before n bytes of content
// without a gzip trailer: it is still being written.
func gzPrefix(p string, n int) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	k := 0
	for k < n {
		m, err := zr.Read(buf[k:])
		k += m
		if errors.Is(err, io.EOF) {
			break // the whole content, shorter than n
		}
		if err != nil {
			return buf[:k], err
		}
	}
	return buf[:k], nil
}

// contentPrefix is the first n bytes of a sibling's content; ok is false
// when a compressed file is not whole yet (gzip is still writing it).
func contentPrefix(sb sibling, n int) ([]byte, bool) {
	if sb.gz {
		b, err := gzPrefix(sb.path, n)
		return b, err == nil
	}
	f, err := os.Open(sb.path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	buf := make([]byte, n)
	k, _ := f.ReadAt(buf, 0)
	return buf[:k], true
}

// findContent finds the file whose content is id's (same first bytes)
// among st's siblings other than the inode skipDev/skipIno, with more than
// from bytes, and opens it to be read from from (once).
func (s *Source) findContent(st *stream, id ident, from int64, skipDev, skipIno uint64) (t *tracked, partial bool) {
	sibs := s.siblings(st)
	for i := len(sibs) - 1; i >= 0; i-- { // the newest first
		sb := sibs[i]
		if sb.dev == skipDev && sb.ino == skipIno || !sb.gz && sb.size < from {
			continue
		}
		b, whole := contentPrefix(sb, id.FPLen)
		if !whole {
			partial = true
			continue
		}
		if len(b) != id.FPLen || fingerprint(b) != id.FP {
			continue
		}
		if s.byIno[[2]uint64{sb.dev, sb.ino}] != nil || !sb.gz && s.otherFile(st, id, sb) {
			continue
		}
		if t := s.openOnce(sb, id, from); t != nil {
			return t, false
		}
	}
	return nil, partial
}

// idents are the identities of every file the stream knows: done, old,
// cur, and the checkpoint's files still being found or missing.
func (st *stream) idents() []ident {
	out := make([]ident, 0, len(st.done)+len(st.old)+len(st.restoring)+len(st.missing)+1)
	for _, d := range st.done {
		out = append(out, d.ident)
	}
	for _, t := range st.old {
		out = append(out, t.ident)
	}
	if st.cur != nil {
		out = append(out, st.cur.ident)
	}
	for _, f := range st.restoring {
		out = append(out, f.ident)
	}
	for _, m := range st.missing {
		out = append(out, m.ident)
	}
	return out
}

// otherFile reports whether the plain sibling sb is a file st knows as
// another than id (by inode): files that share their first bytes (a
// header) are not taken for one another.
func (s *Source) otherFile(st *stream, id ident, sb sibling) bool {
	known := st.idents()
	var birth int64 = -1
	for _, d := range known {
		if d.Dev == sb.dev && d.Ino == sb.ino && (d.Dev != id.Dev || d.Ino != id.Ino) {
			if birth == -1 { // an inode can be reused: the creation time tells
				birth = 0
				if f, err := os.Open(sb.path); err == nil {
					birth = birthOf(f)
					f.Close()
				}
			}
			if sameBirth(d.Birth, birth) {
				return true
			}
		}
	}
	return false
}

// openOnce opens a sibling to be read once, from from, as the content id.
func (s *Source) openOnce(sb sibling, id ident, from int64) *tracked {
	t := &tracked{ident: id, name: sb.path, oneShot: true}
	if sb.gz {
		f, err := os.Open(sb.path)
		if err != nil {
			return nil
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil
		}
		if _, err := io.CopyN(io.Discard, zr, from); err != nil {
			f.Close()
			return nil
		}
		t.gz, t.gzf = zr, f
	} else {
		f, err := os.Open(sb.path)
		if err != nil {
			return nil
		}
		t.f = f
	}
	t.pos, t.lineStart, t.committed = from, from, from
	return t
}

// known reports whether sb is (or holds the content of) a file st knows.
func (s *Source) known(st *stream, sb sibling) bool {
	if t := s.byIno[[2]uint64{sb.dev, sb.ino}]; t != nil {
		return true
	}
	ids := st.idents()
	pre, whole := contentPrefix(sb, FingerprintSize)
	if !whole {
		return true // being compressed: looked at again at the next rotation, whole
	}
	for _, id := range ids {
		if id.FPLen == 0 {
			if !sb.gz && id.Dev == sb.dev && id.Ino == sb.ino {
				return true
			}
			continue
		}
		if len(pre) >= id.FPLen && fingerprint(pre[:id.FPLen]) == id.FP {
			return true
		}
	}
	return false
}

// unseen are the files rotated away from st's path that the source never
// saw (created and rotated while it was down or busy): siblings changed
// since it last looked at the path, that it does not know; oldest first.
func (s *Source) unseen(st *stream, curDev, curIno uint64) []*tracked {
	var out []*tracked
	since := st.seen.Add(-2 * time.Second)
	for _, sb := range s.siblings(st) {
		if sb.mtime.Before(since) || sb.dev == curDev && sb.ino == curIno || s.known(st, sb) {
			continue
		}
		pre, _ := contentPrefix(sb, FingerprintSize)
		id := ident{Dev: sb.dev, Ino: sb.ino, FP: fingerprint(pre), FPLen: len(pre)}
		var t *tracked
		if sb.gz {
			t = s.openOnce(sb, id, 0)
		} else {
			f, err := os.Open(sb.path)
			if err != nil {
				continue
			}
			t = &tracked{ident: id, name: sb.path, f: f, oneShot: true}
			t.Birth = birthOf(f)
			s.byIno[[2]uint64{sb.dev, sb.ino}] = t
		}
		if t == nil {
			continue
		}
		if r, ok := s.recoveredAny(t); ok {
			if r.done {
				s.closeFile(t)
				continue
			}
			if err := t.skipTo(r.end); err != nil {
				s.closeFile(t)
				continue
			}
		}
		s.log.Info("source/file: reading a rotated file not seen before", "path", st.path, "file", sb.path)
		s.st.unseen.Add(1)
		out = append(out, t)
	}
	return out
}

func (s *Source) recoveredAny(t *tracked) (recEnd, bool) {
	if t.f != nil {
		return s.recovered(t.ident, t.f)
	}
	return recEnd{}, false
}

func (t *tracked) skipTo(off int64) error {
	if t.gz != nil {
		if _, err := io.CopyN(io.Discard, t.gz, off-t.pos); err != nil {
			return err
		}
	}
	t.pos, t.lineStart, t.committed = off, off, off
	return nil
}

// missingFile is a file a checkpoint named that is not found yet.
type missingFile struct {
	fileState
	since time.Time
}

// locate finds the file f (read up to off) next to st's path: renamed
// (same inode and first bytes), or compressed or copied (same first bytes,
// at least off bytes of content: read from off). done: the WAL says it was
// read to its end. endByRec moves off up to what the WAL has of a plain
// file.
func (s *Source) locate(st *stream, f fileState, off int64) (t *tracked, done, partial bool) {
	for _, sb := range s.siblings(st) {
		if !sb.gz && sb.dev == f.Dev && sb.ino == f.Ino && s.byIno[[2]uint64{sb.dev, sb.ino}] == nil {
			fh, err := os.Open(sb.path)
			if err != nil {
				continue
			}
			if sameBirth(f.Birth, birthOf(fh)) && s.prefixIs(fh, f.FP, f.FPLen) {
				t = &tracked{ident: f.ident, name: sb.path, f: fh}
				s.byIno[[2]uint64{sb.dev, sb.ino}] = t
				break
			}
			fh.Close()
		}
	}
	if t != nil {
		off = s.applyRec(f, t, off)
		t.pos, t.lineStart, t.committed = off, off, off
		t.idleSince = time.Now()
		return t, false, false
	}
	t, partial = s.findContent(st, f.ident, off, 0, 0)
	if t == nil {
		return nil, false, partial
	}
	for _, e := range s.rec[[2]uint64{f.Dev, f.Ino}] {
		if e.fp == f.FP && e.fplen == f.FPLen && sameBirth(e.birth, f.Birth) && (e.done || e.end > t.pos) {
			if e.done {
				s.closeFile(t)
				return nil, true, false
			}
			if t.skipTo(e.end) != nil {
				s.closeFile(t)
				return nil, false, false
			}
		}
	}
	t.ident = f.ident
	return t, false, false
}

// applyRec moves off (what the checkpoint says of f, open as t) up to what
// the WAL has of it.
func (s *Source) applyRec(f fileState, t *tracked, off int64) int64 {
	if t.f == nil {
		return off
	}
	if r, ok := s.recovered(f.ident, t.f); ok {
		if r.done {
			if fi, err := t.f.Stat(); err == nil {
				off = max(off, fi.Size())
			}
		}
		off = max(off, r.end)
	}
	return off
}

// findMissing looks again for the files restore did not find; one still
// missing after RotateWait is reported lost.
func (s *Source) findMissing(st *stream, now time.Time) {
	var still []missingFile
	for _, m := range st.missing {
		t, done, partial := s.locate(st, m.fileState, m.Off)
		switch {
		case done:
			st.done = append(st.done, fileState{ident: m.ident, Off: m.Off, Role: "done"})
		case t != nil:
			st.old = append(st.old, t)
		case partial && now.Sub(m.since) < s.o.RotateWait:
			still = append(still, m)
		default:
			s.st.lost.Add(1)
			s.log.Warn("source/file: a file being read before the restart is gone; its unread lines are lost",
				"path", st.path, "file_id", m.fileID(), "read", m.Off)
			st.done = append(st.done, fileState{ident: m.ident, Off: m.Off, Role: "done"})
		}
	}
	if len(still) != len(st.missing) {
		s.dirty = true
	}
	st.missing = still
}

// restore finds the files the checkpoint lists for st again: at the path
// (same inode and first bytes), renamed next to it (same inode), or
// compressed or copied (same first bytes). It reports whether the file at
// the path is another one now (the stream rotated while the node was down).
func (s *Source) restore(st *stream, exists bool, dev, ino uint64) (rotated bool) {
	files := st.restored
	st.restored = nil
	st.restoring = files
	defer func() { st.restoring = nil }()
	rotated = true
	for _, f := range files {
		off := f.Off
		if f.Role == "cur" && exists && f.Dev == dev && f.Ino == ino {
			fh, err := os.Open(st.path)
			if err == nil && sameBirth(f.Birth, birthOf(fh)) && s.prefixIs(fh, f.FP, f.FPLen) {
				t := &tracked{ident: f.ident, name: st.path, f: fh}
				off = s.applyRec(f, t, off)
				fi, _ := fh.Stat()
				if fi.Size() >= off {
					t.pos, t.lineStart, t.committed = off, off, off
					st.cur = t
					s.byIno[[2]uint64{dev, ino}] = t
					rotated = false
					continue
				}
				fh.Close()
			} else if err == nil {
				fh.Close()
			}
		}
		t, done, partial := s.locate(st, f, off)
		switch {
		case done:
			st.done = append(st.done, fileState{ident: f.ident, Off: off, Role: "done"})
		case t != nil:
			st.old = append(st.old, t)
		case f.Role == "cur" && exists && f.Dev == dev && f.Ino == ino && off == 0:
			// truncated in place before anything was read: nothing to find
		case partial:
			// a .gz with its first bytes is still being written: found once whole
			f.Off = off
			st.missing = append(st.missing, missingFile{f, time.Now()})
		default:
			s.st.lost.Add(1)
			s.log.Warn("source/file: a file being read before the restart is gone; its unread lines are lost",
				"path", st.path, "file_id", f.fileID(), "read", off)
			st.done = append(st.done, fileState{ident: f.ident, Off: off, Role: "done"}) // known: not read again
		}
	}
	s.dirty = true
	return rotated
}

// readAll reads t to its current end, turning lines into events.
func (s *Source) readAll(ctx context.Context, emit pipeline.EmitFunc, st *stream, t *tracked) (int, error) {
	total := 0
	for {
		var n int
		var err error
		if t.gzBroken && t.gz == nil {
			if err := t.reopenGz(); err != nil {
				t.eof = false
				return total, nil // not yet
			}
		}
		switch {
		case t.gz != nil:
			n, err = t.gz.Read(s.buf)
		case t.f != nil:
			n, err = t.f.ReadAt(s.buf, t.pos)
		default:
			t.eof = true
			return total, nil
		}
		if n > 0 {
			if t.f != nil && t.FPLen < FingerprintSize && !t.oneShot {
				s.samePrefix(t, t.pos+int64(n))
			}
			t.eof = false
			t.idleSince = time.Now()
			s.consume(st, t, s.buf[:n])
			s.st.bytes.Add(uint64(n))
			total += n
			if len(s.b.evs) >= s.o.BatchSize {
				if err := s.flush(ctx, emit); err != nil {
					return total, err
				}
			}
		}
		if err != nil && t.gz != nil && !errors.Is(err, io.EOF) {
			// a compressed file that ends early: gzip is still writing it.
			// Open it again at the next poll and go on from t.pos.
			if !t.gzBroken {
				s.log.Info("source/file: compressed file not whole yet; read again later", "file", t.name, "err", err)
			}
			t.gzBroken, t.eof = true, false
			t.gzf.Close()
			t.gz, t.gzf = nil, nil
			return total, nil
		}
		if err != nil || n == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				s.log.Warn("source/file: read", "file", t.name, "err", err)
			}
			if !t.eof && total == 0 {
				t.idleSince = time.Now()
			}
			t.eof = true
			return total, nil
		}
	}
}

// consume splits data (t's bytes from t.pos) into lines.
func (s *Source) consume(st *stream, t *tracked, data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			s.addPartial(t, data)
			t.pos += int64(len(data))
			return
		}
		s.addPartial(t, data[:i])
		t.pos += int64(i + 1)
		line := t.partial
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		s.line(st, t, t.lineStart, t.pos, line, t.overflow)
		t.partial, t.overflow = t.partial[:0], false
		t.lineStart = t.pos
		data = data[i+1:]
	}
}

func (s *Source) addPartial(t *tracked, b []byte) {
	room := s.o.MaxLineBytes - len(t.partial)
	if len(b) > room {
		b = b[:max(room, 0)]
		t.overflow = true
	}
	t.partial = append(t.partial, b...)
}

// finishPartial makes a last line without '\n' of a file that is done an event.
func (s *Source) finishPartial(st *stream, t *tracked) {
	if t.pos > t.lineStart {
		s.line(st, t, t.lineStart, t.pos, t.partial, t.overflow)
		t.partial, t.overflow = t.partial[:0], false
		t.lineStart = t.pos
	}
}

// line is one complete line of t, bytes [start, end).
func (s *Source) line(st *stream, t *tracked, start, end int64, text []byte, truncated bool) {
	if s.o.MultilineStart == nil {
		if len(text) == 0 {
			s.b.adv = append(s.b.adv, advance{t, end})
			return
		}
		s.b.evs = append(s.b.evs, s.event(st, t, start, end, string(text), truncated, nil))
		s.b.adv = append(s.b.adv, advance{t, end})
		return
	}
	p := st.pend
	if p != nil && !s.o.MultilineStart.Match(text) {
		if len(p.text)+1+len(text) > s.o.MaxLineBytes {
			if !p.truncated {
				room := s.o.MaxLineBytes - len(p.text) - 1
				if room > 0 {
					p.text = append(append(p.text, '\n'), text[:room]...)
				}
			}
			p.truncated = true
		} else {
			p.text = append(append(p.text, '\n'), text...)
		}
		p.truncated = p.truncated || truncated
		if p.last != t {
			p.spans = append(p.spans, p.last)
			p.last = t
		}
		p.end, p.at = end, time.Now()
		return
	}
	if p != nil {
		s.flushPending(st)
	}
	st.pend = &pending{text: append([]byte(nil), text...), truncated: truncated, file: t, start: start, last: t, end: end, at: time.Now()}
}

func (s *Source) flushPending(st *stream) {
	p := st.pend
	st.pend = nil
	s.b.evs = append(s.b.evs, s.event(st, p.last, p.start, p.end, string(p.text), p.truncated, p.spans))
	for _, sp := range p.spans {
		s.b.adv = append(s.b.adv, advance{sp, sp.pos})
	}
	s.b.adv = append(s.b.adv, advance{p.last, p.end})
}

func (s *Source) event(st *stream, t *tracked, start, end int64, text string, truncated bool, spans []*tracked) protocol.Event {
	ev := protocol.Event{Transport: "file", Host: s.o.Host, App: s.o.App, Facility: protocol.FacUser, Severity: protocol.SevNotice,
		Message: text, Tags: s.o.Tags,
		Fields: map[string]string{FieldSource: s.o.Name, FieldPath: st.path, FieldOffset: strconv.FormatInt(start, 10),
			FieldEnd: strconv.FormatInt(end, 10), FieldFileID: t.fileID()}}
	if len(spans) > 0 {
		ids := make([]string, len(spans))
		for i, sp := range spans {
			ids[i] = sp.fileID()
		}
		ev.Fields[FieldStartedIn] = strings.Join(ids, ",")
	}
	if s.o.Parse != nil {
		s.o.Parse(text, &ev)
		if ev.ParseErr != "" {
			s.st.parseErrors.Add(1)
		}
	}
	if truncated {
		s.st.truncated.Add(1)
		ev.Tags = append(slices.Clip(ev.Tags), TruncatedTag)
	}
	return ev
}

// flush emits the batch, then moves the offsets and writes the checkpoint.
func (s *Source) flush(ctx context.Context, emit pipeline.EmitFunc) error {
	if len(s.b.evs) > 0 {
		backoff := 100 * time.Millisecond
		for {
			err := emit(ctx, s.b.evs)
			if err == nil {
				break
			}
			if pipeline.IsPermanent(err) || ctx.Err() != nil {
				return fmt.Errorf("source/file %s: %w", s.o.Name, err)
			}
			s.log.Warn("source/file: emit failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		s.st.events.Add(uint64(len(s.b.evs)))
		if s.crashAfterEmit != nil && s.crashAfterEmit() {
			return errCrash
		}
	}
	for _, a := range s.b.adv {
		a.t.committed = max(a.t.committed, a.end)
	}
	if len(s.b.adv) > 0 {
		s.dirty = true
	}
	clear(s.b.evs)
	s.b.evs, s.b.adv = s.b.evs[:0], s.b.adv[:0]
	if !s.dirty {
		return nil
	}
	return s.save()
}

// save writes the checkpoint: every stream's files and what of each is emitted.
func (s *Source) save() error {
	cp := &checkpoint{Version: 1, Streams: map[string]*streamState{}}
	for p, st := range s.streams {
		ss := &streamState{Seen: st.seen, Files: append([]fileState(nil), st.done...)}
		ss.Files = append(ss.Files, st.restored...)
		for _, m := range st.missing {
			f := m.fileState
			f.Role = "old"
			ss.Files = append(ss.Files, f)
		}
		for _, t := range st.old {
			ss.Files = append(ss.Files, fileState{ident: t.ident, Off: t.committed, Role: "old"})
		}
		if st.cur != nil {
			ss.Files = append(ss.Files, fileState{ident: st.cur.ident, Off: st.cur.committed, Role: "cur"})
		}
		cp.Streams[p] = ss
	}
	if err := cp.save(s.o.StateFile); err != nil {
		return fmt.Errorf("source/file %s: checkpoint: %w", s.o.Name, err)
	}
	s.cp, s.dirty = cp, false
	return nil
}
