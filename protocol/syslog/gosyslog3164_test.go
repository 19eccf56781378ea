package syslog

import (
	"testing"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/ciscoios"
	"github.com/leodido/go-syslog/v4/rfc3164"

	"logpacker/protocol"
)

// TestGoSyslog3164Defects records why RFC 3164 is parsed by our own code and
// not by go-syslog v4.6.0's rfc3164 machine (best effort, optional PRI,
// RFC 3339, Cisco components as documented). Each row is a real-device input
// where go-syslog loses or mangles data, next to what we return. If go-syslog
// fixes a row, this test says so, and the choice can be revisited.
func TestGoSyslog3164Defects(t *testing.T) {
	base := []gosyslog.MachineOption{rfc3164.WithBestEffort(), rfc3164.WithOptionalPriority(), rfc3164.WithRFC3339()}
	plain := rfc3164.NewMachine(base...)
	cisco := rfc3164.NewMachine(append(base, rfc3164.WithCiscoIOSComponents(ciscoios.All))...)
	cases := []struct {
		in, defect string
		m          gosyslog.Machine
		bad        func(*rfc3164.SyslogMessage, error) bool
		ours       string // our Message
	}{
		{"<13>Oct 11 22:14:15 h app: with \x1b[0m colour", "control character: Message nil and no error (silent loss)", plain,
			func(m *rfc3164.SyslogMessage, err error) bool { return err == nil && m.Message == nil }, "with \x1b[0m colour"},
		{"<999>x", "PRI 999 read as 99", plain,
			func(m *rfc3164.SyslogMessage, err error) bool {
				return m != nil && m.Priority != nil && *m.Priority == 99
			}, "<999>x"},
		{"<189>123: *Mar  1 18:46:11.123: %SYS-5-CONFIG_I: up", "Cisco without Cisco options: empty message and no error", plain,
			func(m *rfc3164.SyslogMessage, err error) bool { return err == nil && m.Message == nil }, "up"},
		{"<13>2026-11-24T11:00:00+02:00 h app: x", "Cisco options break RFC 3339 timestamps: empty result, no error", cisco,
			func(m *rfc3164.SyslogMessage, err error) bool { return err == nil && m.Message == nil }, "x"},
		{"<13>Oct 11 22:14:15 fe80::1 app: x", "IPv6 hostname taken as TAG", plain,
			func(m *rfc3164.SyslogMessage, err error) bool { return m.Appname != nil && *m.Appname == "fe80" }, "x"},
		{"<13>Oct 11 22:14:15 h app: ", "TAG left in message", plain,
			func(m *rfc3164.SyslogMessage, err error) bool { return m.Message != nil && *m.Message == "app: " }, ""},
	}
	p := newTestParser(0)
	for _, c := range cases {
		r, err := c.m.Parse([]byte(c.in))
		m, _ := r.(*rfc3164.SyslogMessage)
		if m == nil || !c.bad(m, err) {
			t.Logf("go-syslog no longer shows %q on %q", c.defect, c.in)
		}
		var ev protocol.Event
		p.Parse([]byte(c.in), &ev)
		if ev.Message != c.ours {
			t.Errorf("%q: our message %q, want %q", c.in, ev.Message, c.ours)
		}
	}
}
