package match

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"logpacker/protocol"
)

func sevMask(sevs ...protocol.Severity) uint8 {
	var m uint8
	for _, s := range sevs {
		m |= 1 << s
	}
	return m
}

func TestParseSeverity(t *testing.T) {
	cases := map[string]uint8{
		"warning":         sevMask(0, 1, 2, 3, 4),
		"WARNING":         sevMask(0, 1, 2, 3, 4),
		"warn":            sevMask(0, 1, 2, 3, 4),
		"4":               sevMask(0, 1, 2, 3, 4),
		"emerg":           sevMask(0),
		"debug":           0xff,
		"=notice":         sevMask(5),
		"= notice":        sevMask(5),
		"err,crit":        sevMask(2, 3),
		" err , crit , ":  sevMask(2, 3),
		"error, warning":  sevMask(3, 4),
		"debug..info":     sevMask(6, 7),
		"info..debug":     sevMask(6, 7),
		"0..2":            sevMask(0, 1, 2),
		"=debug, 0..1":    sevMask(0, 1, 7),
		"panic":           sevMask(0),
		"notice, =notice": sevMask(5),
	}
	for in, want := range cases {
		m, err := Parse(map[string]string{"severity": in})
		if err != nil {
			t.Errorf("severity = %q: %v", in, err)
			continue
		}
		if m.sev != want {
			t.Errorf("severity = %q: mask %08b, want %08b", in, m.sev, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		key, value, want string
	}{
		{"severity", "warnin", `unknown severity "warnin"`},
		{"severity", "8", "out of range 0-7"},
		{"severity", "-1", "out of range 0-7"},
		{"severity", "err,,bogus", `unknown severity "bogus"`},
		{"severity", ",", "lists nothing"},
		{"severity", "info..", `unknown severity ""`},
		{"severity", "=", `unknown severity ""`},
		{"facility", "local8", `unknown facility "local8"`},
		{"facility", "24", "out of range 0-23"},
		{"facility", "mail, ,", ""}, // fine: empty items are left out
		{"host", ", ,", "lists nothing"},
		{"message_regexp", "a(b", "bad regular expression"},
		{"message_regexp", "*x", "bad regular expression"},
		{"tag", "a", "unknown key (known: severity, facility"},
		{"Severity", "err", "unknown key"},
	}
	for _, c := range cases {
		_, err := Parse(map[string]string{c.key: c.value})
		if c.want == "" {
			if err != nil {
				t.Errorf("%s = %q: %v", c.key, c.value, err)
			}
			continue
		}
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != c.key {
			t.Errorf("%s = %q: error %v does not name the key", c.key, c.value, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "match: "+c.key+": ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s = %q: error %q, want it to contain %q", c.key, c.value, err, c.want)
		}
	}
}

func TestSetLeavesMatcherUnchangedOnError(t *testing.T) {
	m, err := Parse(map[string]string{"severity": "err", "host": "a"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Set("severity", "nope") == nil || m.Set("host", ",") == nil {
		t.Fatal("bad values accepted")
	}
	if m.sev != sevMask(0, 1, 2, 3) || len(m.hosts) != 1 || m.Config()["severity"] != "err" {
		t.Fatalf("matcher changed by a failed Set: %v", m)
	}
	// an empty value clears the condition
	if err := m.Set("severity", " "); err != nil || m.sev != 0 {
		t.Fatalf("clearing severity: %v, mask %b", err, m.sev)
	}
	if err := m.Set("host", ""); err != nil || !m.All() || m.String() != "all" {
		t.Fatalf("clearing host: %v, %v", err, m)
	}
}

func TestMatch(t *testing.T) {
	ev := func(sev protocol.Severity, fac protocol.Facility, host, app, msg string, tags ...string) protocol.Event {
		return protocol.Event{Severity: sev, Facility: fac, Host: host, App: app, Message: msg, Tags: tags}
	}
	web := ev(protocol.SevWarning, protocol.FacDaemon, "web-01", "nginx", "upstream timed out, retrying", "prod", "eu")
	db := ev(protocol.SevErr, protocol.FacLocal3, "DB-2.example.com", "postfix/smtpd", "disk full")
	info := ev(protocol.SevInfo, protocol.FacAuth, "web-02", "sshd", "Accepted publickey for root")
	empty := protocol.Event{Severity: protocol.SevDebug}
	cases := []struct {
		keys map[string]string
		want []bool // web, db, info, empty
	}{
		{nil, []bool{true, true, true, true}},
		{map[string]string{"severity": "", "host": ""}, []bool{true, true, true, true}},
		{map[string]string{"severity": "warning"}, []bool{true, true, false, false}},
		{map[string]string{"severity": "=warning"}, []bool{true, false, false, false}},
		{map[string]string{"severity": "err, info"}, []bool{false, true, true, false}},
		{map[string]string{"severity": "info..debug"}, []bool{false, false, true, true}},
		{map[string]string{"facility": "daemon, local3"}, []bool{true, true, false, false}},
		{map[string]string{"facility": "4"}, []bool{false, false, true, false}},
		{map[string]string{"host": "web-*"}, []bool{true, false, true, false}},
		{map[string]string{"host": "WEB-0?"}, []bool{true, false, true, false}},
		{map[string]string{"host": "db-2.example.com"}, []bool{false, true, false, false}},
		{map[string]string{"host": "db-*.com, web-01"}, []bool{true, true, false, false}},
		{map[string]string{"host": "*"}, []bool{true, true, true, true}},
		{map[string]string{"host": "?*"}, []bool{true, true, true, false}},
		{map[string]string{"app": "postfix/*"}, []bool{false, true, false, false}},
		{map[string]string{"app": "*smtpd"}, []bool{false, true, false, false}},
		{map[string]string{"app": "NGINX"}, []bool{false, false, false, false}}, // app: case matters
		{map[string]string{"app": "nginx, sshd"}, []bool{true, false, true, false}},
		{map[string]string{"tags": "eu"}, []bool{true, false, false, false}},
		{map[string]string{"tags": "staging, pro*"}, []bool{true, false, false, false}},
		{map[string]string{"message": "timed out, retrying"}, []bool{true, false, false, false}},
		{map[string]string{"message": "Disk"}, []bool{false, false, false, false}},
		{map[string]string{"message_regexp": `(?i)^disk|publickey`}, []bool{false, true, true, false}},
		{map[string]string{"message_regexp": `^$`}, []bool{false, false, false, true}},
		// AND across keys
		{map[string]string{"severity": "warning", "host": "web-*"}, []bool{true, false, false, false}},
		{map[string]string{"severity": "debug", "host": "web-*", "message": "root"}, []bool{false, false, true, false}},
		{map[string]string{"facility": "auth", "app": "nginx"}, []bool{false, false, false, false}},
	}
	for _, c := range cases {
		m, err := Parse(c.keys)
		if err != nil {
			t.Fatalf("%v: %v", c.keys, err)
		}
		for i, e := range []*protocol.Event{&web, &db, &info, &empty} {
			if got := m.Match(e); got != c.want[i] {
				t.Errorf("%v (%s): event %d (%s %s %s): got %v", c.keys, m, i, e.Severity, e.Host, e.App, got)
			}
		}
	}
	var nilM *Matcher
	if !nilM.Match(&web) || !nilM.All() {
		t.Error("a nil Matcher must select everything")
	}
	// out-of-range values (never produced by the decoder) are not selected by a condition
	odd := protocol.Event{Severity: 9, Facility: 40}
	for _, k := range []map[string]string{{"severity": "debug"}, {"facility": "kern"}} {
		if m, _ := Parse(k); m.Match(&odd) {
			t.Errorf("%v selected severity 9 / facility 40", k)
		}
	}
}

func TestConfigRoundTrip(t *testing.T) {
	in := map[string]string{"severity": "err, crit", "host": "web-*", "message_regexp": "a+b", "tags": "x"}
	m, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	got := m.Config()
	if len(got) != len(in) {
		t.Fatalf("Config() = %v", got)
	}
	for k, v := range in {
		if got[k] != v {
			t.Errorf("Config()[%s] = %q, want %q", k, got[k], v)
		}
	}
	if s := m.String(); s != `severity="err, crit" host="web-*" tags="x" message_regexp="a+b"` {
		t.Errorf("String() = %s", s)
	}
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{"", "", true}, {"", "a", false}, {"*", "", true}, {"*", "abc", true},
		{"a*", "a", true}, {"a*", "ba", false}, {"*a", "ba", true}, {"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false}, {"a?c", "abc", true}, {"a?c", "ac", false}, {"?", "é", true},
		{"??", "é", false}, {"*é*", "caféx", true}, {"a**b", "ab", true}, {"*?", "", false},
		{"x/*", "x/y/z", true}, {"*.example.com", "www.example.com", true},
		{"a*a*a*a*a*a*b", strings.Repeat("a", 60), false},
	}
	for _, c := range cases {
		if got := glob(c.p, c.s, false); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
	if !glob("WEB-*", "web-1", true) || glob("WEB-*", "web-1", false) {
		t.Error("ASCII case folding")
	}
}

// TestMatchAllocatesNothing: Match runs once per event on every output.
func TestMatchAllocatesNothing(t *testing.T) {
	m, err := Parse(map[string]string{"severity": "debug", "facility": "daemon", "host": "web-*, DB", "app": "nginx",
		"tags": "x, p*", "message": "out", "message_regexp": "time[sd]"})
	if err != nil {
		t.Fatal(err)
	}
	ev := protocol.Event{Severity: protocol.SevWarning, Facility: protocol.FacDaemon, Host: "web-01", App: "nginx",
		Message: "upstream timed out", Tags: []string{"a", "prod"}}
	if !m.Match(&ev) {
		t.Fatal("no match")
	}
	n := testing.AllocsPerRun(100, func() { m.Match(&ev) })
	if raceEnabled {
		t.Logf("under -race Match allocated %v times per event (sync.Pool drops at random); checked without -race by make test", n)
		return
	}
	if n != 0 {
		t.Fatalf("Match allocates %v times per event", n)
	}
}

// FuzzParse feeds config strings to every key: Parse never panics, a
// failure is a *KeyError naming one of the given keys, and what it accepts
// matches events and survives Config → Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add("warning", "daemon, local0", "web-*", "nginx,sshd", "prod", "timed out", `^a.*b$`)
	f.Add("err,crit", "", "", "", "", "", "")
	f.Add("=debug, 0..2", "4", "?", "*", "*?*", ",", "(?i)x")
	f.Add("x..", "99", ",", ", ,", "", "", "(")
	f.Fuzz(func(t *testing.T, sev, fac, host, app, tags, msg, re string) {
		keys := map[string]string{"severity": sev, "facility": fac, "host": host, "app": app, "tags": tags,
			"message": msg, "message_regexp": re}
		m, err := Parse(keys)
		if err != nil {
			var ke *KeyError
			if !errors.As(err, &ke) || !IsKey(ke.Key) || !strings.Contains(err.Error(), ke.Key) {
				t.Fatalf("error %v does not name a key", err)
			}
			return
		}
		evs := []protocol.Event{
			{},
			{Severity: 4, Facility: 3, Host: host, App: app, Message: msg, Tags: []string{tags}},
			{Severity: 7, Facility: 23, Host: "web-1", App: "x", Message: re},
		}
		m2, err := Parse(m.Config())
		if err != nil {
			t.Fatalf("Config() %v does not parse again: %v", m.Config(), err)
		}
		for i := range evs {
			if m.Match(&evs[i]) != m2.Match(&evs[i]) {
				t.Fatalf("Config() round trip changed the match of event %d", i)
			}
		}
		if m.String() == "" {
			t.Fatal("empty String()")
		}
	})
}

// FuzzGlob checks glob against a regexp built from the same pattern.
func FuzzGlob(f *testing.F) {
	f.Add("a*b?c", "aXXbYc")
	f.Add("*é?", "café!")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, p, s string) {
		if !utf8.ValidString(p) || len(p) > 64 {
			return
		}
		var b strings.Builder
		b.WriteString(`(?s)^`)
		for _, r := range p {
			switch r {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		b.WriteString("$")
		want := regexp.MustCompile(b.String()).MatchString(s)
		if got := glob(p, s, false); got != want {
			t.Fatalf("glob(%q, %q) = %v, regexp %s says %v", p, s, got, b.String(), want)
		}
	})
}

func BenchmarkMatch(b *testing.B) {
	ev := protocol.Event{Severity: protocol.SevInfo, Facility: protocol.FacDaemon, Host: "web-017.eu.example.com",
		App: "nginx", Message: `10.1.2.3 - - "GET /api/v1/items?page=2 HTTP/1.1" 200 5123 "-" "curl/8.5.0"`,
		Tags: []string{"prod", "eu"}}
	cases := []struct {
		name string
		keys map[string]string
	}{
		{"none", nil},
		{"severity", map[string]string{"severity": "warning"}},
		{"severity_pass", map[string]string{"severity": "info"}},
		{"host_glob", map[string]string{"host": "db-*, web-0*"}},
		{"all_but_regexp", map[string]string{"severity": "info", "facility": "daemon, local0", "host": "web-*",
			"app": "nginx, haproxy", "tags": "prod", "message": "HTTP/1.1\" 200"}},
		{"message", map[string]string{"message": "HTTP/1.1\" 500"}},
		{"regexp", map[string]string{"message_regexp": `" [45]\d\d `}},
	}
	for _, c := range cases {
		m, err := Parse(c.keys)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Match(&ev)
			}
		})
	}
}
