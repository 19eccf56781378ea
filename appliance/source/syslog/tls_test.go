package syslog

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/internal/testca"
	"logpacker/appliance/source/internal/settingstest"
)

func TestTLSSettingsSet(t *testing.T) {
	var ts TLSSettings
	for _, kv := range [][2]string{{"cert_file", "s.crt"}, {"key_file", "s.key"}, {"client_ca_file", "ca.crt"}, {"client_auth", "request"}} {
		if err := ts.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if want := (TLSSettings{CertFile: "s.crt", KeyFile: "s.key", ClientCAFile: "ca.crt", ClientAuth: "request"}); ts != want {
		t.Errorf("%+v, want %+v", ts, want)
	}
	for _, tc := range []struct{ key, value, err string }{
		{"client_auth", "", `"" is not one of none, request, require`},
		{"client_auth", "Require", `"Require" is not one of none, request, require`},
		{"client_auth", "optional", `"optional" is not one of none, request, require`},
		{"client_auth", "require ", `"require " is not one of none, request, require`},
		{"ca_file", "ca.crt", "unknown key"},
		{"max_message_size", "64k", "unknown key"}, // a [syslog] key
	} {
		settingstest.Refused(t, DefaultTLSSettings(), tc.key, tc.value, tc.err)
	}
}

// writeAt writes b to p with the modification time mtime (so a rewrite is
// seen as a change whatever the file system's time granularity).
func writeAt(t *testing.T, p string, b []byte, mtime time.Time) string {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

// handshakeResult is what one TLS handshake over loopback showed each side.
type handshakeResult struct {
	serverCN  string // the CN of the certificate the client was shown
	clientCN  string // the CN of the verified client certificate the server saw; "" none
	serverErr error  // the server's handshake error
	clientErr error  // the client's handshake error
}

// handshake runs one handshake between a server with sc and a client with cc.
func handshake(t *testing.T, sc, cc *tls.Config) handshakeResult {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type srvRes struct {
		cn  string
		err error
	}
	done := make(chan srvRes, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- srvRes{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, sc)
		err = tc.Handshake()
		var cn string
		if st := tc.ConnectionState(); err == nil && len(st.VerifiedChains) > 0 {
			cn = st.VerifiedChains[0][0].Subject.CommonName
		}
		done <- srvRes{cn, err}
	}()
	var r handshakeResult
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(c, cc)
	if r.clientErr = tc.Handshake(); r.clientErr == nil {
		if pc := tc.ConnectionState().PeerCertificates; len(pc) > 0 {
			r.serverCN = pc[0].Subject.CommonName
		}
		// TLS 1.3: a refused client certificate shows as an alert after
		// the client's handshake; wait for the server to close.
		tc.Read(make([]byte, 1))
	}
	c.Close() // a client that failed does not keep the server waiting
	sr := <-done
	r.clientCN, r.serverErr = sr.cn, sr.err
	return r
}

// clientConfig trusts ca and shows the certificate pair (if any) when the
// server asks for one.
func clientConfig(t *testing.T, ca *testca.CA, certPEM, keyPEM []byte) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	cc := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if certPEM != nil {
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		// Sent whenever asked for, even when the server does not name
		// its issuer (Go's client would otherwise send nothing).
		cc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }
	}
	return cc
}

