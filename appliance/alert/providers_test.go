package alert

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/alert/alerttest"
	"logpacker/protocol"
)

func newHTTPStandIn(t *testing.T) *alerttest.HTTP { return alerttest.NewHTTP(t) }

// TestSMTP: digests reach a real SMTP server over STARTTLS with AUTH;
// while it refuses mail (451) they are sent again, and none is lost or
// sent twice. A refused address (550) among others is dead-lettered.
func TestSMTP(t *testing.T) {
	dir := t.TempDir()
	s := alerttest.NewSMTP(t, dir)
	cfg := mustParse(t, fastRetry+"retry_max = 50ms\n"+s.INI()+`from = logpacker@example.com
reply_to = ops@example.com
emails = ops@example.com, nobody@example.com
[rule.errors]
providers = smtp
levels = err
interval = 1m
`)
	a := newTestAlerter(t, dir, cfg)
	s.Refuse(3)
	for i := range 3 {
		fold(t, a, ev("web-1", "nginx", protocol.SevErr, fmt.Sprintf("upstream timed out %d", i%2)))
		a.clk.Add(time.Minute)
		flush(t, a)
	}
	waitOutboxEmpty(t, a)
	mails := s.Mails()
	if len(mails) != 3 || s.Refused() != 3 {
		t.Fatalf("%d mails taken, %d refused; want 3 and 3", len(mails), s.Refused())
	}
	seen := map[string]bool{}
	for _, m := range mails {
		if !m.TLS || m.User != s.User || m.From != "logpacker@example.com" || strings.Join(m.To, ",") != "ops@example.com" {
			t.Errorf("session: tls %v user %q from %q to %v", m.TLS, m.User, m.From, m.To)
		}
		msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		h := msg.Header
		if !strings.HasPrefix(h.Get("Subject"), "[logpacker] errors/default: 1 events (err 1)") ||
			h.Get("Reply-To") != "ops@example.com" || h.Get("To") != "ops@example.com, nobody@example.com" ||
			!strings.HasSuffix(h.Get("Message-ID"), "@n1.logpacker>") || h.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("headers: %v", h)
		}
		id := h.Get("X-Logpacker-Digest")
		if seen[id] {
			t.Errorf("digest %s mailed twice", id)
		}
		seen[id] = true
		body := m.Data[strings.Index(m.Data, "\r\n\r\n"):]
		for _, want := range []string{"Rule errors, group default, node n1: 1 events", "By host: web-1 1", "By app: nginx 1",
			"upstream timed out", "First 1 lines:\r\n2026-12-02T09:59:00Z web-1 nginx err: upstream timed out"} {
			if !strings.Contains(body, want) {
				t.Errorf("body lacks %q:\n%s", want, body)
			}
		}
	}
	dead, _ := os.ReadFile(filepath.Join(dir, "deadletter.jsonl"))
	if n := strings.Count(string(dead), "nobody@example.com: SMTP error 550"); n != 3 {
		t.Errorf("dead letters for the refused address: %d\n%s", n, dead)
	}
}

// TestSMTPImplicitTLS: tls = tls (SMTPS) reaches the server over TLS from
// the first byte.
func TestSMTPImplicitTLS(t *testing.T) {
	dir := t.TempDir()
	s := alerttest.NewSMTP(t, dir)
	cfg := mustParse(t, fmt.Sprintf("[smtp]\nhost = %s\nport = %d\ntls = tls\nlogin = %s\npassword = %s\nca = %s\nemails = ops@example.com\n[rule.r]\nproviders = smtp\n",
		s.Host, s.TLSPort, s.User, s.Password, s.CAFile))
	res, err := SendTest(context.Background(), cfg, "r", "n1")
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if m := s.Mails(); len(m) != 1 || !m[0].TLS || !strings.Contains(m[0].Data, "Subject: [logpacker] TEST r/default") {
		t.Fatalf("mails %+v", m)
	}
}

