package protocol

import (
	"testing"
	"time"
)

// benchSyslogMessage is a typical 200-byte ASCII syslog message body.
var benchSyslogMessage = func() string {
	s := `10.1.2.3 - alice [24/Nov/2026:11:00:00 +0000] GET /api/v1/items?page=2&limit=50 HTTP/1.1 status=200 bytes=5123 ` +
		`ua="curl/8.5.0" rt=0.012 upstream=10.1.9.9:8080 request_id=9f1c2b7d4e5a6b7c8d9e0f1a2b3c4d5e`
	for len(s) < 200 {
		s += "x"
	}
	return s[:200]
}()

func BenchmarkAppendEscaped(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchSyslogMessage)))
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = appendEscaped(buf[:0], benchSyslogMessage)
	}
	sink = buf
}

func BenchmarkAppendJSONTime(b *testing.B) {
	b.ReportAllocs()
	zones := []struct {
		name string
		t    time.Time
	}{
		{"UTC", time.Date(2026, 11, 24, 11, 0, 0, 123456789, time.UTC)},
		{"Fixed", time.Date(2026, 11, 24, 12, 0, 0, 5000, time.FixedZone("", 3600))},
	}
	for _, z := range zones {
		b.Run(z.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 64)
			for b.Loop() {
				buf = appendJSONTime(buf[:0], z.t)
			}
			sink = buf
		})
	}
}
