package syslog

import (
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

var testNow = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func newTestParser(max int) *Parser {
	return NewParser(Options{MaxSize: max, Location: time.UTC, Now: func() time.Time { return testNow }})
}

// want is the subset of Event a case checks; Time zero means "no time".
type want struct {
	time                              string // RFC 3339 nano, "" = zero
	fac                               protocol.Facility
	sev                               protocol.Severity
	host, app, procid, msgid, message string
	sd                                string // compact form: id{k=v,k=v}id{...}
	parseErr                          string // substring; "" = must be empty
}

func sdString(sd []protocol.SDElement) string {
	var b strings.Builder
	for _, el := range sd {
		b.WriteString(el.ID + "{")
		for i, p := range el.Params {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(p.Name + "=" + p.Value)
		}
		b.WriteString("}")
	}
	return b.String()
}

func check(t *testing.T, in string, ev *protocol.Event, w want) {
	t.Helper()
	gotTime := ""
	if !ev.Time.IsZero() {
		gotTime = ev.Time.Format(time.RFC3339Nano)
	}
	if gotTime != w.time {
		t.Errorf("%q: time = %q, want %q", in, gotTime, w.time)
	}
	if ev.Facility != w.fac || ev.Severity != w.sev {
		t.Errorf("%q: pri = %v.%v, want %v.%v", in, ev.Facility, ev.Severity, w.fac, w.sev)
	}
	if ev.Host != w.host || ev.App != w.app || ev.ProcID != w.procid || ev.MsgID != w.msgid {
		t.Errorf("%q: host/app/procid/msgid = %q/%q/%q/%q, want %q/%q/%q/%q", in,
			ev.Host, ev.App, ev.ProcID, ev.MsgID, w.host, w.app, w.procid, w.msgid)
	}
	if ev.Message != w.message {
		t.Errorf("%q: message = %q, want %q", in, ev.Message, w.message)
	}
	if got := sdString(ev.SD); got != w.sd {
		t.Errorf("%q: sd = %q, want %q", in, got, w.sd)
	}
	if w.parseErr == "" && ev.ParseErr != "" || w.parseErr != "" && !strings.Contains(ev.ParseErr, w.parseErr) {
		t.Errorf("%q: parse error = %q, want %q", in, ev.ParseErr, w.parseErr)
	}
}

const (
	user   = protocol.FacUser
	local4 = protocol.FacLocal4
	local7 = protocol.FacLocal7
	notice = protocol.SevNotice
)

func TestParse5424(t *testing.T) {
	cases := []struct {
		in string
		w  want
	}{
		{`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + bom + `An application event log entry`,
			want{time: "2003-10-11T22:14:15.003Z", fac: local4, sev: notice, host: "mymachine.example.com", app: "evntslog", msgid: "ID47",
				message: "An application event log entry", sd: "exampleSDID@32473{iut=3,eventSource=Application,eventID=1011}"}},
		// NILVALUE timestamp (vector#21353)
		{`<13>1 - host app 12 - - hello`, want{fac: user, sev: notice, host: "host", app: "app", procid: "12", message: "hello"}},
		// all NILVALUE, no MSG
		{`<13>1 - - - - - -`, want{fac: user, sev: notice}},
		// escapes \] \" \\ (graylog#845, #4689), several elements, params in order
		{`<13>1 2026-01-02T03:04:05+01:00 h a - m [b@1 z="q\]x" a="\"quoted\"" m="back\\slash"][a@1 k="v"] msg`,
			want{time: "2026-01-02T03:04:05+01:00", fac: user, sev: notice, host: "h", app: "a", msgid: "m", message: "msg",
				sd: `b@1{z=q]x,a="quoted",m=back\slash}a@1{k=v}`}},
		// fractional seconds and negative offset kept
		{`<14>1 2026-11-24T11:00:00.123456-05:30 h a p m - x`, want{time: "2026-11-24T11:00:00.123456-05:30", fac: user, sev: protocol.SevInfo, host: "h", app: "a", procid: "p", msgid: "m", message: "x"}},
		// rsyslog RSYSLOG_SyslogProtocol23Format: trailing LF stripped, double space (legacy input) -> one removed, timeQuality kept
		{"<13>1 2026-11-24T11:31:50.193959+00:00 vm myapp 7721 - [timeQuality tzKnown=\"1\" isSynced=\"0\"]  hello world\n",
			want{time: "2026-11-24T11:31:50.193959Z", fac: user, sev: notice, host: "vm", app: "myapp", procid: "7721", message: "hello world", sd: "timeQuality{tzKnown=1,isSynced=0}"}},
		// logger --rfc5424 (captured from util-linux logger)
		{`<13>1 2026-11-24T11:31:50.193959+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"] plain 5424`,
			want{time: "2026-11-24T11:31:50.193959Z", fac: user, sev: notice, host: "vm", app: "myapp", message: "plain 5424", sd: "timeQuality{tzKnown=1,isSynced=0}"}},
		// MSG with CRLF stripped, embedded LF kept
		{"<13>1 - h a - - - line1\nline2\r\n", want{fac: user, sev: notice, host: "h", app: "a", message: "line1\nline2"}},
		// only the BOM is removed, not the space after it
		{"<13>1 - h a - - - " + bom + " x", want{fac: user, sev: notice, host: "h", app: "a", message: " x"}},
		// invalid UTF-8 in MSG passes through
		{"<13>1 - h a - - - \xff\xfe", want{fac: user, sev: notice, host: "h", app: "a", message: "\xff\xfe"}},
		// leading-zero PRI: not the fast path; go-syslog's verdict
		{`<013>1 - h a - - - x`, want{fac: user, sev: notice, message: `<013>1 - h a - - - x`, parseErr: "rfc5424"}},
		// 7 fraction digits: go-syslog (and RFC 5424, TIME-SECFRAC 1*6DIGIT) reject
		{`<13>1 2026-11-24T11:00:00.1234567Z h a - - - x`, want{fac: user, sev: notice, message: `<13>1 2026-11-24T11:00:00.1234567Z h a - - - x`, parseErr: "rfc5424"}},
		// malformed
		{`<13>1 bad-timestamp h a - - - x`, want{fac: user, sev: notice, message: `<13>1 bad-timestamp h a - - - x`, parseErr: "timestamp"}},
		{`<13>1 2026-02-30T00:00:00Z h a - - - x`, want{fac: user, sev: notice, message: `<13>1 2026-02-30T00:00:00Z h a - - - x`, parseErr: "rfc5424"}},
		{`<13>1 - h a - - [x a="unterminated] x`, want{fac: user, sev: notice, message: `<13>1 - h a - - [x a="unterminated] x`, parseErr: "rfc5424"}},
		{`<13>1 - h a - - [x@1 a="1"][x@1 a="2"] dup`, want{fac: user, sev: notice, message: `<13>1 - h a - - [x@1 a="1"][x@1 a="2"] dup`, parseErr: "rfc5424"}},
		{`<13>1 - h a - - [x a="C:\Windows"] bad escape`, want{fac: user, sev: notice, message: `<13>1 - h a - - [x a="C:\Windows"] bad escape`, parseErr: "rfc5424"}},
		{`<13>1 - h a - -`, want{fac: user, sev: notice, message: `<13>1 - h a - -`, parseErr: "rfc5424"}},
		{`<13>1 - h a - - -x`, want{fac: user, sev: notice, message: `<13>1 - h a - - -x`, parseErr: "rfc5424"}},
		// a repeated param name: go-syslog accepts it; we keep both, in order
		{`<13>1 - h a - - [x a="1" a="2"] m`, want{fac: user, sev: notice, host: "h", app: "a", message: "m", sd: "x{a=1,a=2}"}},
		// many params (slow path), order kept
		{`<13>1 - h a - - [x a="1" b="2" c="3" d="4" e="5" f="6" g="7" h="8" i="9"] m`,
			want{fac: user, sev: notice, host: "h", app: "a", message: "m", sd: "x{a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9}"}},
	}
	p := newTestParser(0)
	for _, c := range cases {
		var ev protocol.Event
		if p.Parse([]byte(c.in), &ev) {
			t.Errorf("%q: truncated", c.in)
		}
		check(t, c.in, &ev, c.w)
	}
}

