package httpin

import (
	"fmt"
	"strings"

	"logpacker/appliance/option"
)

// Settings are the [ingest] section of server.ini: what the HTTP ingest
// endpoints (POST /api/v1/ingest, the Sentry envelope endpoint, and
// journald's POST /upload) accept.
type Settings struct {
	// Tokens maps a per-source token to its source name (tokens =
	// name:token, …). Empty: no token is asked for (allowed only with
	// [listen] http on loopback; package appliance checks).
	Tokens map[string]string
	// MaxBodySize bounds a JSON or envelope request body, after gzip.
	MaxBodySize int
	// MaxEventSize bounds one event (a JSON object, one journal entry).
	MaxEventSize int
	// Rate is the events per second each source may send to the JSON and
	// envelope endpoints (0: unlimited); Burst the bucket's size.
	Rate  float64
	Burst int
	// Origins is the CORS allow-list ("*": any origin). Empty: browsers
	// of other origins are refused.
	Origins []string
	// Journal accepts systemd-journal-upload at POST /upload.
	Journal bool
}

// DefaultSettings are the embedded server.ini's [ingest] section.
func DefaultSettings() Settings {
	return Settings{MaxBodySize: 10 << 20, MaxEventSize: 1 << 20, Burst: 10000, Journal: true}
}

// Set parses value into the field of key (an [ingest] key). A bad value
// leaves s as it was; a key that is not [ingest]'s returns
// option.ErrUnknownKey.
func (s *Settings) Set(key, value string) error {
	switch key {
	case "tokens":
		m := map[string]string{}
		for _, item := range strings.Split(value, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			name, tok, ok := strings.Cut(item, ":")
			name, tok = strings.TrimSpace(name), strings.TrimSpace(tok)
			if !ok || tok == "" {
				return fmt.Errorf("%q: want name:token", item)
			}
			if err := option.Name("source", name); err != nil {
				return err
			}
			if len(tok) < 8 {
				return fmt.Errorf("the token of %q is shorter than 8 characters", name)
			}
			if old, dup := m[tok]; dup {
				return fmt.Errorf("sources %q and %q have the same token", old, name)
			}
			m[tok] = name
		}
		s.Tokens = m
		return nil
	case "max_body_size":
		return option.SizeInt(&s.MaxBodySize, value, 1<<10, 1<<30)
	case "max_event_size":
		return option.SizeInt(&s.MaxEventSize, value, 1<<10, 64<<20)
	case "rate_limit":
		return option.Float(&s.Rate, value, 0, 1e9)
	case "burst":
		return option.Int(&s.Burst, value, 1, 1<<30)
	case "cors_origins":
		var out []string
		for _, o := range strings.Split(value, ",") {
			if o = strings.TrimRight(strings.TrimSpace(o), "/"); o == "" {
				continue
			}
			if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
				return fmt.Errorf("%q: an origin is scheme://host[:port] (or *)", o)
			}
			out = append(out, o)
		}
		s.Origins = out
		return nil
	case "journal":
		return option.Bool(&s.Journal, value)
	}
	return option.ErrUnknownKey
}
