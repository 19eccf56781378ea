package alert

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"logpacker/appliance/internal/inifile"
	"logpacker/appliance/match"
	"logpacker/appliance/option"
)

// ConfigError names the file, line, section and key of a bad setting in
// notify.ini (the same form as server.ini's errors).
type ConfigError = inifile.Error

// Provider kinds, in the order errors list them.
const (
	KindSendmail = "sendmail"
	KindSlack    = "slack"
	KindSMTP     = "smtp"
	KindSMS      = "sms"
	KindWebhook  = "webhook"
)

var kinds = []string{KindSendmail, KindSlack, KindSMTP, KindSMS, KindWebhook}

// DefaultGroup is the group of a rule that names none: the recipients set in
// the providers' own sections ([smtp] emails, [slack] channels, …).
const DefaultGroup = "default"

// Config is a parsed notify.ini.
type Config struct {
	File      string
	Rules     []*Rule // in file order
	Groups    map[string]*Group
	Providers Providers
	// RetryMin, RetryMax: a digest a provider did not take is sent again
	// after RetryMin, doubling up to RetryMax ([notify] retry_min, retry_max).
	RetryMin, RetryMax time.Duration
}

// Providers are the provider sections; nil: not configured.
type Providers struct {
	Sendmail *SendmailOptions
	Slack    *SlackOptions
	SMTP     *SMTPOptions
	SMS      *SMSOptions
	Webhook  *WebhookOptions
}

// Rule is one [rule.NAME] (or the seed product's keys outside any section:
// the rule "default").
type Rule struct {
	Name      string
	Match     match.Matcher // levels (severity), facility, host, app, tags, message, message_regexp
	Providers []string      // kinds, in the order given
	Groups    []string      // empty: DefaultGroup
	Interval  Interval      // matches are collected over this long into one digest
	Lines     int           // the first N raw lines in a digest
	Top       int           // the N most frequent messages in a digest
	Limit     int           // at most Limit digests per LimitPer and group (0: no limit); more are dropped, counted
	LimitPer  Interval
}

// Group is one [group.NAME]: recipients per provider, and match keys that
// narrow every rule sending to it (a team's own hosts).
type Group struct {
	Name          string
	Match         match.Matcher
	Emails        []string // smtp and sendmail
	SlackChannels []string // slack (Web API, [slack] token)
	SlackWebhooks []string // slack incoming-webhook URLs
	Phones        []string // sms
	Webhooks      []string // webhook URLs
}

// GroupsOf is r's groups (DefaultGroup when it names none).
func (r *Rule) GroupsOf() []string {
	if len(r.Groups) == 0 {
		return []string{DefaultGroup}
	}
	return r.Groups
}

// Targets are where provider kind sends a digest for group g: one target
// per message sent (smtp and sendmail: one mail to every address; slack: a
// channel or a webhook URL; sms: a number; webhook: a URL).
func (c *Config) Targets(kind string, g *Group) []string {
	switch kind {
	case KindSMTP, KindSendmail:
		if len(g.Emails) == 0 {
			return nil
		}
		return []string{strings.Join(g.Emails, ",")}
	case KindSlack:
		return slices.Concat(g.SlackChannels, g.SlackWebhooks)
	case KindSMS:
		return slices.Clone(g.Phones)
	case KindWebhook:
		return slices.Clone(g.Webhooks)
	}
	return nil
}

// Group returns the group called name (DefaultGroup: the providers' own
// recipients), or nil.
func (c *Config) Group(name string) *Group {
	if name == DefaultGroup {
		if g := c.Groups[name]; g != nil {
			return g
		}
		g := &Group{Name: DefaultGroup}
		p := c.Providers
		if p.SMTP != nil {
			g.Emails = append(g.Emails, p.SMTP.Emails...)
		}
		if p.Sendmail != nil {
			for _, e := range p.Sendmail.Emails {
				if !slices.Contains(g.Emails, e) {
					g.Emails = append(g.Emails, e)
				}
			}
		}
		if p.Slack != nil {
			g.SlackChannels, g.SlackWebhooks = p.Slack.Channels, p.Slack.Webhooks
		}
		if p.SMS != nil {
			g.Phones = p.SMS.To
		}
		if p.Webhook != nil {
			g.Webhooks = p.Webhook.URLs
		}
		return g
	}
	return c.Groups[name]
}