func TestParse3164(t *testing.T) {
	cases := []struct {
		in string
		w  want
	}{
		{"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			want{time: "2026-10-11T22:14:15Z", fac: protocol.FacAuth, sev: protocol.SevCrit, host: "mymachine", app: "su", message: "'su root' failed for lonvick on /dev/pts/8"}},
		// vector#7796: message starting with '['
		{"<13>Oct 11 22:14:15 myhost [INFO] started", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "myhost", message: "[INFO] started"}},
		{"<13>Oct 11 22:14:15 [INFO] started", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, message: "[INFO] started"}},
		// missing hostname
		{"<13>Oct 11 22:14:15 sshd[42]: hi", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, app: "sshd", procid: "42", message: "hi"}},
		// logger --rfc3164 to /dev/log (no hostname) and to the network (captured)
		{"<13>Nov 24 11:31:50 myapp: default local", want{time: "2026-11-24T11:31:50Z", fac: user, sev: notice, app: "myapp", message: "default local"}},
		{"<13>Nov 24 11:31:50 vm myapp[7721]: hello 3164", want{time: "2026-11-24T11:31:50Z", fac: user, sev: notice, host: "vm", app: "myapp", procid: "7721", message: "hello 3164"}},
		// TAG without colon (logstash#2812): not a TAG, stays in the message; "name[pid]" without colon is one
		{"<13>Oct 11 22:14:15 myhost sshd hi there", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "myhost", message: "sshd hi there"}},
		{"<13>Oct 11 22:14:15 myhost sshd[7] hi there", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "myhost", app: "sshd", procid: "7", message: "hi there"}},
		{"<13>Oct 11 22:14:15 myhost key:value pairs", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "myhost", message: "key:value pairs"}},
		// odd hostnames (graylog#17062: not left in the message)
		{"<13>Oct 11 22:14:15 host_name.example-1 app: x", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "host_name.example-1", app: "app", message: "x"}},
		{"<13>Oct 11 22:14:15 fe80::1 app: x", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "fe80::1", app: "app", message: "x"}},
		{"<13>Oct 11 22:14:15 10.1.2.3 app[1]: x", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "10.1.2.3", app: "app", procid: "1", message: "x"}},
		{"<13>Oct 11 22:14:15 - app: x", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, app: "app", message: "x"}},
		{"<13>Oct 11 22:14:15 myhost", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "myhost"}},
		{"<13>Oct  1 22:14:15 h a: x", want{time: "2026-10-01T22:14:15Z", fac: user, sev: notice, host: "h", app: "a", message: "x"}},
		{"<13>Oct 01 22:14:15 h a: x", want{time: "2026-10-01T22:14:15Z", fac: user, sev: notice, host: "h", app: "a", message: "x"}},
		{"<13>  Oct 11 22:14:15  h  a: x", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "h", app: "a", message: "x"}},
		// Cisco IOS (vector#9928): counter, '*' unsynced clock, milliseconds, origin hostname, sequence number
		{"<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: Configured from console by vty0",
			want{time: "2027-03-01T18:46:11.123Z", fac: local7, sev: notice, app: "%SYS-5-CONFIG_I", message: "Configured from console by vty0"}},
		{"<189>45: router1: *Mar  1 18:46:11: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up",
			want{time: "2027-03-01T18:46:11Z", fac: local7, sev: notice, host: "router1", app: "%LINK-3-UPDOWN", message: "Interface Gi0/1, changed state to up"}},
		{"<189>237: 000485: .Nov 20 09:46:03.295: %SYS-5-CONFIG_I: x",
			want{time: "2026-11-20T09:46:03.295Z", fac: local7, sev: notice, app: "%SYS-5-CONFIG_I", message: "x"}},
		{"<187>: Nov 20 2026 09:46:03: %LINK-3-UPDOWN: y",
			want{time: "2026-11-20T09:46:03Z", fac: local7, sev: protocol.SevErr, app: "%LINK-3-UPDOWN", message: "y"}},
		// RFC 3339 timestamp in a 3164 message (rsyslog) keeps its own offset
		{"<13>2026-11-24T11:00:00.123456789+02:00 host app[3]: msg", want{time: "2026-11-24T11:00:00.123456789+02:00", fac: user, sev: notice, host: "host", app: "app", procid: "3", message: "msg"}},
		// headerless
		{"<13>just some text", want{fac: user, sev: notice, message: "just some text"}},
		{"<13>sshd[1]: headerless with tag", want{fac: user, sev: notice, app: "sshd", procid: "1", message: "headerless with tag"}},
		{"<13>", want{fac: user, sev: notice}},
		{"<13>1", want{fac: user, sev: notice, message: "1"}},
		{"<13>2 - h a - - - version 2", want{fac: user, sev: notice, message: "2 - h a - - - version 2"}},
		{"<13>Feb 30 10:00:00 h a: x", want{fac: user, sev: notice, message: "Feb 30 10:00:00 h a: x"}},
		// control characters and invalid UTF-8 are kept
		{"<13>Oct 11 22:14:15 h a: esc\x1b[0m \xff\x00", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "h", app: "a", message: "esc\x1b[0m \xff\x00"}},
		// no PRI: user.notice; a header still parses; plain text is flagged
		{"Oct 11 22:14:15 myhost app: x", want{time: "2026-10-11T22:14:15Z", fac: user, sev: notice, host: "myhost", app: "app", message: "x"}},
		{"plain text line", want{fac: user, sev: notice, message: "plain text line", parseErr: "no PRI"}},
		{"GET / HTTP/1.1", want{fac: user, sev: notice, message: "GET / HTTP/1.1", parseErr: "no PRI"}},
		{"\x00\xff\xfe garbage", want{fac: user, sev: notice, message: "\x00\xff\xfe garbage", parseErr: "no PRI"}},
		{"", want{fac: user, sev: notice, parseErr: "no PRI"}},
		{"<999>x", want{fac: user, sev: notice, message: "<999>x", parseErr: "invalid PRI"}},
		{"<192>x", want{fac: user, sev: notice, message: "<192>x", parseErr: "invalid PRI"}},
		{"<13", want{fac: user, sev: notice, message: "<13", parseErr: "invalid PRI"}},
		{"<>x", want{fac: user, sev: notice, message: "<>x", parseErr: "invalid PRI"}},
		{"<html>", want{fac: user, sev: notice, message: "<html>", parseErr: "invalid PRI"}},
		{"<0>Oct 11 22:14:15 h k: panic", want{time: "2026-10-11T22:14:15Z", fac: protocol.FacKern, sev: protocol.SevEmerg, host: "h", app: "k", message: "panic"}},
	}
	p := newTestParser(0)
	for _, c := range cases {
		var ev protocol.Event
		p.Parse([]byte(c.in), &ev)
		check(t, c.in, &ev, c.w)
	}
}

