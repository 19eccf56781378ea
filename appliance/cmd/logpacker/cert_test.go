package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCertCommand: `logpacker cert ca` and `cert node` make a CA and a node
// certificate that verifies against it, for the node's address; running
// either again refuses to overwrite; bad usage is an error.
func TestCertCommand(t *testing.T) {
	dir := t.TempDir()
	ca, node := filepath.Join(dir, "ca"), filepath.Join(dir, "n1")
	var out bytes.Buffer
	if err := cmdCert([]string{"ca", "-dir", ca, "-days", "30"}, &out); err != nil {
		t.Fatal(err)
	}
	if err := cmdCert([]string{"node", "-ca", ca, "-id", "relay-7", "-host", "127.0.0.1,relay7.example.org", "-dir", node}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "for node relay-7") {
		t.Fatalf("output %q", out.String())
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(node, "node.crt"), filepath.Join(node, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	caPEM, _ := os.ReadFile(filepath.Join(ca, "ca.crt"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	for _, name := range []string{"127.0.0.1", "relay7.example.org"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Fatalf("verify for %s: %v", name, err)
		}
	}
	if err := cmdCert([]string{"ca", "-dir", ca}, &out); err == nil {
		t.Fatal("CA overwritten")
	}
	for _, bad := range [][]string{nil, {"bogus"}, {"node", "-ca", ca}, {"node", "-ca", filepath.Join(dir, "none"), "-id", "x", "-dir", filepath.Join(dir, "x")}} {
		if err := cmdCert(bad, &out); err == nil {
			t.Fatalf("cert %q accepted", bad)
		}
	}
}
