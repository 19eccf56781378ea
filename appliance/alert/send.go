package alert

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// sendError is a failed send: Permanent (sending again would fail the same
// way: a bad token, an unknown channel, a refused address) or not, and how
// long the provider asked us to wait (Slack's Retry-After).
type sendError struct {
	err        error
	permanent  bool
	retryAfter time.Duration
}

func (e *sendError) Error() string   { return e.err.Error() }
func (e *sendError) Unwrap() error   { return e.err }
func (e *sendError) Permanent() bool { return e.permanent }

func permanent(err error) error { return &sendError{err: err, permanent: true} }

func isPermanent(err error) bool {
	var se *sendError
	return errors.As(err, &se) && se.permanent
}

func retryAfter(err error) time.Duration {
	var se *sendError
	if errors.As(err, &se) {
		return se.retryAfter
	}
	return 0
}

// send delivers d through provider kind to target, with the providers'
// current settings p.
func send(ctx context.Context, p Providers, kind string, d *Digest, target string) error {
	switch kind {
	case KindSMTP:
		if p.SMTP != nil {
			return sendSMTP(ctx, p.SMTP, d, strings.Split(target, ","))
		}
	case KindSendmail:
		if p.Sendmail != nil {
			return sendSendmail(ctx, p.Sendmail, d, strings.Split(target, ","))
		}
	case KindSlack:
		if p.Slack != nil {
			return sendSlack(ctx, p.Slack, d, target)
		}
	case KindSMS:
		if p.SMS != nil {
			return sendSMS(ctx, p.SMS, d, target)
		}
	case KindWebhook:
		if p.Webhook != nil {
			return sendWebhook(ctx, p.Webhook, d, target)
		}
	}
	return permanent(fmt.Errorf("provider %s is no longer configured in notify.ini", kind))
}

