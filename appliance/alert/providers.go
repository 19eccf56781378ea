package alert

import (
	"fmt"
	"strings"
	"time"

	"logpacker/appliance/option"
)

// SMTPOptions are [smtp]: a mail server reached with github.com/emersion/go-smtp.
type SMTPOptions struct {
	Host     string
	Port     int
	TLS      string // starttls (required: no mail in clear text), tls (implicit, port 465), none
	Login    string // AUTH PLAIN when set (only over TLS)
	Password string
	MailOptions
	CA   string // PEM file of the CA that signed the server's certificate; empty: the system's
	Helo string // the name given in EHLO; empty: this host's name
}

// MailOptions are the keys smtp and sendmail share.
type MailOptions struct {
	From    string   // smtp's default: login when it is an address; else logpacker@<hostname>
	ReplyTo string   // Reply-To, when set
	Emails  []string // recipients of the rules without groups
	Timeout time.Duration
}

// set reads one of the shared keys; ok is false for any other key.
func (o *MailOptions) set(k, v string) (ok bool, err error) {
	switch k {
	case "from", "reply_to", "replyto":
		if v != "" {
			if err := checkEmail(v); err != nil {
				return true, err
			}
		}
		if k == "from" {
			o.From = v
		} else {
			o.ReplyTo = v
		}
	case "emails":
		return true, emails(&o.Emails, v)
	case "timeout":
		return true, timeout(&o.Timeout, v)
	default:
		return false, nil
	}
	return true, nil
}

// SendmailOptions are [sendmail]: the local MTA's sendmail program.
type SendmailOptions struct {
	Path string // default: sendmail on PATH, else /usr/sbin/sendmail
	MailOptions
}

// SlackOptions are [slack]: the Web API (chat.postMessage with a bot
// token, to channels) and incoming webhooks.
type SlackOptions struct {
	Token    string
	Channels []string
	Webhooks []string
	URL      string // the Web API's base URL
	Timeout  time.Duration
}

// SMSOptions are [sms] (the seed's [twilio]): an HTTP SMS gateway taking
// Twilio's form (POST To, From, Body; basic auth id:token).
type SMSOptions struct {
	URL       string // {id} is replaced by ID
	ID        string // account SID
	Token     string
	From      string
	To        []string
	MaxLength int // characters of the text at most
	Timeout   time.Duration
}

// WebhookOptions are [webhook]: the digest as JSON, POSTed.
type WebhookOptions struct {
	URLs    []string
	Token   string // Authorization: Bearer TOKEN when set
	Timeout time.Duration
}

// section returns the key setter and the check of the provider section
// kind (nil: no such provider).
func (p *Providers) section(kind string) (set func(k, v string) error, finish func() error) {
	switch kind {
	case KindSMTP:
		o := &SMTPOptions{Port: 587, MailOptions: MailOptions{Timeout: 30 * time.Second}}
		p.SMTP = o
		return o.set, o.check
	case KindSendmail:
		o := &SendmailOptions{MailOptions: MailOptions{Timeout: 30 * time.Second}}
		p.Sendmail = o
		return o.set, func() error { return nil }
	case KindSlack:
		o := &SlackOptions{URL: "https://slack.com/api", Timeout: 30 * time.Second}
		p.Slack = o
		return o.set, func() error {
			if len(o.Channels) > 0 && o.Token == "" {
				return &option.KeyError{Key: "token", Err: fmt.Errorf("channels need a token (a bot token, xoxb-…)")}
			}
			return nil
		}
	case KindSMS:
		o := &SMSOptions{URL: "https://api.twilio.com/2010-04-01/Accounts/{id}/Messages.json", MaxLength: 320, Timeout: 30 * time.Second}
		p.SMS = o
		return o.set, func() error {
			for _, k := range []struct{ key, v string }{{"id", o.ID}, {"token", o.Token}, {"from", o.From}} {
				if k.v == "" {
					return &option.KeyError{Key: k.key, Err: fmt.Errorf("is required")}
				}
			}
			return nil
		}
	case KindWebhook:
		o := &WebhookOptions{Timeout: 30 * time.Second}
		p.Webhook = o
		return o.set, func() error { return nil }
	}
	return nil, nil
}

