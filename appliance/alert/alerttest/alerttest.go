package alerttest

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"logpacker/appliance/internal/testca"
)

// Mail is one message the SMTP server took.
type Mail struct {
	From string
	To   []string
	Data string
	TLS  bool   // the session was over TLS (STARTTLS)
	User string // who authenticated
}

// SMTP is a real SMTP server on 127.0.0.1.
type SMTP struct {
	Addr     string
	Host     string
	Port     int
	TLSPort  int    // the same server with implicit TLS (SMTPS, as on port 465)
	CAFile   string // the CA of its certificate, PEM
	User     string
	Password string

	mu      sync.Mutex
	mails   []Mail
	refuse  int // refuse this many more DATA commands with 451
	refuseN int // how many were refused
	hold    chan struct{}
	holding bool
	held    int // DATA commands stalled now
	srv     *smtp.Server
	got     chan struct{}
}

// NewSMTP starts an SMTP server offering STARTTLS (certificate for
// 127.0.0.1 from a test CA written to dir) that requires AUTH PLAIN as
// user/password. The test's cleanup stops it.
func NewSMTP(t testing.TB, dir string) *SMTP {
	t.Helper()
	ca := testca.New(t, "alerttest CA")
	certPEM, keyPEM := ca.Issue(t, "127.0.0.1", true)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	s := &SMTP{User: "robot@example.com", Password: "s3cret", CAFile: filepath.Join(dir, "smtp-ca.pem"), got: make(chan struct{}, 1000)}
	if err := os.WriteFile(s.CAFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "127.0.0.1"
	s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	s.Host = "127.0.0.1"
	s.Port = ln.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(ln)
	tln, err := tls.Listen("tcp", "127.0.0.1:0", s.srv.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	s.TLSPort = tln.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(tln)
	t.Cleanup(func() { s.Release(); s.srv.Close() })
	return s
}

// INI is the [smtp] section of notify.ini that reaches s (host, port,
// STARTTLS with its CA, the login), for more keys to follow.
func (s *SMTP) INI() string {
	return fmt.Sprintf("[smtp]\nhost = %s\nport = %d\ntls = starttls\nlogin = %s\npassword = %s\nca = %s\n",
		s.Host, s.Port, s.User, s.Password, s.CAFile)
}

// Refuse makes the server answer the next n DATA commands with 451 (a
// temporary failure: the mail is not taken).
func (s *SMTP) Refuse(n int) {
	s.mu.Lock()
	s.refuse = n
	s.mu.Unlock()
}

// Hold makes the server stall every DATA (without taking the mail) until
// Release.
func (s *SMTP) Hold() {
	s.mu.Lock()
	if !s.holding {
		s.hold, s.holding = make(chan struct{}), true
	}
	s.mu.Unlock()
}

// Release ends Hold: stalled DATA commands are refused (451).
func (s *SMTP) Release() {
	s.mu.Lock()
	if s.holding {
		close(s.hold)
		s.holding = false
	}
	s.mu.Unlock()
}

// Held is how many DATA commands Hold stalls now.
func (s *SMTP) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held
}

// Refused is how many DATA commands were refused.
func (s *SMTP) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuseN
}

// Mails is what the server took so far.
func (s *SMTP) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Got is signalled once per mail taken.
func (s *SMTP) Got() <-chan struct{} { return s.got }

// NewSession is go-smtp's Backend.
func (s *SMTP) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, c: c}, nil
}