// TestYearRule: a 3164 timestamp has no year; the year that puts it closest to now wins.
func TestYearRule(t *testing.T) {
	cases := []struct{ now, in, want string }{
		{"2027-01-01T00:00:10Z", "<13>Dec 31 23:59:59 h a: x", "2026-12-31T23:59:59Z"},
		{"2026-12-31T23:59:58Z", "<13>Jan  1 00:00:05 h a: x", "2027-01-01T00:00:05Z"},
		{"2026-06-15T12:00:00Z", "<13>Jun 15 11:00:00 h a: x", "2026-06-15T11:00:00Z"},
		{"2026-01-10T00:00:00Z", "<13>Dec 20 00:00:00 h a: x", "2025-12-20T00:00:00Z"},
		{"2028-02-29T12:00:00Z", "<13>Feb 29 11:00:00 h a: x", "2028-02-29T11:00:00Z"},
		{"2027-03-01T00:00:00Z", "<13>Feb 29 11:00:00 h a: x", "2028-02-29T11:00:00Z"}, // only 2028 has one
	}
	for _, c := range cases {
		now, _ := time.Parse(time.RFC3339, c.now)
		p := NewParser(Options{Location: time.UTC, Now: func() time.Time { return now }})
		var ev protocol.Event
		p.Parse([]byte(c.in), &ev)
		if got := ev.Time.Format(time.RFC3339); got != c.want {
			t.Errorf("now %s, %q: time %s, want %s", c.now, c.in, got, c.want)
		}
	}
}