func (p *Providers) configured(kind string) bool {
	switch kind {
	case KindSMTP:
		return p.SMTP != nil
	case KindSendmail:
		return p.Sendmail != nil
	case KindSlack:
		return p.Slack != nil
	case KindSMS:
		return p.SMS != nil
	case KindWebhook:
		return p.Webhook != nil
	}
	return false
}

func unknownKey(known string) error { return fmt.Errorf("unknown key (known: %s)", known) }

func timeout(dst *time.Duration, v string) error {
	return option.Duration(dst, v, 100*time.Millisecond)
}

func (o *SMTPOptions) set(k, v string) error {
	switch k {
	case "host":
		if strings.ContainsAny(v, " :/") {
			return fmt.Errorf("%q: a host name or address, without port (see port)", v)
		}
		return option.NonEmpty(&o.Host, v)
	case "port":
		return option.Int(&o.Port, v, 1, 65535)
	case "tls":
		return option.OneOf(&o.TLS, v, "starttls", "tls", "none")
	case "login":
		o.Login = v
	case "password", "pass":
		o.Password = v
	case "ca":
		o.CA = v
	case "helo":
		o.Helo = v
	default:
		if ok, err := o.MailOptions.set(k, v); ok {
			return err
		}
		return unknownKey("host, port, tls, login, password, from, reply_to, emails, ca, helo, timeout")
	}
	return nil
}

func (o *SMTPOptions) check() error {
	if o.Host == "" {
		return &option.KeyError{Key: "host", Err: fmt.Errorf("is required")}
	}
	if o.TLS == "" {
		o.TLS = "starttls"
		if o.Port == 465 {
			o.TLS = "tls"
		}
	}
	if o.From == "" && checkEmail(o.Login) == nil {
		o.From = o.Login
	}
	if o.Login != "" && o.TLS == "none" {
		return &option.KeyError{Key: "tls", Err: fmt.Errorf("tls = none would send the password in clear text: use starttls or tls")}
	}
	return nil
}

func (o *SendmailOptions) set(k, v string) error {
	switch k {
	case "path":
		o.Path = v
	default:
		if ok, err := o.MailOptions.set(k, v); ok {
			return err
		}
		return unknownKey("path, from, reply_to, emails, timeout")
	}
	return nil
}

func (o *SlackOptions) set(k, v string) error {
	switch k {
	case "token":
		o.Token = v
	case "channels":
		return channels(&o.Channels, v)
	case "webhooks":
		return option.URLs(&o.Webhooks, v)
	case "url":
		return httpURL(&o.URL, strings.TrimRight(v, "/"))
	case "timeout":
		return timeout(&o.Timeout, v)
	default:
		return unknownKey("token, channels, webhooks, url, timeout")
	}
	return nil
}

func (o *SMSOptions) set(k, v string) error {
	switch k {
	case "url":
		return httpURL(&o.URL, v)
	case "id":
		o.ID = v
	case "token":
		o.Token = v
	case "from":
		var p []string
		if err := phones(&p, v); err != nil || len(p) != 1 {
			return fmt.Errorf("%q is not one phone number in E.164 form (+15005550006)", v)
		}
		o.From = p[0]
	case "to", "phones":
		return phones(&o.To, v)
	case "max_length":
		return option.Int(&o.MaxLength, v, 20, 1600)
	case "timeout":
		return timeout(&o.Timeout, v)
	default:
		return unknownKey("url, id, token, from, to, max_length, timeout")
	}
	return nil
}

func (o *WebhookOptions) set(k, v string) error {
	switch k {
	case "urls":
		return option.URLs(&o.URLs, v)
	case "token":
		o.Token = v
	case "timeout":
		return timeout(&o.Timeout, v)
	default:
		return unknownKey("urls, token, timeout")
	}
	return nil
}