// recipients is where kind sends for group: the provider's own list for
// DefaultGroup (smtp and sendmail may list different addresses), else the
// group's.
func (c *Config) recipients(kind string, group string) []string {
	g := c.Group(group)
	if g == nil {
		return nil
	}
	if group == DefaultGroup && c.Groups[DefaultGroup] == nil {
		switch {
		case kind == KindSMTP && c.Providers.SMTP != nil:
			g = &Group{Emails: c.Providers.SMTP.Emails}
		case kind == KindSendmail && c.Providers.Sendmail != nil:
			g = &Group{Emails: c.Providers.Sendmail.Emails}
		}
	}
	return c.Targets(kind, g)
}

// Rule returns the rule called name, or nil.
func (c *Config) Rule(name string) *Rule {
	for _, r := range c.Rules {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// LoadConfig reads notify.ini at path. A file that does not exist is no
// error: ok is false (no alerting).
func LoadConfig(path string) (cfg *Config, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, &ConfigError{File: path, Err: err}
	}
	cfg, err = ParseConfig(path, data)
	return cfg, err == nil, err
}

// ruleKeys are the keys of a rule besides the match keys.
var ruleKeys = []string{"providers", "groups", "interval", "levels", "lines", "top", "limit"}

// ParseConfig parses notify.ini content; name is the file, for errors.
func ParseConfig(name string, data []byte) (*Config, error) {
	f, lines, err := inifile.Load(name, data)
	if err != nil {
		return nil, err
	}
	cfg := &Config{File: name, Groups: map[string]*Group{}, RetryMin: time.Second, RetryMax: 5 * time.Minute}
	bad := func(sec, key string, err error) error {
		ln := lines.Sections[sec]
		if l := lines.Line(sec, key); key != "" && l > 0 {
			ln = l
		}
		return &ConfigError{File: name, Line: ln, Section: sec, Key: key, Err: err}
	}
	ruleLines := map[string]string{} // rule name → its section, for errors after parsing
	for _, sec := range f.Sections() {
		sname := sec.Name()
		lower := strings.ToLower(sname)
		if sname == ini.DefaultSection {
			if len(sec.Keys()) == 0 {
				continue
			}
			lower, sname = "rule."+DefaultGroup, ""
		}
		var set func(key, v string) error
		var finish func() error
		switch {
		case strings.HasPrefix(lower, "rule."):
			rname := DefaultGroup
			if sname != "" {
				rname = sname[len("rule."):]
			}
			if err := option.Name("rule", rname); err != nil {
				return nil, bad(sname, "", err)
			}
			if cfg.Rule(rname) != nil {
				return nil, bad(sname, "", fmt.Errorf("rule %q is defined twice (the keys outside any section are the rule %q)", rname, DefaultGroup))
			}
			r := &Rule{Name: rname, Interval: Interval{N: 5, Unit: "m"}, Lines: 10, Top: 10}
			cfg.Rules = append(cfg.Rules, r)
			ruleLines[rname] = sname
			set = r.set
			finish = func() error {
				if len(r.Providers) == 0 {
					return fmt.Errorf("providers is required (%s)", strings.Join(kinds, ", "))
				}
				return nil
			}
		case strings.HasPrefix(lower, "group."):
			gname := sname[len("group."):]
			if err := option.Name("group", gname); err != nil {
				return nil, bad(sname, "", err)
			}
			g := &Group{Name: gname}
			cfg.Groups[gname] = g
			set = g.set
		case lower == "notify":
			set = cfg.set
		default:
			kind := lower
			if kind == "twilio" { // the seed product's name of the SMS section
				kind = KindSMS
			}
			set, finish = cfg.Providers.section(kind)
			if set == nil {
				return nil, bad(sname, "", fmt.Errorf("unknown section (known: %s, twilio, rule.NAME, group.NAME, notify; keys outside any section are the rule %q)",
					strings.Join(kinds, ", "), DefaultGroup))
			}
		}
		for _, k := range sec.Keys() {
			if err := set(k.Name(), strings.TrimSpace(k.Value())); err != nil {
				return nil, bad(sname, k.Name(), err)
			}
		}
		if finish != nil {
			if err := finish(); err != nil {
				var ke *option.KeyError
				if errors.As(err, &ke) {
					return nil, bad(sname, ke.Key, ke.Err)
				}
				return nil, bad(sname, "", err)
			}
		}
	}
	if cfg.RetryMax < cfg.RetryMin {
		return nil, bad("notify", "retry_max", fmt.Errorf("%s is below retry_min (%s)", cfg.RetryMax, cfg.RetryMin))
	}
	// Every rule's providers and groups exist, and each group it sends to
	// has someone to send to through at least one of its providers.
	for _, r := range cfg.Rules {
		sec := ruleLines[r.Name]
		for _, k := range r.Providers {
			if !cfg.Providers.configured(k) {
				return nil, bad(sec, "providers", fmt.Errorf("provider %s has no [%s] section", k, k))
			}
		}
		for _, g := range r.GroupsOf() {
			if cfg.Group(g) == nil {
				return nil, bad(sec, "groups", fmt.Errorf("no [group.%s]", g))
			}
			n := 0
			for _, k := range r.Providers {
				n += len(cfg.recipients(k, g))
			}
			if n == 0 {
				key, where := "groups", "[group."+g+"]"
				if len(r.Groups) == 0 {
					key, where = "providers", "the providers' sections (emails, channels, webhooks, to, urls), or name groups"
				}
				return nil, bad(sec, key, fmt.Errorf("group %s has no recipient for providers %s: set them in %s",
					g, strings.Join(r.Providers, ", "), where))
			}
		}
	}
	return cfg, nil
}

func (c *Config) set(key, v string) error {
	switch key {
	case "retry_min":
		return option.Duration(&c.RetryMin, v, 10*time.Millisecond)
	case "retry_max":
		return option.Duration(&c.RetryMax, v, 10*time.Millisecond)
	}
	return fmt.Errorf("unknown key (known: retry_min, retry_max)")
}

func (r *Rule) set(key, v string) error {
	switch key {
	case "providers":
		items, err := list(v)
		if err != nil {
			return err
		}
		r.Providers = nil
		for _, it := range items {
			k := strings.ToLower(it)
			if k == "twilio" {
				k = KindSMS
			}
			if !slices.Contains(kinds, k) {
				return fmt.Errorf("unknown provider %q (known: %s)", it, strings.Join(kinds, ", "))
			}
			if !slices.Contains(r.Providers, k) {
				r.Providers = append(r.Providers, k)
			}
		}
		return nil
	case "groups":
		items, err := list(v)
		if err != nil {
			return err
		}
		for _, g := range items {
			if err := option.Name("group", g); err != nil {
				return err
			}
		}
		r.Groups = items
		return nil
	case "interval":
		return ParseInterval(&r.Interval, v)
	case "lines":
		return option.Int(&r.Lines, v, 0, 1000)
	case "top":
		return option.Int(&r.Top, v, 0, 100)
	case "limit":
		return r.setLimit(v)
	case "levels":
		return setMatchKey(&r.Match, "severity", levels(v))
	case "tags":
		if v == "*" { // the seed product's "all" (match would want at least one tag)
			v = ""
		}
	}
	if match.IsKey(key) {
		return setMatchKey(&r.Match, key, v)
	}
	return fmt.Errorf("unknown key (known: %s, %s)", strings.Join(ruleKeys, ", "), strings.Join(match.Keys, ", "))
}

// setLimit reads limit = N/INTERVAL (10/h, 100/1d); empty or 0: none.
func (r *Rule) setLimit(v string) error {
	if v == "" || v == "0" {
		r.Limit, r.LimitPer = 0, Interval{}
		return nil
	}
	n, per, ok := strings.Cut(v, "/")
	var iv Interval
	lim, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || lim < 1 {
		return fmt.Errorf("%q is not N/INTERVAL (e.g. 10/h, 100/1d)", v)
	}
	per = strings.TrimSpace(per)
	if per != "" && per[0] >= 'a' && per[0] <= 'z' {
		per = "1" + per
	}
	if err := ParseInterval(&iv, per); err != nil {
		return err
	}
	r.Limit, r.LimitPer = lim, iv
	return nil
}

// levels turns the seed product's level names into match's severity
// syntax: fatal is emerg..crit, error err, warning warning; everything else
// (err..emerg, =notice, numbers) is match's own.
func levels(v string) string {
	items := strings.Split(v, ",")
	for i, it := range items {
		if strings.EqualFold(strings.TrimSpace(it), "fatal") {
			items[i] = "emerg..crit"
		}
	}
	return strings.Join(items, ",")
}

func setMatchKey(m *match.Matcher, key, v string) error {
	if err := m.Set(key, v); err != nil {
		var ke *match.KeyError
		if errors.As(err, &ke) {
			return ke.Err
		}
		return err
	}
	return nil
}

func (g *Group) set(key, v string) error {
	switch key {
	case "emails":
		return emails(&g.Emails, v)
	case "slack_channels":
		return channels(&g.SlackChannels, v)
	case "slack_webhooks":
		return option.URLs(&g.SlackWebhooks, v)
	case "phones":
		return phones(&g.Phones, v)
	case "webhooks":
		return option.URLs(&g.Webhooks, v)
	}
	if match.IsKey(key) {
		return setMatchKey(&g.Match, key, v)
	}
	return fmt.Errorf("unknown key (known: emails, slack_channels, slack_webhooks, phones, webhooks, %s)", strings.Join(match.Keys, ", "))
}

// list splits a comma-separated list (items trimmed, empty ones left out).
func list(v string) ([]string, error) {
	var out []string
	for _, it := range strings.Split(v, ",") {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, it)
		}
	}
	if len(out) == 0 && strings.TrimSpace(v) != "" {
		return nil, fmt.Errorf("%q lists nothing", v)
	}
	return out, nil
}

