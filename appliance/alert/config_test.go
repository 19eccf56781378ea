package alert

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

// seedNotify is the seed product's notify.ini as it shipped (with values
// filled in): it must load as the rule "default".
const seedNotify = `; Choose a way to notify about new logs
; providers can be comma-separated. Available: sendmail, slack, smtp, twilio
providers=sendmail,smtp,twilio
; interval in seconds
interval=3600
; log levels to include
levels=Fatal,Error
; tags to include. all by default
tags=*
[Sendmail]
; emails are comma separated
emails=ops@example.com
[Slack]
token=xoxb-1
channels=#ops
[SMTP]
emails=ops@example.com,dev@example.com
host=smtp.example.com
login=foo@bar.com
pass=secret
port=587
replyto=robot@example.com
[Twilio]
id=AC6322d5e60c2aadd30700b124b06e6dde
token=tok
from=+15005550006
to=+15005550007,+15005550008
`

func TestParseSeedNotify(t *testing.T) {
	cfg, err := ParseConfig("notify.ini", []byte(seedNotify))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) != 1 {
		t.Fatalf("rules: %d", len(cfg.Rules))
	}
	r := cfg.Rules[0]
	if r.Name != "default" || r.Interval != (Interval{3600, "s"}) || strings.Join(r.Providers, ",") != "sendmail,smtp,sms" {
		t.Fatalf("rule: %+v", r)
	}
	for sev := protocol.SevEmerg; sev <= protocol.SevDebug; sev++ {
		want := sev <= protocol.SevErr
		if got := r.Match.Match(&protocol.Event{Severity: sev}); got != want {
			t.Errorf("levels=Fatal,Error: severity %s matched %v", sev, got)
		}
	}
	if !r.Match.Match(&protocol.Event{Severity: protocol.SevErr}) { // tags=* is all, also untagged
		t.Error("tags=* did not match an untagged event")
	}
	s := cfg.Providers.SMTP
	if s.Host != "smtp.example.com" || s.Password != "secret" || s.ReplyTo != "robot@example.com" || s.From != "foo@bar.com" || s.TLS != "starttls" {
		t.Fatalf("smtp: %+v", s)
	}
	if got := cfg.recipients(KindSMTP, DefaultGroup); len(got) != 1 || got[0] != "ops@example.com,dev@example.com" {
		t.Errorf("smtp recipients %v", got)
	}
	if got := cfg.recipients(KindSendmail, DefaultGroup); len(got) != 1 || got[0] != "ops@example.com" {
		t.Errorf("sendmail recipients %v", got)
	}
	if got := cfg.recipients(KindSMS, DefaultGroup); len(got) != 2 {
		t.Errorf("sms recipients %v", got)
	}
}

// TestReadmeNotifyExample parses README's notify.ini and checks what it
// says it does: monitoring gets err..emerg from every host, dev every level
// from its own hosts.
func TestReadmeNotifyExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "<!-- notify.ini:begin -->"), strings.Index(s, "<!-- notify.ini:end -->")
	if i < 0 || j < i {
		t.Fatal("README: notify.ini example markers not found")
	}
	block := s[i+len("<!-- notify.ini:begin -->") : j]
	block = strings.TrimSpace(block)
	block = strings.TrimSuffix(strings.TrimPrefix(block, "```ini\n"), "```")
	cfg, err := ParseConfig("README.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules) < 2 {
		t.Fatalf("README example: %d rules", len(cfg.Rules))
	}
	a := newTestAlerter(t, t.TempDir(), cfg)
	evs := []protocol.Event{
		{Host: "web-1", App: "nginx", Severity: protocol.SevErr, Message: "upstream timed out"},
		{Host: "web-1", App: "nginx", Severity: protocol.SevInfo, Message: "GET /"},
		{Host: "dev-3", App: "api", Severity: protocol.SevDebug, Message: "cache miss"},
		{Host: "dev-3", App: "api", Severity: protocol.SevCrit, Message: "panic"},
	}
	fold(t, a, evs...)
	got := a.OpenEvents()
	// errors → monitoring: the err and the crit; dev-hosts → dev: both dev-3 events
	if got["errors/monitoring"] != 2 || got["dev-hosts/dev"] != 2 || len(got) != 2 {
		t.Fatalf("open digests %v", got)
	}
}

