package appliance_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"logpacker/appliance/internal/testca"
	"logpacker/protocol"
)

func writeFile(t *testing.T, p string, b []byte) string {
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTLSWithClientCertificates: RFC 5425 over TLS with client_auth =
// require; a client without a certificate is refused (and counted), one
// with a certificate from the CA gets its octet-counted messages through.
func TestTLSWithClientCertificates(t *testing.T) {
	ca := testca.New(t, "test CA")
	certDir := t.TempDir()
	sc, sk := ca.Issue(t, "logpacker", true)
	cc, ck := ca.Issue(t, "client-1", false)
	ini := fmt.Sprintf(`[listen]
syslog_udp =
syslog_tcp =
syslog_tls = 127.0.0.1:0
http = 127.0.0.1:0
[tls]
cert_file = %s
key_file = %s
client_ca_file = %s
client_auth = require
`, writeFile(t, filepath.Join(certDir, "s.crt"), sc), writeFile(t, filepath.Join(certDir, "s.key"), sk),
		writeFile(t, filepath.Join(certDir, "ca.crt"), ca.PEM))
	n, dir := testNode(t, ini)
	addr := n.Addr("syslog_tls").String()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)

	// No client certificate: the handshake fails.
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool}); err == nil {
		c.Write([]byte("<13>1 - h nocert - - - should not arrive\n"))
		buf := make([]byte, 1)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err == nil {
			t.Errorf("server accepted a client without certificate")
		}
		c.Close()
	}
	pair, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("<14>1 2026-11-24T10:00:0%dZ h tlsapp - - - secure %d", i, i)
		fmt.Fprintf(c, "%d %s", len(msg), msg)
	}
	c.Close()
	evs := waitEvents(t, filepath.Join(dir, "events.jsonl"), 3, 10*time.Second, func(ev protocol.Event) bool { return ev.App == "tlsapp" })
	for _, ev := range evs {
		if ev.Transport != "tls" || ev.ParseErr != "" {
			t.Errorf("%s", ev.AppendJSON(nil))
		}
	}
	for _, ev := range readEvents(t, filepath.Join(dir, "events.jsonl")) {
		if ev.App == "nocert" {
			t.Errorf("message from a client without certificate arrived")
		}
	}
	if v := metric(t, n.Addr("http"), `logpacker_listener_rejected_connections_total{listener="syslog_tls"}`); v < 1 {
		t.Errorf("rejected_connections_total = %v", v)
	}
}

// TestUnixSocket: a /dev/log-style socket, written to by logger -u.
func TestUnixSocket(t *testing.T) {
	logger := need(t, "logger")
	sock := filepath.Join(t.TempDir(), "log.sock")
	n, dir := testNode(t, fmt.Sprintf("[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\nsyslog_unix = %s\n", sock))
	_ = n
	st, err := os.Stat(sock)
	if err != nil || st.Mode().Perm() != 0o666 {
		t.Fatalf("socket %s: %v %v", sock, st.Mode(), err)
	}
	if b, err := runCmd(logger, "-u", sock, "-t", "localapp", "-p", "auth.err", "hello over /dev/log"); err != nil {
		t.Fatalf("logger: %v %s", err, b)
	}
	evs := waitEvents(t, filepath.Join(dir, "events.jsonl"), 1, 10*time.Second, nil)
	ev := evs[0]
	if ev.App != "localapp" || ev.Message != "hello over /dev/log" || ev.Transport != "unix" || ev.Facility != protocol.FacAuth || ev.Severity != protocol.SevErr {
		t.Errorf("%s", ev.AppendJSON(nil))
	}
}

// TestTLSPathsRelativeToDataDir: [tls] paths follow the rule of [relay]'s
// and the outputs': relative to data_dir (not to the working directory,
// which here holds other, wrong files of the same names), absolute as given.
func TestTLSPathsRelativeToDataDir(t *testing.T) {
	ca := testca.New(t, "test CA")
	sc, sk := ca.Issue(t, "logpacker", true)
	cc, ck := ca.Issue(t, "client-1", false)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "tls", "s.crt"), sc)
	writeFile(t, filepath.Join(dir, "tls", "ca.crt"), ca.PEM)
	abs := writeFile(t, filepath.Join(t.TempDir(), "s.key"), sk)
	wd := t.TempDir()
	if err := os.Mkdir(filepath.Join(wd, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	other := testca.New(t, "other CA")
	oc, _ := other.Issue(t, "elsewhere", true)
	writeFile(t, filepath.Join(wd, "tls", "s.crt"), oc)
	writeFile(t, filepath.Join(wd, "tls", "ca.crt"), other.PEM)
	t.Chdir(wd)

	n := testNodeIn(t, dir, fmt.Sprintf(`[listen]
syslog_udp =
syslog_tcp =
syslog_tls = 127.0.0.1:0
http =
[tls]
cert_file = tls/s.crt
key_file = %s
client_ca_file = tls/ca.crt
client_auth = require
`, abs))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	pair, err := tls.X509KeyPair(cc, ck)
	if err != nil {
		t.Fatal(err)
	}
	// The server's certificate is data_dir's (the CA verifies it) and so is
	// the client CA (it accepts our certificate).
	c, err := tls.Dial("tcp", n.Addr("syslog_tls").String(), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	msg := "<14>1 2026-11-24T10:00:00Z h tlsrel - - - relative"
	fmt.Fprintf(c, "%d %s", len(msg), msg)
	c.Close()
	waitEvents(t, filepath.Join(dir, "events.jsonl"), 1, 10*time.Second, func(ev protocol.Event) bool { return ev.App == "tlsrel" })
}
