package filetail

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"logpacker/appliance/option"
)

// Settings are a [source.NAME] type = file section's keys, as written;
// the node turns them into Options (it resolves format to a parser).
type Settings struct {
	Paths            []string
	Exclude          []string
	App              string
	Format           string // a format of package appliance/scan ("" or raw: none)
	Tags             []string
	TZ               string // zone of times without one (IANA name; default: local)
	MultilineStart   string
	MultilineTimeout time.Duration
	MaxLineBytes     int
	ReadFrom         string // beginning | end
	PollInterval     time.Duration
	RotateWait       time.Duration
	BatchSize        int
}

// DefaultSettings are the keys' defaults (server.ini documents them).
func DefaultSettings() Settings {
	return Settings{MultilineTimeout: time.Second, MaxLineBytes: 256 << 10, ReadFrom: "beginning",
		PollInterval: 250 * time.Millisecond, RotateWait: 5 * time.Second, BatchSize: 1000}
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Set parses one key (an unknown key is an error wrapping
// option.ErrUnknownKey).
func (s *Settings) Set(key, v string) error {
	switch key {
	case "paths":
		s.Paths = list(v)
		for _, p := range s.Paths {
			if !strings.HasPrefix(p, "/") {
				return fmt.Errorf("%q: paths must be absolute", p)
			}
			if _, err := pathMatch(p); err != nil {
				return err
			}
		}
	case "exclude":
		s.Exclude = list(v)
		for _, p := range s.Exclude {
			if _, err := pathMatch(p); err != nil {
				return err
			}
		}
	case "app":
		s.App = v
	case "format":
		s.Format = v
	case "tags":
		s.Tags = list(v)
	case "tz":
		if v != "" {
			if _, err := time.LoadLocation(v); err != nil {
				return err
			}
		}
		s.TZ = v
	case "multiline_start":
		if v != "" {
			if _, err := regexp.Compile(v); err != nil {
				return err
			}
		}
		s.MultilineStart = v
	case "multiline_timeout":
		return option.Duration(&s.MultilineTimeout, v, time.Millisecond)
	case "max_line_bytes":
		return option.SizeInt(&s.MaxLineBytes, v, 64, 64<<20)
	case "read_from":
		return option.OneOf(&s.ReadFrom, v, "beginning", "end")
	case "poll_interval":
		return option.Duration(&s.PollInterval, v, time.Millisecond)
	case "rotate_wait":
		return option.Duration(&s.RotateWait, v, time.Millisecond)
	case "batch_size":
		return option.Int(&s.BatchSize, v, 1, 1<<20)
	default:
		return option.UnknownKey("file")
	}
	return nil
}

// Validate checks a section once its keys are read.
func (s *Settings) Validate() error {
	if len(s.Paths) == 0 {
		return &option.KeyError{Key: "paths", Err: fmt.Errorf("paths is required (absolute globs, comma-separated)")}
	}
	return nil
}

func pathMatch(p string) (bool, error) {
	if _, err := filepath.Match(p, ""); err != nil {
		return false, fmt.Errorf("%q: bad glob: %w", p, err)
	}
	return true, nil
}