// TestSMTPAuthRefused: a wrong password is permanent (535): dead-lettered,
// not retried for ever.
func TestSMTPAuthRefused(t *testing.T) {
	dir := t.TempDir()
	s := alerttest.NewSMTP(t, dir)
	cfg := mustParse(t, fmt.Sprintf("[smtp]\nhost = %s\nport = %d\nlogin = %s\npassword = wrong\nca = %s\nemails = ops@example.com\n[rule.r]\nproviders = smtp\n",
		s.Host, s.Port, s.User, s.CAFile))
	res, err := SendTest(context.Background(), cfg, "r", "n1")
	if err != nil || len(res) != 1 || res[0].Err == nil || !isPermanent(res[0].Err) || !strings.Contains(res[0].Err.Error(), "auth") {
		t.Fatalf("SendTest: %v %+v", err, res)
	}
	if len(s.Mails()) != 0 {
		t.Fatal("mail taken with a wrong password")
	}
}

// TestSlack: the Web API answers 429 ratelimited (Retry-After honoured),
// then takes the digest; an unknown channel (ok:false channel_not_found)
// is dead-lettered; incoming webhooks take their JSON.
func TestSlack(t *testing.T) {
	h := alerttest.NewHTTP(t)
	dir := t.TempDir()
	cfg := mustParse(t, fmt.Sprintf(fastRetry+`[slack]
token = %[2]s
url = %[1]s/api
channels = #ops, #nope
webhooks = %[1]s/hooks/T0/B0/xyz
[rule.r]
providers = slack
interval = 1m
`, h.URL, alerttest.SlackToken))
	a := newTestAlerter(t, dir, cfg)
	h.RateLimit(2)
	fold(t, a, ev("db-1", "postgres", protocol.SevCrit, "could not write block"))
	a.clk.Add(time.Minute)
	start := time.Now()
	flush(t, a)
	waitOutboxEmpty(t, a)
	api, hooks := h.Requests("/api/chat.postMessage"), h.Requests("/hooks/")
	if len(api) != 1 || api[0].JSON["channel"] != "#ops" || len(hooks) != 1 {
		t.Fatalf("api %d, hooks %d", len(api), len(hooks))
	}
	if time.Since(start) < time.Second {
		t.Error("Retry-After: 1 was not honoured")
	}
	text := api[0].JSON["text"].(string)
	if !strings.Contains(text, "*[logpacker] r/default: 1 events (crit 1)") || !strings.Contains(text, "could not write block") {
		t.Errorf("text %q", text)
	}
	dead, _ := os.ReadFile(filepath.Join(dir, "deadletter.jsonl"))
	if !strings.Contains(string(dead), "channel_not_found") {
		t.Errorf("no dead letter for #nope: %s", dead)
	}
}

// TestSendmail: a sendmail on PATH gets the mail on stdin; EX_TEMPFAIL is
// retried.
func TestSendmail(t *testing.T) {
	bin := t.TempDir()
	alerttest.Sendmail(t, bin)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := os.WriteFile(filepath.Join(bin, "sendmail.fail"), []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, fastRetry+"[sendmail]\nfrom = lp@example.com\nemails = a@example.com, b@example.com\n[rule.r]\nproviders = sendmail\n")
	a := newTestAlerter(t, t.TempDir(), cfg)
	fold(t, a, ev("h", "cron", protocol.SevErr, "job failed"))
	a.clk.Add(5 * time.Minute)
	flush(t, a)
	waitOutboxEmpty(t, a)
	runs := alerttest.SendmailRuns(t, bin)
	if len(runs) != 1 || runs[0].Args != "-i -f lp@example.com -- a@example.com b@example.com" {
		t.Fatalf("runs %+v", runs)
	}
	msg, err := mail.ReadMessage(bufio.NewReader(strings.NewReader(string(runs[0].Stdin))))
	if err != nil || msg.Header.Get("From") != "lp@example.com" || !strings.Contains(msg.Header.Get("Subject"), "r/default: 1 events") {
		t.Fatalf("mail: %v %v", err, msg.Header)
	}
}

