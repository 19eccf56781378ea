package appliance

import (
	_ "embed"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"logpacker/appliance/internal/inifile"
	"logpacker/appliance/match"
	"logpacker/appliance/option"
	"logpacker/appliance/source/httpin"
	"logpacker/appliance/source/relp"
	ssyslog "logpacker/appliance/source/syslog"
	"logpacker/discovery"
	"logpacker/protocol/wire"
	"logpacker/wal"
)

// DefaultConfig is the embedded server.ini that `logpacker run` uses when no
// file is given. It documents every key; README.md repeats it.
//
//go:embed server.ini.default
var DefaultConfig []byte

// Config is a parsed server.ini. Zero values never reach the node: Load
// starts from the defaults and overrides what the file sets.
type Config struct {
	File string // where it came from ("<embedded>" for the defaults)

	Node struct {
		ID       string // empty: generated once and kept in data_dir/node_id
		DataDir  string
		LogLevel string
		// Notify is notify.ini (alerting), relative to the configuration
		// file's directory (the working directory with the embedded
		// defaults); empty: no alerting. See NotifyPath.
		Notify string
	}
	Listen struct {
		SyslogUDP, SyslogTCP, SyslogTLS, SyslogUnix, HTTP string // empty disables
		Relay                                             string // node links (QUIC); empty: not a parent
		RELP                                              string // RELP (rsyslog omrelp); empty disables
	}
	RELP relp.Settings // [relp], package appliance/source/relp
	// Ingest is [ingest]: the HTTP ingest routes of [listen] http (JSON,
	// browsers, Sentry envelopes, journald uploads), package
	// appliance/source/httpin.
	Ingest httpin.Settings
	API    struct {
		Token string // bearer token for /api/… and /debug/…; required off loopback
	}
	Relay struct {
		// Upstream: parents, host:port each, tried in order, or one
		// "srv:NAME" (DNS SRV, see package discovery); empty: a root.
		Upstream      []string
		Resolver      string        // DNS server (host:port) for srv:; empty: the system's
		Overload      float64       // balancing: a parent with less spare capacity is left (relay.Balance)
		MaxLinkAge    time.Duration // balancing: pick the parent again after this long on one link
		CA, Cert, Key string        // cluster CA certificate, this node's certificate and key
		Compress      bool
		BatchSize     int
		Window        int           // batches in flight per link, awaiting their ACKs
		Match         match.Matcher // which events go upstream (match keys); none set: all
	}
	// Cluster: the roots' gossip membership (package discovery/cluster). Off
	// unless Bind is set.
	Cluster struct {
		Bind          string        // gossip address (TCP and UDP), host:port
		Advertise     string        // gossip address others reach this node at; empty: Bind
		RelayAddr     string        // relay address published to members' children; empty: [listen] relay
		Nodes         []string      // gossip addresses to join; reloaded without a restart
		LoadInterval  time.Duration // how often this node's load is measured and published
		LoadFile      string        // test hook: read the published load from this JSON file
		ProbeInterval time.Duration // failure detection: memberlist's probe interval (0: its default)
	}
	Syslog ssyslog.Settings    // [syslog], package appliance/source/syslog
	TLS    ssyslog.TLSSettings // [tls] (the syslog_tls listener), package appliance/source/syslog
	WAL    struct {
		Fsync         wal.Fsync
		FsyncInterval time.Duration
		MaxSize       int64
		SegmentSize   int64
		WhenFull      wal.WhenFull
		MinFree       int64 // bytes appends leave free on the WAL's filesystem; wal.MinFreeAuto: 1 % within [4 MiB, 64 MiB]
	}
	// Outputs are the [output.NAME] sections, in the order they first
	// appear ([output.file], from the defaults, first).
	Outputs []*OutputConfig
	// Sources are the [source.NAME] sections (inputs that are not
	// listeners: type = file), in file order.
	Sources []*SourceConfig

	// values are the keys as read, section → key → value (trimmed): the
	// embedded defaults, then the file's. A reload compares them
	// (diffConfig); the node's running Config takes the values it applied.
	values map[string]map[string]string
}

// ConfigError names the file, line and key of a bad setting.
type ConfigError = inifile.Error

// setter parses one value into cfg.
type setter func(cfg *Config, v string) error

// keySetter is a component's settings: Set parses one key of its section
// (an unknown key is an error).
type keySetter interface{ Set(key, value string) error }

