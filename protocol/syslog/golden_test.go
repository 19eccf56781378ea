package syslog

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.jsonl")

// readCorpus reads one message per line; a line starting with '"' is
// strconv-quoted; '#' and blank lines are skipped.
func readCorpus(t testing.TB, path string) [][]byte {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '"' {
			s, err := strconv.Unquote(line)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			line = s
		}
		out = append(out, []byte(line))
	}
	return out
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, in := range files {
		p := NewParser(Options{Location: time.FixedZone("", 3600), Now: func() time.Time { return now }})
		var got []byte
		for _, msg := range readCorpus(t, in) {
			var ev protocol.Event // Received stays zero
			p.Parse(msg, &ev)
			got = ev.AppendJSON(got)
			got = append(got, '\n')
		}
		golden := strings.TrimSuffix(in, ".txt") + ".golden.jsonl"
		if *update {
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update)", err)
		}
		if !bytes.Equal(got, want) {
			gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
			for i := range gl {
				if i >= len(wl) || gl[i] != wl[i] {
					t.Errorf("%s line %d:\n got %s\nwant %s", golden, i+1, gl[i], wl[min(i, len(wl)-1)])
				}
			}
		}
	}
}