// TestSMS: the Twilio-form gateway gets To, From and a short Body with
// basic auth; a number it refuses (400) is dead-lettered.
func TestSMS(t *testing.T) {
	h := alerttest.NewHTTP(t)
	dir := t.TempDir()
	cfg := mustParse(t, fmt.Sprintf(fastRetry+`[twilio]
url = %s/sms/2010-04-01/Accounts/{id}/Messages.json
id = %s
token = %s
from = +15005550006
to = +15005550007, +10000000000
max_length = 60
[rule.r]
providers = twilio
`, h.URL, alerttest.SMSID, alerttest.SMSToken))
	a := newTestAlerter(t, dir, cfg)
	h.Fail(1)
	fold(t, a, ev("h", "app", protocol.SevAlert, "disk full"))
	a.clk.Add(5 * time.Minute)
	flush(t, a)
	waitOutboxEmpty(t, a)
	rs := h.Requests("/sms/")
	if len(rs) != 1 || rs[0].Form.Get("To") != "+15005550007" || rs[0].Form.Get("From") != "+15005550006" {
		t.Fatalf("sms %+v", rs)
	}
	if body := []rune(rs[0].Form.Get("Body")); len(body) != 60 || !strings.HasPrefix(string(body), "[logpacker] r/default: 1 events (alert 1)") {
		t.Errorf("body %q", string(body))
	}
	dead, _ := os.ReadFile(filepath.Join(dir, "deadletter.jsonl"))
	if !strings.Contains(string(dead), "is not a valid phone number. (code 21211)") {
		t.Errorf("dead letters: %s", dead)
	}
}

// TestSendTest: logpacker notify test's sends, to every provider and
// group of a rule.
func TestSendTest(t *testing.T) {
	h := alerttest.NewHTTP(t)
	cfg := mustParse(t, fmt.Sprintf(`[webhook]
token = T
[slack]
webhooks = %[1]s/hooks/x
[group.a]
webhooks = %[1]s/webhook/a
slack_webhooks = %[1]s/hooks/gone
[rule.r]
providers = webhook, slack
groups = a
`, h.URL))
	res, err := SendTest(context.Background(), cfg, "r", "n1")
	if err != nil || len(res) != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	if res[0].Err != nil || res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "HTTP 404: channel_not_found") {
		t.Fatalf("results %+v", res)
	}
	rs := h.Requests("/webhook/a")
	if len(rs) != 1 || rs[0].JSON["test"] != true || rs[0].Header.Get("Authorization") != "Bearer T" {
		t.Fatalf("webhook %+v", rs)
	}
	if _, err := SendTest(context.Background(), cfg, "nope", "n1"); err == nil {
		t.Error("no error for an unknown rule")
	}
}

// TestDecodeMalformed: what the alerter reads back (state.json, outbox
// files, delivered.log) and what providers answer, when it is not what it
// should be.
func TestDecodeMalformed(t *testing.T) {
	for _, c := range []struct{ name, state, want string }{
		{"not json", "{", "alert: state"},
		{"wrong types", `{"through":"x"}`, "alert: state"},
		{"open not a list", `{"open":{}}`, "alert: state"},
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "state.json"), []byte(c.state), 0o640)
		_, err := New(Options{Dir: dir, Epoch: "e"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v", c.name, err)
		}
	}
	// an outbox file that does not decode is moved aside, the rest goes on
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "outbox"), 0o750)
	os.WriteFile(filepath.Join(dir, "outbox", "r.default.1.json"), []byte(`{"id":`), 0o640)
	os.WriteFile(filepath.Join(dir, "outbox", "r.default.2.json"), []byte(`{"id":"other"}`), 0o640)
	os.WriteFile(filepath.Join(dir, "outbox", "delivered.log"), []byte("not json\n{\"id\":1}\n"), 0o640)
	a, err := New(Options{Dir: dir, Epoch: "e"})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	for _, f := range []string{"r.default.1.json.bad", "r.default.2.json.bad"} {
		if _, err := os.Stat(filepath.Join(dir, "outbox", f)); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []struct {
		name, body string
		code       int
		perm       bool
	}{
		{"ok", `{"ok":true}`, 200, false},
		{"ok false unknown error", `{"ok":false,"error":"channel_not_found"}`, 200, true},
		{"ok false retriable", `{"ok":false,"error":"internal_error"}`, 200, false},
		{"not json", `<html>`, 200, false},
		{"empty", ``, 200, false},
		{"429", `{"ok":false,"error":"ratelimited"}`, 429, false},
		{"500", `oops`, 500, false},
		{"403", `invalid_token`, 403, true},
	} {
		err := slackResult("#c", c.code, nil, []byte(c.body))
		if c.name == "ok" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || isPermanent(err) != c.perm {
			t.Errorf("%s: err %v, permanent %v want %v", c.name, err, isPermanent(err), c.perm)
		}
	}
}

