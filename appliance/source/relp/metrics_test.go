package relp

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// relpExposition is what /metrics shows of a RELP server's Stats, with
// frames, bad_frames, oversized, acked and unacked_closes set to the values
// given (the names and help texts node.go registered before the Server
// became a prometheus.Collector).
func relpExposition(frames, bad, oversized, acked, unacked int) string {
	return strings.NewReplacer("FRAMES", strconv.Itoa(frames), "BAD", strconv.Itoa(bad), "OVERSIZED", strconv.Itoa(oversized),
		"ACKED", strconv.Itoa(acked), "UNACKED", strconv.Itoa(unacked)).Replace(`
# HELP logpacker_relp_acked_total RELP syslog transactions answered 200 OK, each after its message was in the WAL.
# TYPE logpacker_relp_acked_total counter
logpacker_relp_acked_total ACKED
# HELP logpacker_relp_bad_frames_total RELP connections closed for a malformed frame or a protocol violation.
# TYPE logpacker_relp_bad_frames_total counter
logpacker_relp_bad_frames_total BAD
# HELP logpacker_relp_frames_total RELP frames read (every command).
# TYPE logpacker_relp_frames_total counter
logpacker_relp_frames_total FRAMES
# HELP logpacker_relp_oversized_total RELP frames refused because their DATA exceeded [relp] max_data_size (also in bad_frames).
# TYPE logpacker_relp_oversized_total counter
logpacker_relp_oversized_total OVERSIZED
# HELP logpacker_relp_unacked_closes_total RELP connections closed without acknowledging because the WAL refused a batch (the client resends).
# TYPE logpacker_relp_unacked_closes_total counter
logpacker_relp_unacked_closes_total UNACKED
`)
}

// TestCollector: registered with a registry, a Server exports its Stats
// under the names and help texts of logpacker_relp_*_total, as counters,
// and passes the client library's lint.
func TestCollector(t *testing.T) {
	s, err := Listen(Options{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(relpExposition(0, 0, 0, 0, 0))); err != nil {
		t.Error(err)
	}
	s.Stats.Frames.Add(9)
	s.Stats.BadFrames.Add(2)
	s.Stats.Oversized.Add(1)
	s.Stats.Acked.Add(5)
	s.Stats.UnackedCloses.Add(3)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(relpExposition(9, 2, 1, 5, 3))); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(s); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
	if n := testutil.CollectAndCount(s); n != 5 {
		t.Errorf("%d metrics, want 5", n)
	}
}

// TestCollectorCountsSessions: the metrics follow real sessions — messages
// acknowledged, an oversized frame, a batch the WAL refused.
func TestCollectorCountsSessions(t *testing.T) {
	st := &store{}
	s, _ := startServer(t, st, Options{MaxData: 1 << 10})
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)

	c := dial(t, s)
	c.open()
	for i := 0; i < 2; i++ {
		n := c.send(CmdSyslog, "<13>1 2026-11-24T10:00:00Z h app - - - acked")
		c.expect(n, CmdRsp, "200 OK")
	}
	c.raw(string(AppendFrame(nil, c.txnr, CmdSyslog, []byte(strings.Repeat("x", 2<<10)))))
	c.expectClosed()

	st.mu.Lock()
	st.fail = errors.New("wal: closed")
	st.mu.Unlock()
	c = dial(t, s)
	c.open()
	c.send(CmdSyslog, "<13>1 2026-11-24T10:00:00Z h app - - - refused")
	c.expectClosed()

	// frames: open and two syslog, then open and one syslog
	if err := testutil.GatherAndCompare(reg, strings.NewReader(relpExposition(5, 1, 1, 2, 1))); err != nil {
		t.Error(err)
	}
}
