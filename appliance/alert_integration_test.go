package appliance_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/alert/alerttest"
)

// sendSeverity sends n RFC 5424 messages of priority pri (facility*8 +
// severity) from app over one TCP connection.
func sendSeverity(t *testing.T, addr, app string, pri, from, n int) {
	t.Helper()
	c := dialRetry(t, addr)
	defer c.Close()
	w := bufio.NewWriter(c)
	for i := from; i < from+n; i++ {
		fmt.Fprintf(w, "<%d>1 2026-12-02T10:00:00Z web-1 %s - - - %s event %d\n", pri, app, app, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// outboxTotals reads the digests in data_dir/alert/outbox: ID → events.
func outboxTotals(t *testing.T, dataDir string) map[string]int {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dataDir, "alert", "outbox", "*.json"))
	out := map[string]int{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue // sent and removed meanwhile
		}
		var d struct {
			ID    string
			Total int
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out[d.ID] = d.Total
	}
	return out
}

var subjectTotal = regexp.MustCompile(`^\[logpacker\] (\S+)/default: (\d+) events`)

// mailed sums the mails' events by rule and fails on a digest mailed twice.
func mailed(t *testing.T, s *alerttest.SMTP) map[string]int {
	t.Helper()
	out, seen := map[string]int{}, map[string]bool{}
	for _, m := range s.Mails() {
		msg, err := mail.ReadMessage(strings.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		id := msg.Header.Get("X-Logpacker-Digest")
		if seen[id] {
			t.Fatalf("digest %s mailed twice", id)
		}
		seen[id] = true
		sm := subjectTotal.FindStringSubmatch(msg.Header.Get("Subject"))
		if sm == nil {
			t.Fatalf("subject %q", msg.Header.Get("Subject"))
		}
		n, _ := strconv.Atoi(sm[2])
		out[sm[1]] += n
	}
	return out
}

// TestAlertKillIntegration: the real binary alerts by mail to a real SMTP
// server (STARTTLS, AUTH). A digest is built while the server refuses mail;
// SIGKILL; after the restart it is delivered exactly once. Again with the
// server stalling in DATA when the kill comes. Every event is counted
// exactly once across the digests. Then notify.ini is edited while the node
// runs: the new rule applies without a restart.
func TestAlertKillIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: integration test with real processes")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	s := alerttest.NewSMTP(t, dir)
	port, httpPort := freePort(t), freePort(t)
	cfg := writeTCPNodeConfig(t, dir, "alert-test", port, httpPort, "[output.file]\npath =\n[output.store]\nenabled = false\n")
	notify := "[notify]\nretry_min = 100ms\nretry_max = 200ms\n" + s.INI() +
		"from = logpacker@example.com\nemails = ops@example.com\n[rule.errors]\nproviders = smtp\nlevels = err\ninterval = 1s\n"
	if err := os.WriteFile(filepath.Join(dir, "notify.ini"), []byte(notify), 0o644); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s.Refuse(1 << 30)
	lp := runBinary(t, bin, cfg, dir, "logpacker")
	deadline := time.Now().Add(3 * time.Minute)
	waitFor := func(what string, ok func() bool) { t.Helper(); lp.waitFor(deadline, what, ok) }
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}

	// 1: built while the server refuses; SIGKILL; delivered once after.
	const n1 = 500
	sendSeverity(t, addr, "app", 8+3, 0, n1) // user.err
	waitFor("digests of every event in the outbox, refused", func() bool {
		return sum(outboxTotals(t, dataDir)) == n1 && s.Refused() > 0
	})
	built := outboxTotals(t, dataDir)
	lp.kill()
	s.Refuse(0)
	lp.start()
	waitFor("the digests mailed", func() bool { return mailed(t, s)["errors"] == n1 })
	waitFor("the outbox empty", func() bool { return len(outboxTotals(t, dataDir)) == 0 })
	if got := len(s.Mails()); got != len(built) {
		t.Fatalf("%d mails for the %d digests built before the kill", got, len(built))
	}

	// 2: SIGKILL while the server holds the mail in DATA (not taken).
	const n2 = 300
	s.Hold()
	sendSeverity(t, addr, "app", 8+3, n1, n2)
	waitFor("a digest stalled in DATA", func() bool { return s.Held() > 0 })
	lp.kill()
	s.Release()
	lp.start()
	waitFor("every event mailed", func() bool { return mailed(t, s)["errors"] == n1+n2 })
	waitFor("the outbox empty", func() bool { return len(outboxTotals(t, dataDir)) == 0 })

	// 3: a new rule, by editing notify.ini while the node runs.
	logPath := filepath.Join(dir, fmt.Sprintf("logpacker.%d.log", lp.starts))
	notify += "[rule.auth]\nproviders = smtp\napp = sshd\ninterval = 1s\n"
	if err := os.WriteFile(filepath.Join(dir, "notify.ini"), []byte(notify), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("the reload of notify.ini", func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "reload: notify.ini applied")
	})
	const n3 = 40
	sendSeverity(t, addr, "sshd", 32+6, 0, n3) // auth.info: only the new rule
	waitFor("the new rule's digest", func() bool { return mailed(t, s)["auth"] == n3 })
	if got := mailed(t, s)["errors"]; got != n1+n2 {
		t.Fatalf("rule errors: %d events mailed, want %d", got, n1+n2)
	}
}
