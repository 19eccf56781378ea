// Command rotwriter is the log writer of the file tailing torture test
// (appliance/filetail_integration_test.go): a real process that writes
// numbered lines to several files at a steady rate and rotates them the
// ways logrotate does, then prints what it wrote as JSON.
//
//	main.log      -rate lines/s; every -rotate, in turn: rename+create,
//	              copytruncate, rename+gzip, copytruncate+gzip
//	trace.log     a 5-line stack trace every 20 ms, rotated every -rotate
//	              by rename+create in the middle of a trace (its start and 2
//	              frames in the old file, 2 frames in the new)
//	small.log     a line every 100 ms, rotated (rename+create) before it
//	              reaches 600 bytes: always shorter than a fingerprint
//	shared-a.log, shared-b.log
//	              every file starts with the same 2 KiB header, then a line
//	              every 20 ms; rotated every 3 s (rename+create, rename+gzip)
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type stream struct {
	name  string
	path  string
	f     *os.File
	w     *bufio.Writer
	seq   int
	files int // files created (each starts with the header, if any)
	rot   int
	size  int64
}

var dir string

func (s *stream) open(header string) {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	check(err)
	s.f, s.w, s.size = f, bufio.NewWriterSize(f, 256<<10), 0
	s.files++
	if header != "" {
		s.write(header)
	}
}

func (s *stream) write(text string) {
	n, err := s.w.WriteString(text)
	check(err)
	s.size += int64(n)
}

func (s *stream) flush() { check(s.w.Flush()) }

func (s *stream) rotated() string {
	s.rot++
	return fmt.Sprintf("%s.%d", s.path, s.rot)
}

// renameCreate: rename, then a new file at the path.
func (s *stream) renameCreate(header string, gz bool) {
	s.flush()
	check(s.f.Close())
	r := s.rotated()
	check(os.Rename(s.path, r))
	s.open(header)
	if gz {
		gzipFile(r)
	}
}

// copyTruncate: copy the file, truncate it in place (the writer keeps its
// O_APPEND descriptor).
func (s *stream) copyTruncate(gz bool) {
	s.flush()
	r := s.rotated()
	in, err := os.Open(s.path)
	check(err)
	out, err := os.Create(r)
	check(err)
	_, err = io.Copy(out, in)
	check(err)
	check(out.Close())
	in.Close()
	check(s.f.Truncate(0))
	s.size = 0
	if gz {
		gzipFile(r)
	}
}

// gzipFile compresses p to p.gz (keeping its modification time, as gzip
// does) and removes p.
func gzipFile(p string) {
	fi, err := os.Stat(p)
	check(err)
	b, err := os.ReadFile(p)
	check(err)
	f, err := os.Create(p + ".gz")
	check(err)
	zw := gzip.NewWriter(f)
	_, err = zw.Write(b)
	check(err)
	check(zw.Close())
	check(f.Close())
	check(os.Chtimes(p+".gz", fi.ModTime(), fi.ModTime()))
	check(os.Remove(p))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "rotwriter:", err)
		os.Exit(1)
	}
}

func main() {
	flag.StringVar(&dir, "dir", "", "directory of the files")
	dur := flag.Duration("duration", 60*time.Second, "how long to write")
	rate := flag.Int("rate", 20000, "main.log lines per second")
	every := flag.Duration("rotate", time.Second, "rotation period of main.log and trace.log")
	flag.Parse()
	header := ""
	for i := range 30 {
		header += fmt.Sprintf("# shared header line %02d, the same in every shared file %s\n", i, strings.Repeat("=", 8))
	}
	mk := func(name string) *stream { return &stream{name: name, path: filepath.Join(dir, name+".log")} }
	mainS, trace, small, sa, sb := mk("main"), mk("trace"), mk("small"), mk("shared-a"), mk("shared-b")
	mainS.open("")
	trace.open("")
	small.open("")
	sa.open(header)
	sb.open(header)
	pad := strings.Repeat("x", 40)
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	nextRot, nextShared := start.Add(*every), start.Add(3*time.Second)
	cycle, shCycle, ticks := 0, 0, 0
	traceEvent := func(split bool) {
		trace.seq++
		n := trace.seq
		trace.write(fmt.Sprintf("2026-12-02T00:00:00 ERROR trace seq=%d boom\n\tat frame %d.1\n\tat frame %d.2\n", n, n, n))
		if split {
			trace.renameCreate("", false)
		}
		trace.write(fmt.Sprintf("\tat frame %d.3\n\tat frame %d.4\n", n, n))
	}
	for now := range tick.C {
		if now.Sub(start) >= *dur {
			break
		}
		ticks++
		// main.log: catch up to the rate
		want := int(float64(*rate) * now.Sub(start).Seconds())
		for mainS.seq < want {
			mainS.seq++
			mainS.write(fmt.Sprintf("main seq=%d %s\n", mainS.seq, pad))
		}
		if ticks%2 == 0 {
			traceEvent(false)
			sa.seq++
			sa.write(fmt.Sprintf("shared-a seq=%d\n", sa.seq))
			sb.seq++
			sb.write(fmt.Sprintf("shared-b seq=%d\n", sb.seq))
		}
		if ticks%10 == 0 {
			if small.size > 600-20 {
				small.renameCreate("", false)
			}
			small.seq++
			small.write(fmt.Sprintf("small seq=%d\n", small.seq))
		}
		if !now.Before(nextRot) {
			nextRot = nextRot.Add(*every)
			switch cycle % 4 {
			case 0:
				mainS.renameCreate("", false)
			case 1:
				mainS.copyTruncate(false)
			case 2:
				mainS.renameCreate("", true)
			case 3:
				mainS.copyTruncate(true)
			}
			cycle++
			traceEvent(true)
		}
		if !now.Before(nextShared) {
			nextShared = nextShared.Add(3 * time.Second)
			sa.renameCreate(header, shCycle%2 == 1)
			sb.renameCreate(header, shCycle%2 == 0)
			shCycle++
		}
		for _, s := range []*stream{mainS, trace, small, sa, sb} {
			s.flush()
		}
	}
	el := time.Since(start)
	out := map[string]any{"seconds": el.Seconds(), "rotations": cycle, "header_lines": 30,
		"seq":   map[string]int{"main": mainS.seq, "trace": trace.seq, "small": small.seq, "shared-a": sa.seq, "shared-b": sb.seq},
		"files": map[string]int{"main": mainS.files, "trace": trace.files, "small": small.files, "shared-a": sa.files, "shared-b": sb.files}}
	check(json.NewEncoder(os.Stdout).Encode(out))
}