type session struct {
	s    *SMTP
	c    *smtp.Conn
	user string
	m    Mail
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != x.s.User || pass != x.s.Password {
			return smtp.ErrAuthFailed
		}
		x.user = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.user == "" {
		return smtp.ErrAuthRequired
	}
	_, isTLS := x.c.TLSConnectionState()
	x.m = Mail{From: from, TLS: isTLS, User: x.user}
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "nobody@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	x.m.To = append(x.m.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := x.s
	s.mu.Lock()
	hold, holding := s.hold, s.holding
	s.mu.Unlock()
	if holding {
		s.mu.Lock()
		s.held++
		s.mu.Unlock()
		<-hold
		s.mu.Lock()
		s.held--
		s.refuseN++
		s.mu.Unlock()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "held, try again"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse > 0 {
		s.refuse--
		s.refuseN++
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	x.m.Data = string(b)
	s.mails = append(s.mails, x.m)
	s.got <- struct{}{}
	return nil
}

func (x *session) Reset()        {}
func (x *session) Logout() error { return nil }

// Request is one HTTP request a stand-in server got.
type Request struct {
	Path   string
	Header http.Header
	Body   []byte
	Form   url.Values // form bodies (SMS)
	JSON   map[string]any
}

// HTTP is a stand-in HTTP server: Slack (Web API under /api/, incoming
// webhooks under /hooks/), a Twilio-form SMS gateway (/sms/) and a webhook
// receiver (/webhook/).
type HTTP struct {
	URL string // http://127.0.0.1:PORT

	mu sync.Mutex
	// RateLimit: answer the next n Slack requests with 429 ratelimited,
	// Retry-After: 1. Fail: answer the next n requests to any path with 503.
	rateLimit, fail int
	reqs            []Request
	got             chan struct{}
	srv             *http.Server
}

// Slack's documented answers.
const (
	SlackToken = "xoxb-test-token"
	SMSID      = "AC0123456789abcdef"
	SMSToken   = "sms-secret"
)

// NewHTTP starts the stand-in server.
func NewHTTP(t testing.TB) *HTTP {
	t.Helper()
	h := &HTTP{got: make(chan struct{}, 10000)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.URL = "http://" + ln.Addr().String()
	h.srv = &http.Server{Handler: h}
	go h.srv.Serve(ln)
	t.Cleanup(func() { h.srv.Close() })
	return h
}

// RateLimit makes the next n Slack requests answer 429 with Retry-After: 1.
func (h *HTTP) RateLimit(n int) { h.mu.Lock(); h.rateLimit = n; h.mu.Unlock() }

// Fail makes the next n requests answer 503.
func (h *HTTP) Fail(n int) { h.mu.Lock(); h.fail = n; h.mu.Unlock() }

// Requests is what was taken (2xx answers), in order, whose path starts
// with prefix.
func (h *HTTP) Requests(prefix string) []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Request
	for _, r := range h.reqs {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// Got is signalled once per request taken.
func (h *HTTP) Got() <-chan struct{} { return h.got }

func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	slack := strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/hooks/")
	h.mu.Lock()
	if h.fail > 0 {
		h.fail--
		h.mu.Unlock()
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if slack && h.rateLimit > 0 {
		h.rateLimit--
		h.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"ok":false,"error":"ratelimited"}`)
		return
	}
	h.mu.Unlock()
	code, answer, ok := h.answer(r, &req)
	if ok {
		h.mu.Lock()
		h.reqs = append(h.reqs, req)
		h.mu.Unlock()
		h.got <- struct{}{}
	}
	w.WriteHeader(code)
	io.WriteString(w, answer)
}

// answer is the stand-in's reply: status, body, and whether it took the
// request.
func (h *HTTP) answer(r *http.Request, req *Request) (int, string, bool) {
	switch {
	case r.URL.Path == "/api/chat.postMessage":
		if r.Header.Get("Authorization") != "Bearer "+SlackToken {
			return 200, `{"ok":false,"error":"invalid_auth"}`, false
		}
		if err := json.Unmarshal(req.Body, &req.JSON); err != nil {
			return 200, `{"ok":false,"error":"invalid_json"}`, false
		}
		ch, _ := req.JSON["channel"].(string)
		if ch == "#nope" {
			return 200, `{"ok":false,"error":"channel_not_found"}`, false
		}
		if t, _ := req.JSON["text"].(string); t == "" {
			return 200, `{"ok":false,"error":"no_text"}`, false
		}
		return 200, fmt.Sprintf(`{"ok":true,"channel":%q,"ts":"1503435956.000247","message":{"text":"..."}}`, ch), true
	case strings.HasPrefix(r.URL.Path, "/hooks/"):
		if strings.HasSuffix(r.URL.Path, "/gone") {
			return 404, "channel_not_found", false
		}
		if err := json.Unmarshal(req.Body, &req.JSON); err != nil || req.JSON["text"] == nil {
			return 400, "invalid_payload", false
		}
		return 200, "ok", true
	case strings.HasPrefix(r.URL.Path, "/sms/"):
		user, pass, _ := r.BasicAuth()
		if user != SMSID || pass != SMSToken || r.URL.Path != "/sms/2010-04-01/Accounts/"+SMSID+"/Messages.json" {
			return 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`, false
		}
		form, err := url.ParseQuery(string(req.Body))
		if err != nil || form.Get("To") == "" || form.Get("Body") == "" {
			return 400, `{"code":21604,"message":"A 'To' phone number is required.","status":400}`, false
		}
		if form.Get("To") == "+10000000000" {
			return 400, `{"code":21211,"message":"The 'To' number +10000000000 is not a valid phone number.","status":400}`, false
		}
		req.Form = form
		return 201, `{"sid":"SM0123","status":"queued"}`, true
	case strings.HasPrefix(r.URL.Path, "/webhook/"):
		if err := json.Unmarshal(req.Body, &req.JSON); err != nil {
			return 400, "bad json", false
		}
		return 200, "", true
	}
	return 404, "not found", false
}

// Sendmail writes a stand-in sendmail into dir (put dir first on PATH):
// each run appends its arguments and its standard input to dir/sendmail.out
// as one JSON line, unless dir/sendmail.fail holds a number n > 0: then it
// counts it down and exits 75 (EX_TEMPFAIL).
func Sendmail(t testing.TB, dir string) (path string) {
	t.Helper()
	path = filepath.Join(dir, "sendmail")
	script := `#!/bin/sh
d=$(dirname "$0")
if [ -s "$d/sendmail.fail" ]; then
  n=$(cat "$d/sendmail.fail")
  if [ "$n" -gt 0 ]; then echo $((n-1)) > "$d/sendmail.fail"; echo "sendmail: try again" >&2; exit 75; fi
fi
body=$(cat | base64 -w0)
printf '{"args":"%s","stdin":"%s"}\n' "$*" "$body" >> "$d/sendmail.out"
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// SendmailRun is one run of the stand-in sendmail.
type SendmailRun struct {
	Args  string
	Stdin []byte `json:"stdin"`
}

// SendmailRuns reads dir/sendmail.out.
func SendmailRuns(t testing.TB, dir string) []SendmailRun {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "sendmail.out"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []SendmailRun
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r SendmailRun
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("sendmail.out: %v: %s", err, l)
		}
		out = append(out, r)
	}
	return out
}