// TestZone: Options.Location applies to zone-less timestamps only (graylog#2374).
func TestZone(t *testing.T) {
	loc := time.FixedZone("X", -7*3600)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, loc)
	p := NewParser(Options{Location: loc, Now: func() time.Time { return now }})
	var ev protocol.Event
	p.Parse([]byte("<13>Nov 24 11:00:00 h a: x"), &ev)
	if got := ev.Time.Format(time.RFC3339); got != "2026-11-24T11:00:00-07:00" {
		t.Errorf("zone-less: %s", got)
	}
	p.Parse([]byte("<13>2026-11-24T11:00:00+02:00 h a: x"), &ev)
	if got := ev.Time.Format(time.RFC3339); got != "2026-11-24T11:00:00+02:00" {
		t.Errorf("rfc3339 in 3164: %s", got)
	}
	p.Parse([]byte("<13>1 2026-11-24T11:00:00Z h a - - - x"), &ev)
	if got := ev.Time.Format(time.RFC3339); got != "2026-11-24T11:00:00Z" {
		t.Errorf("5424: %s", got)
	}
	// nil Location means time.Local
	if NewParser(Options{}).loc != time.Local {
		t.Error("default location is not time.Local")
	}
}

func TestParseTruncates(t *testing.T) {
	p := newTestParser(100)
	for _, in := range []string{
		"<13>1 - h a - - - " + strings.Repeat("x", 1<<20),
		"<13>Oct 11 22:14:15 h a: " + strings.Repeat("y", 1<<20),
		strings.Repeat("z", 1<<20),
		"<13>1 - h a - - [x a=\"" + strings.Repeat("v", 200) + "\"] m",
		"<13>Oct 11 22:14:15 h a: " + strings.Repeat("é", 100), // cut must not split a character
	} {
		var ev protocol.Event
		if !p.Parse([]byte(in), &ev) {
			t.Errorf("%.30q: not reported truncated", in)
		}
		if len(ev.Message) > 100 || ev.Message == "" {
			t.Errorf("%.30q: message length %d", in, len(ev.Message))
		}
		if strings.HasSuffix(ev.Message, "\xc3") {
			t.Errorf("%.30q: cut inside a character", in)
		}
	}
	// exactly MaxSize plus a newline is not truncated
	var ev protocol.Event
	if in := "<13>1 - h a - - - " + strings.Repeat("x", 100-18) + "\r\n"; p.Parse([]byte(in), &ev) {
		t.Errorf("max-size message with CRLF reported truncated")
	}
}

