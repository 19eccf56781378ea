package appliance_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

// needSystemd finds a program of systemd's libexec directory
// (/lib/systemd/systemd-journal-remote …); missing: as need.
func needSystemd(t *testing.T, name string) string {
	t.Helper()
	for _, dir := range []string{"/lib/systemd", "/usr/lib/systemd"} {
		if p := filepath.Join(dir, name); fileExists(p) {
			return p
		}
	}
	return need(t, name)
}

// journalFile writes n entries "PREFIX entry I" as Journal Export Format
// and has the real systemd-journal-remote turn them into a journal file
// (no running systemd needed). Every 7th entry has a binary field BLOB
// (not UTF-8), every 5th a multi-line MESSAGE (binary-framed).
func journalFile(t *testing.T, remote, dir, prefix string, n int) string {
	t.Helper()
	var b bytes.Buffer
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"+
			"_HOSTNAME=web-%d\nSYSLOG_IDENTIFIER=%s\nPRIORITY=%d\n_PID=%d\n_SYSTEMD_UNIT=%s.service\n",
			1764583200000000+int64(i), i, i%3, prefix, i%8, 1000+i, prefix)
		msg := fmt.Sprintf("%s entry %d", prefix, i)
		if i%5 == 0 {
			b.WriteString(binField("MESSAGE", []byte(msg+"\nsecond line\n\tthird")))
		} else {
			fmt.Fprintf(&b, "MESSAGE=%s\n", msg)
		}
		if i%7 == 0 {
			b.WriteString(binField("BLOB", blobOf(i)))
		}
		b.WriteByte('\n')
	}
	out := filepath.Join(dir, prefix+".journal")
	cmd := exec.Command(remote, "--output="+out, "-")
	cmd.Stdin = &b
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v\n%s", err, o)
	}
	return out
}

func binField(name string, v []byte) string {
	var sz [8]byte
	binary.LittleEndian.PutUint64(sz[:], uint64(len(v)))
	return name + "\n" + string(sz[:]) + string(v) + "\n"
}

func blobOf(i int) []byte { return []byte{0, 0xff, byte(i), '\n', 0xfe, byte(i >> 8), 0x80} }

// journalEntries counts the events of prefix in the output file: how many
// times each entry number arrived; every one is checked (mapping, binary
// fields).
func journalEntries(t *testing.T, path, prefix string) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for _, ev := range readEvents(t, path) {
		if ev.App != prefix {
			continue
		}
		first, _, _ := strings.Cut(ev.Message, "\n")
		i, err := strconv.Atoi(strings.TrimPrefix(first, prefix+" entry "))
		if err != nil {
			t.Fatalf("message %q", ev.Message)
		}
		seen[i]++
		if seen[i] > 1 {
			continue
		}
		want := fmt.Sprintf("%s entry %d", prefix, i)
		if i%5 == 0 {
			want += "\nsecond line\n\tthird"
		}
		blob, _ := base64.StdEncoding.DecodeString(ev.Fields["BLOB.base64"])
		if ev.Message != want || ev.Host != fmt.Sprintf("web-%d", i%3) || ev.Severity != protocol.Severity(i%8) ||
			ev.ProcID != strconv.Itoa(1000+i) || !ev.Time.Equal(time.UnixMicro(1764583200000000+int64(i))) ||
			ev.Transport != "journal" || ev.Fields["_SYSTEMD_UNIT"] != prefix+".service" || ev.Fields["__CURSOR"] == "" ||
			(i%7 == 0) != bytes.Equal(blob, blobOf(i)) {
			t.Fatalf("entry %d: %+v", i, ev)
		}
	}
	return seen
}

