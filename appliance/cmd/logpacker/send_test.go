package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"logpacker/protocol"
	"logpacker/relay"
)

// TestSendCommand: `logpacker send` delivers generated messages and stdin
// lines over a real QUIC link to a relay listener, every one acknowledged,
// with the sender's node ID and distinct sequence numbers; with no parent
// reachable it fails.
func TestSendCommand(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca")
	var out bytes.Buffer
	for _, args := range [][]string{
		{"ca", "-dir", ca},
		{"node", "-ca", ca, "-id", "root", "-host", "127.0.0.1", "-dir", filepath.Join(dir, "root")},
		{"node", "-ca", ca, "-id", "sender-1", "-dir", filepath.Join(dir, "sender")},
	} {
		if err := cmdCert(args, &out); err != nil {
			t.Fatal(err)
		}
	}
	rootCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "root", "node.crt"), filepath.Join(dir, "root", "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool, _ := relay.CAPool(filepath.Join(ca, "ca.crt"))
	srv, err := relay.Listen(relay.ServerOptions{Addr: "127.0.0.1:0", NodeID: "root",
		TLS: &tls.Config{Certificates: []tls.Certificate{rootCert}, ClientCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []protocol.Event
	go srv.Run(ctx, func(_ context.Context, evs []protocol.Event) error {
		mu.Lock()
		got = append(got, evs...)
		mu.Unlock()
		return nil
	})
	creds := []string{"-ca", filepath.Join(ca, "ca.crt"), "-cert", filepath.Join(dir, "sender", "node.crt"),
		"-key", filepath.Join(dir, "sender", "node.key")}
	out.Reset()
	args := append([]string{"-to", srv.Addr().String(), "-count", "5000", "-size", "120", "-batch", "700"}, creds...)
	if err := cmdSend(args, strings.NewReader(""), &out); err != nil {
		t.Fatalf("send: %v (%s)", err, out.String())
	}
	if !strings.Contains(out.String(), "acknowledged 5000") {
		t.Fatalf("output %q", out.String())
	}
	args = append([]string{"-to", srv.Addr().String()}, creds...)
	if err := cmdSend(args, strings.NewReader("first line\nsecond line\nthird\n"), &out); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	ids := map[uint64]bool{}
	for _, ev := range got {
		if ev.ID.Node != "sender-1" || ids[ev.ID.Seq] || ev.Hops != 1 {
			t.Fatalf("event %+v (duplicate id: %v)", ev.ID, ids[ev.ID.Seq])
		}
		ids[ev.ID.Seq] = true
	}
	n := len(got)
	last := got[n-1].Message
	mu.Unlock()
	if n != 5003 || last != "third" || len(got[0].Message) != 120 {
		t.Fatalf("%d events, last %q", n, last)
	}
	// nobody listening: not acknowledged, an error
	args = append([]string{"-to", "127.0.0.1:1", "-count", "3", "-retries", "1"}, creds...)
	if err := cmdSend(args, strings.NewReader(""), &out); err == nil {
		t.Fatal("send to nowhere succeeded")
	}
}