func FuzzSlackResult(f *testing.F) {
	f.Add(200, []byte(`{"ok":false,"error":"ratelimited"}`))
	f.Add(429, []byte(`{}`))
	f.Add(200, []byte(`{"ok":true}`))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		err := slackResult("#c", code, nil, body)
		var ans slackAnswer
		if err == nil && (code/100 != 2 || json.Unmarshal(body, &ans) != nil || !ans.OK) {
			t.Fatalf("accepted %d %q", code, body)
		}
	})
}

func FuzzLoadState(f *testing.F) {
	f.Add([]byte(`{"epoch":"e","through":7,"open":[{"rule":"r","group":"default","total":1,"msgs":[{"m":"x","n":1}]}],"closing":[{"id":"r.default.1","targets":{"webhook":["http://127.0.0.1:9/x"]}}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "state.json"), data, 0o640)
		a, err := New(Options{Dir: dir, Epoch: "e", Now: func() time.Time { return time.Unix(0, 0) }})
		if err != nil {
			return
		}
		a.Close()
	})
}

func TestSMSResultMalformed(t *testing.T) {
	for _, c := range []struct {
		code       int
		body, want string
		perm       bool
	}{
		{400, `{"code":21211,"message":"bad To"}`, "HTTP 400: bad To (code 21211)", true},
		{400, `{"code":`, "HTTP 400: {\"code\":", true},
		{400, `{"message":""}`, `HTTP 400: {"message":""}`, true},
		{429, `[]`, "HTTP 429: []", false},
		{503, ``, "HTTP 503: ", false},
	} {
		err := smsResult("+1", c.code, nil, []byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) || isPermanent(err) != c.perm {
			t.Errorf("%d %q: %v (permanent %v)", c.code, c.body, err, isPermanent(err))
		}
	}
}

func FuzzSMSResult(f *testing.F) {
	f.Add(400, []byte(`{"code":21211,"message":"bad"}`))
	f.Add(201, []byte(`{"sid":"SM1"}`))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		if err := smsResult("+1", code, nil, body); (err == nil) != (code/100 == 2) {
			t.Fatalf("%d: %v", code, err)
		}
	})
}

// FuzzLoadOutbox: whatever a digest file and delivered.log hold, opening
// the alerter does not fail on them or crash.
func FuzzLoadOutbox(f *testing.F) {
	f.Add([]byte(`{"id":"r.default.1","targets":{"webhook":["http://127.0.0.1:9/x"]}}`), []byte(`{"id":"r.default.1","kind":"webhook","target":"http://127.0.0.1:9/x"}`+"\n"))
	f.Add([]byte(`{"id":"r.default.1","targets":{"pager":["x"]}}`), []byte("{\n"))
	f.Fuzz(func(t *testing.T, digest, delivered []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "outbox"), 0o750)
		os.WriteFile(filepath.Join(dir, "outbox", "r.default.1.json"), digest, 0o640)
		os.WriteFile(filepath.Join(dir, "outbox", "delivered.log"), delivered, 0o640)
		a, err := New(Options{Dir: dir, Epoch: "e", Config: &Config{RetryMin: time.Hour, RetryMax: time.Hour}})
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
	})
}