// mailMessage is d as an RFC 5322 message (text/plain, UTF-8,
// quoted-printable), with a Message-ID made of its ID so that a receiver
// can see a digest sent twice (after a crash mid-send) as one.
func mailMessage(d *Digest, from, replyTo string, to []string) []byte {
	var b bytes.Buffer
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	hdr := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	hdr("From", from)
	hdr("To", strings.Join(to, ", "))
	if replyTo != "" {
		hdr("Reply-To", replyTo)
	}
	hdr("Subject", mime.QEncoding.Encode("utf-8", d.Subject()))
	hdr("Date", time.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+d.ID+"@"+d.Node+".logpacker>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	hdr("X-Logpacker-Digest", d.ID)
	b.WriteString("\r\n")
	for _, l := range strings.Split(strings.TrimRight(d.Text(), "\n"), "\n") {
		if strings.HasPrefix(l, ".") {
			l = "." + l // harmless for sendmail -i, and what SMTP's dot-stuffing does
		}
		if len(l) > 990 {
			l = l[:990]
		}
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

func fromAddr(from string) string {
	if from != "" {
		return from
	}
	host, _ := os.Hostname()
	if host == "" || !strings.Contains(host, ".") {
		host = "localhost"
	}
	return "logpacker@" + host
}

// sendSMTP sends one mail to every address of to. A 4xx answer (and any
// network error) is retried; a 5xx is permanent, except that one refused
// recipient among others only leaves that one out.
func sendSMTP(ctx context.Context, o *SMTPOptions, d *Digest, to []string) error {
	addr := net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
	tc := &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	if o.CA != "" {
		pem, err := os.ReadFile(o.CA)
		if err != nil {
			return fmt.Errorf("alert/smtp: ca: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return permanent(fmt.Errorf("alert/smtp: ca %s: no PEM certificate", o.CA))
		}
	}
	dl := time.Now().Add(o.Timeout)
	if t, ok := ctx.Deadline(); ok && t.Before(dl) {
		dl = t
	}
	conn, err := (&net.Dialer{Deadline: dl}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("alert/smtp: %w", err)
	}
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	var c *smtp.Client
	switch o.TLS {
	case "tls":
		tconn := tls.Client(conn, tc)
		c = smtp.NewClient(tconn)
	case "starttls":
		if c, err = smtp.NewClientStartTLS(conn, tc); err != nil {
			conn.Close()
			return smtpErr("starttls", err)
		}
	default:
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if o.Helo != "" {
		if err := c.Hello(o.Helo); err != nil {
			return smtpErr("helo", err)
		}
	}
	if o.Login != "" {
		if err := c.Auth(sasl.NewPlainClient("", o.Login, o.Password)); err != nil {
			return smtpErr("auth", err)
		}
	}
	from := fromAddr(o.From)
	if err := c.Mail(from, nil); err != nil {
		return smtpErr("mail from", err)
	}
	var accepted []string
	var refused error
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			if !isPermanentSMTP(err) {
				return smtpErr("rcpt to "+r, err)
			}
			refused = errors.Join(refused, smtpErr("rcpt to "+r, err))
			continue
		}
		accepted = append(accepted, r)
	}
	if len(accepted) == 0 {
		return permanent(refused)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr("data", err)
	}
	if _, err := w.Write(mailMessage(d, from, o.ReplyTo, to)); err != nil {
		w.Close()
		return smtpErr("data", err)
	}
	if err := w.Close(); err != nil {
		return smtpErr("data", err)
	}
	c.Quit()
	if refused != nil { // sent to the others; the refused ones go to the dead letters
		return permanent(fmt.Errorf("sent, but not to every recipient: %w", refused))
	}
	return nil
}

func isPermanentSMTP(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code/100 == 5
}

func smtpErr(step string, err error) error {
	err = fmt.Errorf("alert/smtp: %s: %w", step, err)
	if isPermanentSMTP(err) {
		return permanent(err)
	}
	return err
}

// sendSendmail pipes the mail to `sendmail -i -f FROM -- TO…`. Exit 0 is
// accepted; EX_TEMPFAIL (75) and failures to run it are retried; the
// sysexits that say the message or the addresses are wrong are permanent.
func sendSendmail(ctx context.Context, o *SendmailOptions, d *Digest, to []string) error {
	path := o.Path
	if path == "" {
		path = "sendmail"
		if _, err := exec.LookPath(path); err != nil {
			path = "/usr/sbin/sendmail"
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	from := fromAddr(o.From)
	cmd := exec.CommandContext(ctx, path, append([]string{"-i", "-f", from, "--"}, to...)...)
	cmd.Stdin = bytes.NewReader(mailMessage(d, from, o.ReplyTo, to))
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	err = fmt.Errorf("alert/sendmail: %s: %w: %s", path, err, strings.TrimSpace(string(out)))
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		switch ee.ExitCode() {
		case 64, 65, 67, 68, 77, 78: // EX_USAGE, EX_DATAERR, EX_NOUSER, EX_NOHOST, EX_NOPERM, EX_CONFIG
			return permanent(err)
		}
	}
	return err
}

// post sends body to u and returns the answer's status, headers and body
// (at most 64 KiB). Network errors are retried.
func post(ctx context.Context, timeout time.Duration, u, ctype string, body []byte, hdr map[string]string) (int, http.Header, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, permanent(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "logpacker")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header, b, err
}

// httpStatusErr classifies a non-2xx answer: 429 and 5xx (and 408) are
// retried, after Retry-After when the answer has one; other 4xx are
// permanent.
func httpStatusErr(what string, code int, h http.Header, body []byte) error {
	err := fmt.Errorf("%s: HTTP %d: %s", what, code, strings.TrimSpace(string(body)))
	if code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500 {
		return &sendError{err: err, retryAfter: parseRetryAfter(h.Get("Retry-After"))}
	}
	return permanent(err)
}

// parseRetryAfter reads Retry-After: seconds (Slack) or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return min(time.Duration(n)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), time.Hour)
	}
	return 0
}

// slackRetriable are the Web API's errors that go away by themselves;
// every other ok:false error (invalid_auth, channel_not_found,
// not_in_channel, is_archived, msg_too_long, …) is permanent.
var slackRetriable = map[string]bool{"ratelimited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true}

// slackMaxText keeps a message within what Slack shows (it cuts at 40,000).
const slackMaxText = 38000

// sendSlack posts d to a channel (chat.postMessage with the token) or to
// an incoming-webhook URL (a target that is a URL).
func sendSlack(ctx context.Context, o *SlackOptions, d *Digest, target string) error {
	text := "*" + d.Subject() + "*\n```\n" + d.Text() + "```"
	if len(text) > slackMaxText {
		text = text[:slackMaxText] + "\n…```"
	}
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		body, _ := json.Marshal(map[string]any{"text": text})
		code, h, b, err := post(ctx, o.Timeout, target, "application/json", body, nil)
		if err != nil {
			return fmt.Errorf("alert/slack: webhook: %w", err)
		}
		if code/100 != 2 {
			return httpStatusErr("alert/slack: webhook", code, h, b)
		}
		return nil
	}
	body, _ := json.Marshal(map[string]any{"channel": target, "text": text, "unfurl_links": false})
	code, h, b, err := post(ctx, o.Timeout, o.URL+"/chat.postMessage", "application/json; charset=utf-8", body,
		map[string]string{"Authorization": "Bearer " + o.Token})
	if err != nil {
		return fmt.Errorf("alert/slack: chat.postMessage: %w", err)
	}
	return slackResult(target, code, h, b)
}

// slackResult reads chat.postMessage's answer: HTTP status, then the JSON's
// ok and error.
func slackResult(target string, code int, h http.Header, b []byte) error {
	if code/100 != 2 {
		return httpStatusErr("alert/slack: chat.postMessage "+target, code, h, b)
	}
	var ans slackAnswer
	if err := json.Unmarshal(b, &ans); err != nil {
		return fmt.Errorf("alert/slack: chat.postMessage %s: the answer is not Slack's JSON: %w", target, err)
	}
	if !ans.OK {
		err := fmt.Errorf("alert/slack: chat.postMessage %s: %s", target, ans.Error)
		if slackRetriable[ans.Error] {
			return &sendError{err: err, retryAfter: parseRetryAfter(h.Get("Retry-After"))}
		}
		return permanent(err)
	}
	return nil
}

// slackAnswer is the part of a Web API answer we read.
type slackAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
}

// sendSMS posts d's short form to a Twilio-compatible gateway.
func sendSMS(ctx context.Context, o *SMSOptions, d *Digest, to string) error {
	form := url.Values{"To": {to}, "From": {o.From}, "Body": {d.Short(o.MaxLength)}}
	u := strings.ReplaceAll(o.URL, "{id}", url.PathEscape(o.ID))
	req := map[string]string{"Authorization": "Basic " + basic(o.ID, o.Token)}
	code, h, b, err := post(ctx, o.Timeout, u, "application/x-www-form-urlencoded", []byte(form.Encode()), req)
	if err != nil {
		return fmt.Errorf("alert/sms: %w", err)
	}
	return smsResult(to, code, h, b)
}

// smsResult reads a gateway's answer: 2xx is sent; otherwise Twilio's
// error JSON (message and code) says why, when it is there.
func smsResult(to string, code int, h http.Header, b []byte) error {
	if code/100 == 2 {
		return nil
	}
	var te twilioError
	if json.Unmarshal(b, &te) == nil && te.Message != "" {
		b = []byte(fmt.Sprintf("%s (code %d)", te.Message, te.Code))
	}
	return httpStatusErr("alert/sms: "+to, code, h, b)
}

// twilioError is Twilio's error answer.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}

// sendWebhook POSTs d as JSON, with its ID as Idempotency-Key.
func sendWebhook(ctx context.Context, o *WebhookOptions, d *Digest, u string) error {
	body, err := json.Marshal(d)
	if err != nil {
		return permanent(err)
	}
	hdr := map[string]string{"Idempotency-Key": d.ID}
	if o.Token != "" {
		hdr["Authorization"] = "Bearer " + o.Token
	}
	code, h, b, err := post(ctx, o.Timeout, u, "application/json", body, hdr)
	if err != nil {
		return fmt.Errorf("alert/webhook: %w", err)
	}
	if code/100 != 2 {
		return httpStatusErr("alert/webhook: "+u, code, h, b)
	}
	return nil
}
