package syslog

import (
	"bytes"
	"strconv"
	"testing"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"

	"logpacker/protocol"
)

// A realistic 200-byte RFC 5424 message (rsyslog forwarding sshd).
var msg5424 = []byte(`<38>1 2026-11-24T11:31:50.193959+01:00 web01.example.com sshd 7721 - [timeQuality tzKnown="1" isSynced="1"] Accepted publickey for deploy from 10.20.30.40 port 52144 ssh2: ED25519 SHA256:abc`)

var msg3164 = []byte(`<38>Nov 24 11:31:50 web01.example.com sshd[7721]: Accepted publickey for deploy from 10.20.30.40 port 52144 ssh2: ED25519 SHA256:Qm9vZ2llIHdvb2dpZSBib29naWUgd29vZ2ll`)

func BenchmarkParse5424(b *testing.B) {
	p := newTestParser(0)
	var ev protocol.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(msg5424)))
	for b.Loop() {
		p.Parse(msg5424, &ev)
	}
	if ev.ParseErr != "" || len(ev.SD) != 1 {
		b.Fatal(ev.ParseErr)
	}
}

// BenchmarkParse5424GoSyslog is the fallback path alone, for comparison.
func BenchmarkParse5424GoSyslog(b *testing.B) {
	p := newTestParser(0)
	var ev protocol.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(msg5424)))
	for b.Loop() {
		p.slow5424(msg5424, 38, 4, &ev)
	}
}

func BenchmarkParse3164(b *testing.B) {
	p := newTestParser(0)
	var ev protocol.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(msg3164)))
	for b.Loop() {
		p.Parse(msg3164, &ev)
	}
	if ev.ParseErr != "" || ev.App != "sshd" {
		b.Fatal(ev.ParseErr)
	}
}

// BenchmarkParse3164GoSyslog: go-syslog's RFC 3164 machine, for comparison only.
func BenchmarkParse3164GoSyslog(b *testing.B) {
	m := rfc3164.NewMachine(rfc3164.WithBestEffort())
	b.ReportAllocs()
	b.SetBytes(int64(len(msg3164)))
	var r gosyslog.Message
	for b.Loop() {
		r, _ = m.Parse(msg3164)
	}
	_ = r
}

func streamOf(n int, frame func(int) []byte) []byte {
	var buf bytes.Buffer
	for i := 0; i < n; i++ {
		buf.Write(frame(i))
	}
	return buf.Bytes()
}

func benchFramer(b *testing.B, stream []byte, n int) {
	b.ReportAllocs()
	b.SetBytes(int64(len(stream) / n))
	r := bytes.NewReader(stream)
	f := NewFramer(r, 0)
	i := 0
	for b.Loop() {
		if i == n {
			r.Reset(stream)
			f = NewFramer(r, 0) // amortised: once per n frames
			i = 0
		}
		if _, _, err := f.Next(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkFramerOctetCounted(b *testing.B) {
	const n = 10000
	frame := append([]byte(strconv.Itoa(len(msg5424))+" "), msg5424...)
	benchFramer(b, streamOf(n, func(int) []byte { return frame }), n)
}

func BenchmarkFramerLF(b *testing.B) {
	const n = 10000
	frame := append(append([]byte{}, msg5424...), '\n')
	benchFramer(b, streamOf(n, func(int) []byte { return frame }), n)
}
