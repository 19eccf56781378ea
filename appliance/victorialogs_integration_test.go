package appliance_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/sink/victorialogs/vltest"
)

// TestVictoriaLogsOutputIntegration: a type = victorialogs output of a node
// sends what the syslog listener gets to a real VictoriaLogs, each event
// once by its id, and puts its counters on /metrics.
func TestVictoriaLogsOutputIntegration(t *testing.T) {
	vl := vltest.Start(t)
	n, _ := testNode(t, loopbackListeners+"[output.file]\npath =\n[output.vl]\ntype = victorialogs\nurls = "+vl.URL+
		"\nstream_fields = host, app\ncompression = zstd\nbatch_size = 300\n")
	const total = 2000
	sendSeq(t, n.Addr("syslog_tcp").String(), "vltest", total)
	deadline := time.Now().Add(30 * time.Second)
	for vl.Count(`app:=vltest`) < total {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events in VictoriaLogs after 30s", vl.Count(`app:=vltest`), total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows := vl.Query(`app:=vltest | uniq by (id, _msg) limit 100000`)
	msgs := map[string]bool{}
	for _, r := range rows {
		msgs[r["_msg"]] = true
	}
	if len(rows) != total || !msgs["seq=1"] || !msgs[fmt.Sprintf("seq=%d", total)] {
		t.Errorf("uniq by (id, _msg): %d rows (want %d), first/last there: %v %v", len(rows), total, msgs["seq=1"], msgs[fmt.Sprintf("seq=%d", total)])
	}
	one := vl.Query(`_msg:="seq=7"`)
	if len(one) != 1 || one[0]["host"] != "web-1" || one[0]["severity"] != "info" || one[0]["facility"] != "local0" ||
		!strings.HasPrefix(one[0]["_time"], "2026-11-24T12:00:00") || one[0]["_stream"] != `{app="vltest",host="web-1"}` {
		t.Errorf("seq=7: %v", one)
	}
	rec := httptest.NewRecorder()
	n.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if want := fmt.Sprintf("\nlogpacker_victorialogs_events_total{output=\"vl\"} %d\n", total); !strings.Contains(rec.Body.String(), want) {
		t.Errorf("/metrics has no%s", want)
	}
}