// TestParseLeavesOtherFields: Parse must not touch the fields callers set, and
// must reset the ones it owns when an Event is reused.
func TestParseLeavesOtherFields(t *testing.T) {
	p := newTestParser(0)
	ev := protocol.Event{ID: protocol.ID{Node: "n", Seq: 7}, Received: testNow, Peer: "1.2.3.4:5", Transport: "tcp",
		Tags: []string{"t"}, Fields: map[string]string{"k": "v"}, Hops: 2, Count: 3}
	p.Parse([]byte(`<13>1 2026-01-01T00:00:00Z h a p m [x y="z"] first`), &ev)
	p.Parse([]byte("<13>just text"), &ev)
	if ev.ID.Node != "n" || ev.ID.Seq != 7 || !ev.Received.Equal(testNow) || ev.Peer != "1.2.3.4:5" || ev.Transport != "tcp" ||
		len(ev.Tags) != 1 || ev.Fields["k"] != "v" || ev.Hops != 2 || ev.Count != 3 {
		t.Errorf("caller fields changed: %+v", ev)
	}
	if !ev.Time.IsZero() || ev.Host != "" || ev.App != "" || ev.ProcID != "" || ev.MsgID != "" || ev.SD != nil || ev.Message != "just text" {
		t.Errorf("owned fields not reset: %+v", ev)
	}
}

func TestCutUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 2, "ab"}, {"aé", 2, "a"}, {"a€b", 3, "a"}, {"a€b", 4, "a€"}, {"\xff\xff\xff", 2, "\xff\xff"}, {"a\xe2\x82", 2, "a\xe2"},
	} {
		if got := string(cutUTF8([]byte(c.in), c.max)); got != c.want {
			t.Errorf("cutUTF8(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}
