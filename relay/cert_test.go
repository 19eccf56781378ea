package relay

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustCA(t *testing.T, dir string) {
	t.Helper()
	if err := NewCA(dir, "test CA", 24*time.Hour); err != nil {
		t.Fatal(err)
	}
}

func mustNode(t *testing.T, caDir, dir, id string) tls.Certificate {
	t.Helper()
	if err := NewNodeCert(caDir, dir, id, []string{"127.0.0.1", "::1", "localhost"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	c, err := tls.LoadX509KeyPair(filepath.Join(dir, NodeCertFile), filepath.Join(dir, NodeKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCertificates(t *testing.T) {
	root := t.TempDir()
	caDir := filepath.Join(root, "ca")
	mustCA(t, caDir)
	cert := mustNode(t, caDir, filepath.Join(root, "leaf"), "leaf-1")

	pool, err := CAPool(filepath.Join(caDir, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "leaf-1" || len(leaf.IPAddresses) != 2 || len(leaf.DNSNames) != 1 {
		t.Fatalf("subject %q, IPs %v, DNS %v", leaf.Subject.CommonName, leaf.IPAddresses, leaf.DNSNames)
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "localhost", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Fatalf("verify for %v: %v", usage, err)
		}
	}
	// keys are private
	for _, p := range []string{filepath.Join(caDir, CAKeyFile), filepath.Join(root, "leaf", NodeKeyFile)} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v", p, fi.Mode(), err)
		}
	}
	// never overwritten
	if err := NewCA(caDir, "again", time.Hour); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second CA in the same dir: %v", err)
	}
	if err := NewNodeCert(caDir, filepath.Join(root, "leaf"), "leaf-1", nil, time.Hour); err == nil {
		t.Fatal("node certificate overwritten")
	}
	// a node certificate cannot sign: LoadCA refuses a node directory
	os.Rename(filepath.Join(root, "leaf", NodeCertFile), filepath.Join(root, "leaf", CACertFile))
	os.Rename(filepath.Join(root, "leaf", NodeKeyFile), filepath.Join(root, "leaf", CAKeyFile))
	if err := NewNodeCert(filepath.Join(root, "leaf"), filepath.Join(root, "x"), "x", nil, time.Hour); err == nil {
		t.Fatal("a node certificate was used as a CA")
	}
	// bad input
	if err := NewNodeCert(caDir, filepath.Join(root, "y"), "", nil, time.Hour); err == nil {
		t.Fatal("empty node ID accepted")
	}
	if err := NewCA(filepath.Join(root, "z"), "", 0); err == nil {
		t.Fatal("zero validity accepted")
	}
}

// TestMutualTLS: over a real loopback TLS connection configured as links
// are (both sides present certificates, both verify against the cluster CA),
// nodes of the same CA talk; a peer with a certificate of another CA, or
// with none, is refused.
func TestMutualTLS(t *testing.T) {
	root := t.TempDir()
	mustCA(t, filepath.Join(root, "ca"))
	mustCA(t, filepath.Join(root, "other-ca"))
	server := mustNode(t, filepath.Join(root, "ca"), filepath.Join(root, "root"), "root-1")
	client := mustNode(t, filepath.Join(root, "ca"), filepath.Join(root, "leaf"), "leaf-1")
	stranger := mustNode(t, filepath.Join(root, "other-ca"), filepath.Join(root, "stranger"), "leaf-x")
	pool, _ := CAPool(filepath.Join(root, "ca", CACertFile))

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{server}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS13,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peers := make(chan string, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				peers <- "refused"
				c.Close()
				continue
			}
			peers <- tc.ConnectionState().PeerCertificates[0].Subject.CommonName
			io.WriteString(c, "ok")
			c.Close()
		}
	}()
	dial := func(certs []tls.Certificate, roots *x509.CertPool) error {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
			Certificates: certs, RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS13,
		})
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = io.ReadAll(c) // TLS 1.3: a refused client certificate shows on the first read
		return err
	}
	if err := dial([]tls.Certificate{client}, pool); err != nil {
		t.Fatalf("same CA: %v", err)
	}
	if got := <-peers; got != "leaf-1" {
		t.Fatalf("server saw %q", got)
	}
	for name, certs := range map[string][]tls.Certificate{"other CA": {stranger}, "no certificate": nil} {
		if err := dial(certs, pool); err == nil {
			t.Fatalf("%s: connection accepted", name)
		}
		if got := <-peers; got != "refused" {
			t.Fatalf("%s: server saw %q", name, got)
		}
	}
	// and the client refuses a server of another CA
	otherPool, _ := CAPool(filepath.Join(root, "other-ca", CACertFile))
	var uerr x509.UnknownAuthorityError
	if err := dial([]tls.Certificate{client}, otherPool); !errors.As(err, &uerr) {
		t.Fatalf("server of another CA: %v", err)
	}
	<-peers
}

func TestCAPoolErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.crt")
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "NOT A CERT", Bytes: []byte{1}}), 0o644)
	if _, err := CAPool(p); err == nil {
		t.Fatal("no certificate accepted")
	}
	if _, err := CAPool(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

// TestLoadTLS: a node's link configuration holds its certificate and trusts
// the cluster CA on the side it verifies; a certificate made for another node
// ID, and missing files, are refused with an error that names them.
func TestLoadTLS(t *testing.T) {
	root := t.TempDir()
	caDir, dir := filepath.Join(root, "ca"), filepath.Join(root, "leaf")
	mustCA(t, caDir)
	mustNode(t, caDir, dir, "leaf-1")
	files := TLSFiles{CA: filepath.Join(caDir, CACertFile), Cert: filepath.Join(dir, NodeCertFile), Key: filepath.Join(dir, NodeKeyFile)}

	for _, server := range []bool{true, false} {
		tc, err := LoadTLS(files, "leaf-1", server)
		if err != nil {
			t.Fatalf("server=%v: %v", server, err)
		}
		if len(tc.Certificates) != 1 || (tc.ClientCAs != nil) != server || (tc.RootCAs != nil) == server {
			t.Fatalf("server=%v: %d certificates, ClientCAs %v, RootCAs %v", server, len(tc.Certificates), tc.ClientCAs != nil, tc.RootCAs != nil)
		}
	}

	_, err := LoadTLS(files, "leaf-2", false)
	want := fmt.Sprintf("relay: certificate %s is for node %q, this node is %q ([node] id)", files.Cert, "leaf-1", "leaf-2")
	if err == nil || err.Error() != want {
		t.Fatalf("another node's certificate: %v, want %q", err, want)
	}

	for name, f := range map[string]TLSFiles{
		"no certificate": {CA: files.CA, Cert: filepath.Join(root, "missing.crt"), Key: files.Key},
		"no CA":          {CA: filepath.Join(root, "missing-ca.crt"), Cert: files.Cert, Key: files.Key},
	} {
		if _, err := LoadTLS(f, "leaf-1", true); err == nil || !strings.HasPrefix(err.Error(), "relay: ") {
			t.Fatalf("%s: %v", name, err)
		}
	}
}