// emails reads a list of e-mail addresses (bare addr-specs).
func emails(dst *[]string, v string) error {
	items, err := list(v)
	if err != nil {
		return err
	}
	for _, e := range items {
		if err := checkEmail(e); err != nil {
			return err
		}
	}
	*dst = items
	return nil
}

func checkEmail(e string) error {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || strings.ContainsAny(e, "\r\n") {
		return fmt.Errorf("%q is not an e-mail address (user@example.com)", e)
	}
	return nil
}

// channels reads Slack channels: #name or a channel ID (C0123…).
func channels(dst *[]string, v string) error {
	items, err := list(v)
	if err != nil {
		return err
	}
	for _, c := range items {
		if strings.ContainsAny(c, " \t\r\n,") || len(c) > 80 {
			return fmt.Errorf("%q is not a Slack channel (#name or an ID)", c)
		}
	}
	*dst = items
	return nil
}

// phones reads phone numbers in E.164 form (+15005550006).
func phones(dst *[]string, v string) error {
	items, err := list(v)
	if err != nil {
		return err
	}
	for _, p := range items {
		ok := len(p) >= 3 && len(p) <= 16 && p[0] == '+'
		for _, r := range p[min(1, len(p)):] {
			ok = ok && r >= '0' && r <= '9'
		}
		if !ok {
			return fmt.Errorf("%q is not a phone number in E.164 form (+15005550006)", p)
		}
	}
	*dst = items
	return nil
}

// httpURL reads one http:// or https:// URL.
func httpURL(dst *string, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an http:// or https:// URL", v)
	}
	*dst = v
	return nil
}