// TestTLSCertificateRotation: a certificate replaced on disk is served from
// the next handshake after the check interval, without a restart; before the
// interval the old one is served; a changed file that does not load (a
// certificate whose key is not written yet, garbage, a removed file) keeps
// the old certificate, logged, until the new pair loads.
func TestTLSCertificateRotation(t *testing.T) {
	ca := testca.New(t, "test CA")
	dir := t.TempDir()
	t0 := time.Now().Add(-time.Hour)
	c1, k1 := ca.Issue(t, "first", true)
	ts := TLSSettings{
		CertFile: writeAt(t, filepath.Join(dir, "s.crt"), c1, t0),
		KeyFile:  writeAt(t, filepath.Join(dir, "s.key"), k1, t0),
	}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	// slow looks at the file once an hour, fast at most every 50 ms.
	slow, err := ts.serverConfig(log, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := ts.serverConfig(log, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	cc := clientConfig(t, ca, nil, nil)
	expect := func(sc *tls.Config, want, when string) {
		t.Helper()
		r := handshake(t, sc, cc)
		if r.clientErr != nil || r.serverErr != nil {
			t.Fatalf("%s: handshake: client %v, server %v", when, r.clientErr, r.serverErr)
		}
		if r.serverCN != want {
			t.Errorf("%s: served %q, want %q", when, r.serverCN, want)
		}
	}
	logged := func(msg string) {
		t.Helper()
		if !strings.Contains(logBuf.String(), msg) {
			t.Errorf("%q is not logged:\n%s", msg, logBuf.String())
		}
	}
	wait := func() { time.Sleep(100 * time.Millisecond) } // more than fast's interval
	expect(slow, "first", "at start")
	expect(fast, "first", "at start")

	// The certificate is rotated, its key not yet: the pair does not load.
	c2, k2 := ca.Issue(t, "second", true)
	writeAt(t, ts.CertFile, c2, t0.Add(time.Minute))
	wait()
	expect(fast, "first", "with a mismatched key")
	logged("cannot load the changed TLS certificate; keeping the old one")
	// Then the key: the next handshake after the interval gets the new pair.
	writeAt(t, ts.KeyFile, k2, t0.Add(time.Minute))
	wait()
	expect(fast, "second", "after rotation")
	logged("TLS certificate reloaded")
	expect(slow, "first", "within the check interval")

	// A broken file, then none at all: the last good certificate stays.
	writeAt(t, ts.CertFile, []byte("not a certificate\n"), t0.Add(2*time.Minute))
	wait()
	expect(fast, "second", "with a broken file")
	if err := os.Remove(ts.CertFile); err != nil {
		t.Fatal(err)
	}
	wait()
	expect(fast, "second", "with the file removed")
	if certCheckInterval != 5*time.Second {
		t.Errorf("ServerConfig checks every %s, documented as 5 s", certCheckInterval)
	}
}

// TestTLSClientAuth: none never asks for a client certificate; request
// verifies one if given; require refuses a client without one. A
// certificate from another CA is refused by request and require.
func TestTLSClientAuth(t *testing.T) {
	ca, other := testca.New(t, "test CA"), testca.New(t, "other CA")
	dir := t.TempDir()
	sc, sk := ca.Issue(t, "logpacker", true)
	cc, ck := ca.Issue(t, "client-1", false)
	oc, ok := other.Issue(t, "stranger", false)
	now := time.Now()
	base := TLSSettings{
		CertFile:     writeAt(t, filepath.Join(dir, "s.crt"), sc, now),
		KeyFile:      writeAt(t, filepath.Join(dir, "s.key"), sk, now),
		ClientCAFile: writeAt(t, filepath.Join(dir, "ca.crt"), ca.PEM, now),
	}
	for _, tc := range []struct {
		mode       string
		cert, key  []byte
		wantClient string // CN the server verified
		refused    bool
	}{
		{"", nil, nil, "", false},
		{"none", nil, nil, "", false},
		{"none", cc, ck, "", false}, // not asked for: not sent
		{"request", nil, nil, "", false},
		{"request", cc, ck, "client-1", false},
		{"request", oc, ok, "", true},
		{"require", nil, nil, "", true},
		{"require", cc, ck, "client-1", false},
		{"require", oc, ok, "", true},
	} {
		ts := base
		ts.ClientAuth = tc.mode
		cfg, err := ts.ServerConfig(nil)
		if err != nil {
			t.Fatalf("client_auth = %q: %v", tc.mode, err)
		}
		r := handshake(t, cfg, clientConfig(t, ca, tc.cert, tc.key))
		if (r.serverErr != nil) != tc.refused || r.clientCN != tc.wantClient || r.clientErr != nil && !tc.refused {
			t.Errorf("client_auth = %q, client certificate %v: server saw %q, server error %v, client error %v",
				tc.mode, tc.cert != nil, r.clientCN, r.serverErr, r.clientErr)
		}
	}
	// The zero TLSSettings' client_auth is none, and the CA file alone asks
	// for nothing.
	if cfg, err := base.ServerConfig(nil); err != nil || cfg.ClientAuth != tls.NoClientCert || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("no client_auth: %v, %v", cfg.ClientAuth, err)
	}
}

// TestTLSServerConfigErrors: what fails the listener's start, and how it reads.
func TestTLSServerConfigErrors(t *testing.T) {
	ca := testca.New(t, "test CA")
	dir := t.TempDir()
	sc, sk := ca.Issue(t, "logpacker", true)
	now := time.Now()
	crt := writeAt(t, filepath.Join(dir, "s.crt"), sc, now)
	key := writeAt(t, filepath.Join(dir, "s.key"), sk, now)
	noPEM := writeAt(t, filepath.Join(dir, "nopem.crt"), []byte("just text\n"), now)
	missing := filepath.Join(dir, "missing.crt")
	for _, tc := range []struct {
		name string
		ts   TLSSettings
		want string // the whole error, or its start when it ends in "…"
		is   error
	}{
		{"client_ca_file missing", TLSSettings{CertFile: crt, KeyFile: key, ClientCAFile: missing, ClientAuth: "require"},
			"source/syslog: tls: client_ca_file: open " + missing + ": no such file or directory", os.ErrNotExist},
		{"client_ca_file without PEM", TLSSettings{CertFile: crt, KeyFile: key, ClientCAFile: noPEM, ClientAuth: "request"},
			"source/syslog: tls: client_ca_file " + noPEM + ": no PEM certificates", nil},
		{"client_ca_file a key", TLSSettings{CertFile: crt, KeyFile: key, ClientCAFile: key, ClientAuth: "none"},
			"source/syslog: tls: client_ca_file " + key + ": no PEM certificates", nil},
		{"client_auth without client_ca_file", TLSSettings{CertFile: crt, KeyFile: key, ClientAuth: "require"},
			"source/syslog: tls: client_auth = require needs client_ca_file", nil},
		{"bad client_auth", TLSSettings{CertFile: crt, KeyFile: key, ClientAuth: "always"},
			`source/syslog: tls: client_auth: "always" is not one of none, request, require`, nil},
		{"no cert_file", TLSSettings{KeyFile: key}, "source/syslog: tls: stat : no such file or directory", os.ErrNotExist},
		{"cert_file missing", TLSSettings{CertFile: missing, KeyFile: key},
			"source/syslog: tls: stat " + missing + ": no such file or directory", os.ErrNotExist},
		{"key_file missing", TLSSettings{CertFile: crt, KeyFile: missing},
			"source/syslog: tls: open " + missing + ": no such file or directory", os.ErrNotExist},
		{"cert and key swapped", TLSSettings{CertFile: key, KeyFile: crt}, "source/syslog: tls: tls: …", nil},
	} {
		cfg, err := tc.ts.ServerConfig(nil)
		if err == nil {
			t.Errorf("%s: no error (%v)", tc.name, cfg)
			continue
		}
		if w, prefix := strings.CutSuffix(tc.want, "…"); prefix && !strings.HasPrefix(err.Error(), w) || !prefix && err.Error() != w {
			t.Errorf("%s: %q, want %q", tc.name, err, tc.want)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: %v is not %v", tc.name, err, tc.is)
		}
	}
}