// componentSections are the sections a component package owns: its
// Settings parse the keys. The node's own sections are in schema.
var componentSections = map[string]func(c *Config) keySetter{
	"syslog": func(c *Config) keySetter { return &c.Syslog },
	"tls":    func(c *Config) keySetter { return &c.TLS },
	"relp":   func(c *Config) keySetter { return &c.RELP },
	"ingest": func(c *Config) keySetter { return &c.Ingest },
}

// schema lists every section and key logpacker understands. Anything else is an error.
var schema = map[string]map[string]setter{
	"node": {
		"id":       func(c *Config, v string) error { return setNodeID(&c.Node.ID, v) },
		"data_dir": func(c *Config, v string) error { return option.NonEmpty(&c.Node.DataDir, v) },
		"notify":   func(c *Config, v string) error { c.Node.Notify = v; return nil },
		"log_level": func(c *Config, v string) error {
			return option.OneOf(&c.Node.LogLevel, v, "debug", "info", "warn", "error")
		},
	},
	"listen": {
		"syslog_udp": func(c *Config, v string) error { return option.Addr(&c.Listen.SyslogUDP, v) },
		"syslog_tcp": func(c *Config, v string) error { return option.Addr(&c.Listen.SyslogTCP, v) },
		"syslog_tls": func(c *Config, v string) error { return option.Addr(&c.Listen.SyslogTLS, v) },
		"http":       func(c *Config, v string) error { return option.Addr(&c.Listen.HTTP, v) },
		"relay":      func(c *Config, v string) error { return option.Addr(&c.Listen.Relay, v) },
		"relp":       func(c *Config, v string) error { return option.Addr(&c.Listen.RELP, v) },
		"syslog_unix": func(c *Config, v string) error {
			c.Listen.SyslogUnix = v
			return nil
		},
	},
	"relay": {
		"upstream": func(c *Config, v string) error {
			c.Relay.Upstream = nil
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					c.Relay.Upstream = append(c.Relay.Upstream, a)
				}
			}
			if len(c.Relay.Upstream) == 0 {
				return nil
			}
			_, err := discovery.New(strings.Join(c.Relay.Upstream, ","), discovery.Options{})
			return err
		},
		"resolver":     func(c *Config, v string) error { return option.Addr(&c.Relay.Resolver, v) },
		"overload":     func(c *Config, v string) error { return option.Float(&c.Relay.Overload, v, 0, 1) },
		"max_link_age": func(c *Config, v string) error { return option.Duration(&c.Relay.MaxLinkAge, v, 0) },
		"ca":           func(c *Config, v string) error { c.Relay.CA = v; return nil },
		"cert":         func(c *Config, v string) error { c.Relay.Cert = v; return nil },
		"key":          func(c *Config, v string) error { c.Relay.Key = v; return nil },
		"compress":     func(c *Config, v string) error { return option.Bool(&c.Relay.Compress, v) },
		"batch_size":   func(c *Config, v string) error { return option.Int(&c.Relay.BatchSize, v, 1, wire.MaxBatchEvents) },
		"window":       func(c *Config, v string) error { return option.Int(&c.Relay.Window, v, 1, 64) },
	},
	"cluster": {
		"bind":       func(c *Config, v string) error { return option.Addr(&c.Cluster.Bind, v) },
		"advertise":  func(c *Config, v string) error { return option.Addr(&c.Cluster.Advertise, v) },
		"relay_addr": func(c *Config, v string) error { return option.Addr(&c.Cluster.RelayAddr, v) },
		"nodes": func(c *Config, v string) error {
			c.Cluster.Nodes = nil
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a == "" {
					continue
				}
				if _, _, err := net.SplitHostPort(a); err != nil {
					return fmt.Errorf("%q is not host:port: %v", a, err)
				}
				c.Cluster.Nodes = append(c.Cluster.Nodes, a)
			}
			return nil
		},
		"load_interval": func(c *Config, v string) error {
			return option.Duration(&c.Cluster.LoadInterval, v, 100*time.Millisecond)
		},
		"load_file": func(c *Config, v string) error { c.Cluster.LoadFile = v; return nil },
		"probe_interval": func(c *Config, v string) error {
			if v == "" {
				c.Cluster.ProbeInterval = 0
				return nil
			}
			return option.Duration(&c.Cluster.ProbeInterval, v, 50*time.Millisecond)
		},
	},
	"api": {
		"token": func(c *Config, v string) error { c.API.Token = v; return nil },
	},
	"wal": {
		"fsync": func(c *Config, v string) error {
			f, err := wal.ParseFsync(v)
			c.WAL.Fsync = f
			return err
		},
		"fsync_interval": func(c *Config, v string) error { return option.Duration(&c.WAL.FsyncInterval, v, time.Millisecond) },
		"max_size":       func(c *Config, v string) error { return option.Size(&c.WAL.MaxSize, v, 0, 1<<50) },
		"segment_size":   func(c *Config, v string) error { return option.Size(&c.WAL.SegmentSize, v, 64<<10, 1<<30) },
		"when_full": func(c *Config, v string) error {
			w, err := wal.ParseWhenFull(v)
			c.WAL.WhenFull = w
			return err
		},
		"min_free": func(c *Config, v string) error {
			if v == "auto" {
				c.WAL.MinFree = wal.MinFreeAuto
				return nil
			}
			return option.Size(&c.WAL.MinFree, v, 0, 1<<50)
		},
	},
	// [output.NAME] sections are read by applyOutput, with outputKeys.
}