func TestParseConfigErrors(t *testing.T) {
	base := "[webhook]\nurls = http://127.0.0.1:9/x\n"
	for _, c := range []struct {
		name, in, want string
	}{
		{"unknown section", "[pager]\nx = 1\n", "notify.ini:1: [pager]: unknown section"},
		{"unknown rule key", base + "[rule.a]\nproviders = webhook\nlevel = err\n", "notify.ini:5: [rule.a] level: unknown key"},
		{"unknown provider", base + "[rule.a]\nproviders = pager\n", "notify.ini:4: [rule.a] providers: unknown provider \"pager\""},
		{"provider without section", "[rule.a]\nproviders = slack\n", "notify.ini:2: [rule.a] providers: provider slack has no [slack] section"},
		{"no providers", base + "[rule.a]\nlevels = err\n", "notify.ini:3: [rule.a]: providers is required"},
		{"bad level", base + "[rule.a]\nproviders = webhook\nlevels = loud\n", "notify.ini:5: [rule.a] levels: unknown severity \"loud\""},
		{"bad interval", base + "[rule.a]\nproviders = webhook\ninterval = 5 fortnights\n", "[rule.a] interval: \"5 fortnights\" is not an interval"},
		{"zero interval", base + "[rule.a]\nproviders = webhook\ninterval = 0\n", "at least 1 second"},
		{"long interval", base + "[rule.a]\nproviders = webhook\ninterval = 13 months\n", "at most a year"},
		{"bad limit", base + "[rule.a]\nproviders = webhook\nlimit = many\n", "[rule.a] limit: \"many\" is not N/INTERVAL"},
		{"bad regexp", base + "[rule.a]\nproviders = webhook\nmessage_regexp = (\n", "[rule.a] message_regexp: bad regular expression"},
		{"missing group", base + "[rule.a]\nproviders = webhook\ngroups = ops\n", "[rule.a] groups: no [group.ops]"},
		{"group without recipients", base + "[group.ops]\nemails = a@example.com\n[rule.a]\nproviders = webhook\ngroups = ops\n",
			"notify.ini:7: [rule.a] groups: group ops has no recipient for providers webhook"},
		{"default group without recipients", "[webhook]\n[rule.a]\nproviders = webhook\n", "[rule.a] providers: group default has no recipient"},
		{"bad email", "[smtp]\nhost = mx\nemails = ops, x@y.z\n", "notify.ini:3: [smtp] emails: \"ops\" is not an e-mail address"},
		{"smtp without host", "[smtp]\nport = 25\n", "notify.ini:1: [smtp] host: is required"},
		{"smtp host with port", "[smtp]\nhost = mx:25\n", "[smtp] host: \"mx:25\": a host name or address, without port"},
		{"smtp password in clear", "[smtp]\nhost = mx\ntls = none\nlogin = a\n", "[smtp] tls: tls = none would send the password"},
		{"smtp bad tls", "[smtp]\nhost = mx\ntls = maybe\n", "[smtp] tls: \"maybe\" is not one of"},
		{"slack channels without token", "[slack]\nchannels = #ops\n", "[slack] token: channels need a token"},
		{"slack bad webhook", "[slack]\nwebhooks = ftp://x\n", "[slack] webhooks:"},
		{"sms missing from", "[sms]\nid = AC1\ntoken = t\n", "[sms] from: is required"},
		{"sms bad phone", "[sms]\nto = 555-1234\n", "[sms] to: \"555-1234\" is not a phone number"},
		{"bad group key", "[group.ops]\npager = 1\n", "[group.ops] pager: unknown key"},
		{"bad group name", "[group.o p]\nemails = a@b.c\n", "[group.o p]: group name \"o p\""},
		{"bad rule name", base + "[rule.]\nproviders = webhook\n", "[rule.]: rule name must be 1-64"},
		{"rule twice", "providers = webhook\n" + base + "[rule.default]\nproviders = webhook\n", "rule \"default\" is defined twice"},
		{"repeated key", base + "[rule.a]\nproviders = webhook\nproviders = webhook\n", "notify.ini:5: [rule.a] providers: key repeated (first at line 4)"},
		{"repeated section", base + "[webhook]\n", "notify.ini:3: [webhook]: section repeated"},
		{"no equals", base + "[rule.a]\nproviders webhook\n", "notify.ini:4: [rule.a]: expected key = value"},
		{"unterminated header", "[rule.a\n", "notify.ini:1: unterminated section header"},
		{"retry below", "[notify]\nretry_min = 1m\nretry_max = 1s\n", "[notify] retry_max: 1s is below retry_min"},
		{"notify unknown", "[notify]\nspeed = 1\n", "[notify] speed: unknown key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig("notify.ini", []byte(c.in))
			var ce *ConfigError
			if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a ConfigError containing %q", err, c.want)
			}
		})
	}
}

func TestParseInterval(t *testing.T) {
	t0 := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"3600", t0.Add(time.Hour)},
		{"90s", t0.Add(90 * time.Second)},
		{"5m", t0.Add(5 * time.Minute)},
		{"5 minutes", t0.Add(5 * time.Minute)},
		{"2h", t0.Add(2 * time.Hour)},
		{"1 day", t0.Add(24 * time.Hour)},
		{"2w", t0.Add(14 * 24 * time.Hour)},
		{"1mo", time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)}, // Jan 31 + 1 month, normalized
		{"12 months", time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC)},
	} {
		var iv Interval
		if err := ParseInterval(&iv, c.in); err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got := iv.After(t0); !got.Equal(c.want) {
			t.Errorf("%q: after %s is %s, want %s", c.in, t0, got, c.want)
		}
	}
	for _, bad := range []string{"", "m", "-5m", "5x", "1.5h", "0s", "9999999999", "400d", "13mo", "5 m m"} {
		var iv Interval
		if err := ParseInterval(&iv, bad); err == nil {
			t.Errorf("%q: no error (%v)", bad, iv)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(seedNotify))
	f.Add([]byte("[webhook]\nurls = http://127.0.0.1/x\n[group.g]\nwebhooks = http://h/y\nhost = dev-*\n[rule.r]\nproviders = webhook\ngroups = g\nlimit = 3/h\n"))
	f.Add([]byte("[smtp]\nhost=a\n[rule.x]\nproviders=smtp\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.ini", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("not a ConfigError: %T %v", err, err)
			}
			return
		}
		for _, r := range cfg.Rules {
			if len(r.Providers) == 0 || r.Interval.N < 1 {
				t.Fatalf("rule accepted without providers or interval: %+v", r)
			}
			for _, g := range r.GroupsOf() {
				if cfg.Group(g) == nil {
					t.Fatalf("rule %s: group %s accepted but missing", r.Name, g)
				}
			}
		}
	})
}

func FuzzParseInterval(f *testing.F) {
	for _, s := range []string{"3600", "5m", "1 month", "2w", "", "9999999999s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var iv Interval
		if ParseInterval(&iv, s) != nil {
			return
		}
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		if end := iv.After(t0); !end.After(t0) || end.After(t0.AddDate(1, 0, 1)) {
			t.Fatalf("%q: %v after %s is %s", s, iv, t0, end)
		}
	})
}