// TestJournalUploadIntegration: the real systemd-journal-upload sends
// journal files (made by the real systemd-journal-remote) to the real
// binary's POST /upload. Every entry arrives once, binary fields intact;
// a second run with the saved state sends nothing again. Then a large
// upload is cut by SIGKILLing the node mid-way: journal-upload fails and
// keeps its cursor; with the node restarted, running it again delivers
// the rest: every entry is there (the entries stored before the kill
// are sent again: the node skips those it recorded as stored, by journal
// sequence number).
func TestJournalUploadIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes (systemd-journal-upload, the binary)")
	}
	remote := needSystemd(t, "systemd-journal-remote")
	upload := needSystemd(t, "systemd-journal-upload")
	bin := buildBinary(t)
	dir := t.TempDir()
	const token = "journal-token-42"
	httpPort := freePort(t)
	cfg := writeTCPNodeConfig(t, dir, "jnode", freePort(t), httpPort,
		"[ingest]\ntokens = laptop:"+token+"\n[output.store]\nenabled = false\n")
	p := runBinary(t, bin, cfg, dir, "node")
	hostport := fmt.Sprintf("127.0.0.1:%d", httpPort)
	waitUp := func() {
		p.waitFor(time.Now().Add(30*time.Second), "the node's /metrics", func() bool {
			_, ok := scrapeMetric(hostport, "logpacker_wal_last_index")
			return ok
		})
	}
	waitUp()
	out := filepath.Join(dir, "data", "events.jsonl")
	runUpload := func(file, state string) (string, error) {
		cmd := exec.Command(upload, "--file="+file, "--save-state="+state, "--follow=no", fmt.Sprintf("--url=http://journal:%s@%s", token, hostport))
		o, err := cmd.CombinedOutput()
		return string(o), err
	}
	// the upload was answered 200: every entry is in the WAL; wait for
	// the file output to have written them all, then read it once
	waitCount := func(prefix string, n int) map[int]int {
		p.waitFor(time.Now().Add(120*time.Second), "the file output to catch up", func() bool {
			lag, ok := scrapeMetric(hostport, `logpacker_wal_cursor_lag_records{cursor="output.file"}`)
			return ok && lag == 0
		})
		return journalEntries(t, out, prefix)
	}

	// 1. a whole upload: every entry once
	const small = 3000
	f1 := journalFile(t, remote, dir, "first", small)
	state1 := filepath.Join(dir, "state-first")
	if o, err := runUpload(f1, state1); err != nil {
		t.Fatalf("journal-upload: %v\n%s\n%s", err, o, p.logs())
	}
	seen := waitCount("first", small)
	for i := 1; i <= small; i++ {
		if seen[i] != 1 {
			t.Fatalf("entry %d arrived %d times", i, seen[i])
		}
	}
	if st, _ := os.ReadFile(state1); !strings.Contains(string(st), "LAST_CURSOR=") {
		t.Fatalf("journal-upload saved no cursor: %q", st)
	}
	// the cursor was saved on our 200: a second run sends only the entry
	// at the saved cursor again (journal-upload 252 does), which the node
	// knows it stored
	if o, err := runUpload(f1, state1); err != nil {
		t.Fatalf("journal-upload again: %v\n%s", err, o)
	}
	if got, _ := scrapeMetric(hostport, `logpacker_http_ingest_events_total{endpoint="journal",source="laptop"}`); got != small {
		t.Fatalf("after a second run with the saved state the node stored %v entries in all, want %d", got, small)
	}
	dupsBefore, _ := scrapeMetric(hostport, "logpacker_journal_duplicates_total")
	t.Logf("second run with the saved state: %v entries sent again, skipped", dupsBefore)

	// 2. the node SIGKILLed mid-upload, restarted, journal-upload run again
	const large = 50000
	f2 := journalFile(t, remote, dir, "second", large)
	state2 := filepath.Join(dir, "state-second")
	done := make(chan error, 1)
	var firstOut string
	go func() {
		o, err := runUpload(f2, state2)
		firstOut = o
		done <- err
	}()
	p.waitFor(time.Now().Add(120*time.Second), "part of the large upload in the WAL", func() bool {
		v, _ := scrapeMetric(hostport, `logpacker_http_ingest_events_total{endpoint="journal",source="laptop"}`)
		return v >= small+2000
	})
	p.kill()
	if err := <-done; err == nil {
		t.Fatalf("journal-upload succeeded although the node was killed mid-upload (upload finished first?):\n%s", firstOut)
	}
	t.Logf("journal-upload, node killed: %s", lastLine(firstOut))
	p.start()
	waitUp()
	if o, err := runUpload(f2, state2); err != nil {
		t.Fatalf("journal-upload after the restart: %v\n%s\n%s", err, o, p.logs())
	}
	seen = waitCount("second", large)
	dups := 0
	for i := 1; i <= large; i++ {
		switch c := seen[i]; {
		case c == 0:
			t.Fatalf("entry %d lost", i)
		case c > 1:
			dups += c - 1
		}
	}
	resent, _ := scrapeMetric(hostport, "logpacker_journal_duplicates_total")
	t.Logf("%d entries, every one stored; after the kill journal-upload sent %v again that the node skipped (already stored), %d stored twice (stored in the moment between the WAL's fsync and the record of stored entries)", large, resent, dups)
	if seen := journalEntries(t, out, "first"); len(seen) != small {
		t.Fatalf("the first upload's entries: %d, want %d", len(seen), small)
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