func init() {
	// [relay] selects what goes upstream with the match keys.
	for _, k := range match.Keys {
		schema["relay"][k] = func(c *Config, v string) error { return setMatch(&c.Relay.Match, k, v) }
	}
}

func setMatch(m *match.Matcher, key, v string) error {
	if err := m.Set(key, v); err != nil {
		var ke *match.KeyError
		if errors.As(err, &ke) {
			return ke.Err // ConfigError names the key
		}
		return err
	}
	return nil
}

// LoadConfig reads path, or the embedded defaults when path is "".
func LoadConfig(path string) (*Config, error) {
	if path == "" {
		return ParseConfig("<embedded>", DefaultConfig)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Err: err}
	}
	return ParseConfig(path, data)
}

// ParseConfig parses server.ini content. name is used in error messages.
// It applies the embedded defaults first, so a file only needs the keys it changes.
func ParseConfig(name string, data []byte) (*Config, error) {
	cfg := &Config{}
	if err := applyINI(cfg, "<embedded>", DefaultConfig); err != nil {
		return nil, fmt.Errorf("embedded defaults are broken: %w", err)
	}
	if name != "<embedded>" {
		if err := applyINI(cfg, name, data); err != nil {
			return nil, err
		}
	}
	cfg.File = name
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func applyINI(cfg *Config, name string, data []byte) error {
	f, lines, err := inifile.Load(name, data)
	if err != nil {
		return err
	}
	if cfg.values == nil {
		cfg.values = map[string]map[string]string{}
	}
	for _, sec := range f.Sections() {
		sname := sec.Name()
		for _, k := range sec.Keys() {
			if cfg.values[sname] == nil {
				cfg.values[sname] = map[string]string{}
			}
			cfg.values[sname][k.Name()] = strings.TrimSpace(k.Value())
		}
		if strings.HasPrefix(sname, "output.") {
			if err := applyOutput(cfg, name, lines, sec); err != nil {
				return err
			}
			continue
		}
		if strings.HasPrefix(sname, "source.") {
			if err := applySource(cfg, name, lines, sec); err != nil {
				return err
			}
			continue
		}
		if comp, ok := componentSections[sname]; ok {
			set := comp(cfg)
			for _, k := range sec.Keys() {
				if err := set.Set(k.Name(), strings.TrimSpace(k.Value())); err != nil {
					return &ConfigError{File: name, Line: lines.Line(sname, k.Name()), Section: sname, Key: k.Name(), Err: err}
				}
			}
			continue
		}
		keys, known := schema[sname]
		if sname == ini.DefaultSection {
			for _, k := range sec.Keys() {
				return &ConfigError{File: name, Line: lines.Line("", k.Name()), Key: k.Name(), Section: "",
					Err: fmt.Errorf("key outside any section")}
			}
			continue
		}
		if !known {
			return &ConfigError{File: name, Line: lines.Sections[sname], Section: sname,
				Err: fmt.Errorf("unknown section (known: %s, output.NAME, source.NAME)", knownSections())}
		}
		for _, k := range sec.Keys() {
			set, ok := keys[k.Name()]
			ln := lines.Line(sname, k.Name())
			if !ok {
				return &ConfigError{File: name, Line: ln, Section: sname, Key: k.Name(), Err: fmt.Errorf("unknown key")}
			}
			if err := set(cfg, strings.TrimSpace(k.Value())); err != nil {
				return &ConfigError{File: name, Line: ln, Section: sname, Key: k.Name(), Err: err}
			}
		}
	}
	return nil
}

func knownSections() string {
	names := make([]string, 0, len(schema)+len(componentSections))
	for n := range schema {
		names = append(names, n)
	}
	for n := range componentSections {
		names = append(names, n)
	}
	sortStrings(names)
	return strings.Join(names, ", ")
}

func (c *Config) validate() error {
	bad := func(section, key string, err error) error {
		return &ConfigError{File: c.File, Section: section, Key: key, Err: err}
	}
	if c.Listen.SyslogTLS != "" && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		return bad("tls", "cert_file", fmt.Errorf("[listen] syslog_tls is set but cert_file and key_file are not"))
	}
	if c.TLS.ClientAuth != "none" && c.TLS.ClientCAFile == "" && c.Listen.SyslogTLS != "" {
		return bad("tls", "client_ca_file", fmt.Errorf("client_auth = %s needs client_ca_file", c.TLS.ClientAuth))
	}
	if (c.Listen.Relay != "" || len(c.Relay.Upstream) > 0) && (c.Relay.CA == "" || c.Relay.Cert == "" || c.Relay.Key == "") {
		return bad("relay", "ca", fmt.Errorf("node links are mutual TLS: [relay] ca, cert and key are needed with [listen] relay or [relay] upstream (logpacker cert ca / cert node make them)"))
	}
	if c.Cluster.Bind == "" && (len(c.Cluster.Nodes) > 0 || c.Cluster.Advertise != "") {
		return bad("cluster", "bind", fmt.Errorf("[cluster] nodes or advertise is set but bind is not: the gossip address is needed to join"))
	}
	if c.Cluster.Bind != "" && c.Cluster.RelayAddr == "" && c.Listen.Relay == "" {
		return bad("cluster", "relay_addr", fmt.Errorf("a cluster member publishes its relay address: set [listen] relay (or [cluster] relay_addr)"))
	}
	if c.Listen.HTTP != "" && c.API.Token == "" && !loopbackAddr(c.Listen.HTTP) {
		return bad("api", "token", fmt.Errorf("[listen] http = %s is not on loopback: the search API needs a bearer token", c.Listen.HTTP))
	}
	if c.WAL.MaxSize != 0 && c.WAL.MaxSize < 2*c.WAL.SegmentSize {
		return bad("wal", "max_size", fmt.Errorf("must be 0 (unlimited) or at least twice segment_size (%d)", c.WAL.SegmentSize))
	}
	return c.validateOutputs()
}

// listenAddr is the field of the [listen] key name, or nil.
func (c *Config) listenAddr(name string) *string {
	switch name {
	case "syslog_udp":
		return &c.Listen.SyslogUDP
	case "syslog_tcp":
		return &c.Listen.SyslogTCP
	case "syslog_tls":
		return &c.Listen.SyslogTLS
	case "syslog_unix":
		return &c.Listen.SyslogUnix
	case "http":
		return &c.Listen.HTTP
	case "relay":
		return &c.Listen.Relay
	case "relp":
		return &c.Listen.RELP
	}
	return nil
}

// NotifyPath is notify.ini's path: [node] notify, relative to the
// configuration file's directory (with the embedded defaults, to the
// working directory); "" when alerting is off.
func (c *Config) NotifyPath() string {
	p := c.Node.Notify
	if p == "" || filepath.IsAbs(p) || c.File == "<embedded>" {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

// DataPath resolves p against data_dir when it is relative.
func (c *Config) DataPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Node.DataDir, p)
}

func setNodeID(dst *string, v string) error {
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("%q: only letters, digits, '-', '_' and '.' are allowed", v)
		}
	}
	if len(v) > 64 {
		return fmt.Errorf("%q: at most 64 characters", v)
	}
	*dst = v
	return nil
}

// loopbackAddr reports whether host:port is on loopback (an empty host
// listens everywhere: not loopback).
func loopbackAddr(a string) bool {
	host, _, err := net.SplitHostPort(a)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseSize reads a byte size: a number with an optional unit k, m, g, t
// (powers of 1024), e.g. 64k, 512MiB, 1g.
func ParseSize(v string) (int64, error) { return option.ParseSize(v) }
