package appliance

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"logpacker/appliance/match"
	"logpacker/appliance/sink/elastic"
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
	}
	Listen struct {
		SyslogUDP, SyslogTCP, SyslogTLS, SyslogUnix, HTTP string // empty disables
		Relay                                             string // node links (QUIC); empty: not a parent
		RELP                                              string // RELP (rsyslog omrelp); empty disables
	}
	RELP relp.Settings // [relp], package appliance/source/relp
	API  struct {
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
	}
	// Outputs are the [output.NAME] sections, in the order they first
	// appear ([output.file], from the defaults, first).
	Outputs []*OutputConfig

	fileDefaults  FileOutputConfig  // the embedded [output.file], for other file outputs
	storeDefaults StoreOutputConfig // the embedded [output.store], for other store outputs
}

// defaultOutputs are the outputs of the embedded defaults, by name, and
// their type: a file may change their keys, never their type.
var defaultOutputs = map[string]string{"file": "file", "store": "store"}

// OutputConfig is one [output.NAME] section.
type OutputConfig struct {
	Name  string        // NAME: the WAL cursor is output.NAME, metrics say output="NAME"
	Type  string        // file | mysql | elasticsearch ([output.file] is always file)
	Match match.Matcher // which events the output gets (match keys); none set: all
	// FlushInterval (store, mysql, elasticsearch): a batch that is not full
	// waits up to this long for more events; 0 sends what there is at once.
	FlushInterval time.Duration

	File    FileOutputConfig    // type = file
	MySQL   MySQLOutputConfig   // type = mysql
	Store   StoreOutputConfig   // type = store
	Elastic ElasticOutputConfig // type = elasticsearch

	line  int            // of the section header, in the file that defined it
	lines map[string]int // key → line, for errors found after parsing
}

// FileOutputConfig is the options of a type = file output.
type FileOutputConfig struct {
	Path      string // empty disables [output.file]; other file outputs need one
	MaxSize   int64  // rotate when the file would exceed this; 0 never rotates
	MaxFiles  int    // rotated files kept (path.1 … path.N)
	BatchSize int
	PageCache string // "drop" (default): written lines leave the page cache once fsynced; "keep"
}

// MySQLOutputConfig is the options of a type = mysql output (appliance/sink/mysql).
type MySQLOutputConfig struct {
	DSN       string // go-sql-driver/mysql data source name; required
	Table     string // empty: the sink's default
	BatchSize int    // 0: the node's default
}

// StoreOutputConfig is the options of a type = store output (appliance/store).
type StoreOutputConfig struct {
	// Enabled: "true", "false" or "auto" (the embedded [output.store]'s
	// default): on a root (no [relay] upstream), off on a relay, which
	// forwards and leaves storing to the roots. On says the result.
	Enabled   string
	On        bool
	Dir       string        // day files (YYYY-MM-DD.db); relative to data_dir
	Retention time.Duration // whole days older than this are deleted; 0 keeps everything
	BatchSize int           // 0: the node's default
}

// ElasticOutputConfig is the options of a type = elasticsearch output
// (appliance/sink/elastic).
type ElasticOutputConfig struct {
	URLs      []string // http(s)://host:port of the cluster's nodes; required
	Username  string   // basic auth, with Password
	Password  string
	APIKey    string // base64 "id:key"; instead of username/password
	Index     string // index name pattern; empty: the sink's default (logpacker-%Y.%m.%d)
	BatchSize int    // 0: the node's default
	// Template: create (the default, also when empty) | overwrite | none:
	// the index template the output installs before its first request.
	Template     string
	TemplateName string // empty: logpacker-<output name, lowercase>
}

// Output returns the [output.NAME] section called name, or nil.
func (c *Config) Output(name string) *OutputConfig {
	for _, o := range c.Outputs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// ConfigError names the file, line and key of a bad setting.
type ConfigError struct {
	File    string
	Line    int
	Section string
	Key     string
	Err     error
}

func (e *ConfigError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("config %s: [%s] %s: %v", where, e.Section, e.Key, e.Err)
	}
	if e.Section != "" {
		return fmt.Sprintf("config %s: [%s]: %v", where, e.Section, e.Err)
	}
	return fmt.Sprintf("config %s: %v", where, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

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
}

// schema lists every section and key logpacker understands. Anything else is an error.
var schema = map[string]map[string]setter{
	"node": {
		"id":       func(c *Config, v string) error { return setNodeID(&c.Node.ID, v) },
		"data_dir": func(c *Config, v string) error { return setNonEmpty(&c.Node.DataDir, v) },
		"log_level": func(c *Config, v string) error {
			return setOneOf(&c.Node.LogLevel, v, "debug", "info", "warn", "error")
		},
	},
	"listen": {
		"syslog_udp": func(c *Config, v string) error { return setAddr(&c.Listen.SyslogUDP, v) },
		"syslog_tcp": func(c *Config, v string) error { return setAddr(&c.Listen.SyslogTCP, v) },
		"syslog_tls": func(c *Config, v string) error { return setAddr(&c.Listen.SyslogTLS, v) },
		"http":       func(c *Config, v string) error { return setAddr(&c.Listen.HTTP, v) },
		"relay":      func(c *Config, v string) error { return setAddr(&c.Listen.Relay, v) },
		"relp":       func(c *Config, v string) error { return setAddr(&c.Listen.RELP, v) },
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
		"resolver":     func(c *Config, v string) error { return setAddr(&c.Relay.Resolver, v) },
		"overload":     func(c *Config, v string) error { return setFloat(&c.Relay.Overload, v, 0, 1) },
		"max_link_age": func(c *Config, v string) error { return setDuration(&c.Relay.MaxLinkAge, v, 0) },
		"ca":           func(c *Config, v string) error { c.Relay.CA = v; return nil },
		"cert":         func(c *Config, v string) error { c.Relay.Cert = v; return nil },
		"key":          func(c *Config, v string) error { c.Relay.Key = v; return nil },
		"compress": func(c *Config, v string) error {
			switch v {
			case "true", "yes", "on":
				c.Relay.Compress = true
			case "false", "no", "off":
				c.Relay.Compress = false
			default:
				return fmt.Errorf("want true or false, not %q", v)
			}
			return nil
		},
		"batch_size": func(c *Config, v string) error { return setInt(&c.Relay.BatchSize, v, 1, wire.MaxBatchEvents) },
		"window":     func(c *Config, v string) error { return setInt(&c.Relay.Window, v, 1, 64) },
	},
	"cluster": {
		"bind":       func(c *Config, v string) error { return setAddr(&c.Cluster.Bind, v) },
		"advertise":  func(c *Config, v string) error { return setAddr(&c.Cluster.Advertise, v) },
		"relay_addr": func(c *Config, v string) error { return setAddr(&c.Cluster.RelayAddr, v) },
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
		"load_interval": func(c *Config, v string) error { return setDuration(&c.Cluster.LoadInterval, v, 100*time.Millisecond) },
		"load_file":     func(c *Config, v string) error { c.Cluster.LoadFile = v; return nil },
		"probe_interval": func(c *Config, v string) error {
			if v == "" {
				c.Cluster.ProbeInterval = 0
				return nil
			}
			return setDuration(&c.Cluster.ProbeInterval, v, 50*time.Millisecond)
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
		"fsync_interval": func(c *Config, v string) error { return setDuration(&c.WAL.FsyncInterval, v, time.Millisecond) },
		"max_size":       func(c *Config, v string) error { return setSize(&c.WAL.MaxSize, v, 0, 1<<50) },
		"segment_size":   func(c *Config, v string) error { return setSize(&c.WAL.SegmentSize, v, 64<<10, 1<<30) },
		"when_full": func(c *Config, v string) error {
			w, err := wal.ParseWhenFull(v)
			c.WAL.WhenFull = w
			return err
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

// outputTypes are the keys of each output type, besides type and the match keys.
var outputTypes = map[string]map[string]func(o *OutputConfig, v string) error{
	"file": {
		"path":       func(o *OutputConfig, v string) error { o.File.Path = v; return nil },
		"max_size":   func(o *OutputConfig, v string) error { return setSize(&o.File.MaxSize, v, 0, 1<<50) },
		"max_files":  func(o *OutputConfig, v string) error { return setInt(&o.File.MaxFiles, v, 0, 10000) },
		"batch_size": func(o *OutputConfig, v string) error { return setInt(&o.File.BatchSize, v, 1, 1<<20) },
		"page_cache": func(o *OutputConfig, v string) error { return setOneOf(&o.File.PageCache, v, "drop", "keep") },
	},
	"mysql": {
		"dsn":            func(o *OutputConfig, v string) error { o.MySQL.DSN = v; return nil },
		"table":          func(o *OutputConfig, v string) error { o.MySQL.Table = v; return nil },
		"batch_size":     func(o *OutputConfig, v string) error { return setInt(&o.MySQL.BatchSize, v, 1, 1<<20) },
		"flush_interval": func(o *OutputConfig, v string) error { return setFlushInterval(&o.FlushInterval, v) },
	},
	"store": {
		"enabled":        func(o *OutputConfig, v string) error { return setOneOf(&o.Store.Enabled, v, "auto", "true", "false") },
		"dir":            func(o *OutputConfig, v string) error { return setNonEmpty(&o.Store.Dir, v) },
		"retention":      func(o *OutputConfig, v string) error { return setRetention(&o.Store.Retention, v) },
		"batch_size":     func(o *OutputConfig, v string) error { return setInt(&o.Store.BatchSize, v, 1, 1<<20) },
		"flush_interval": func(o *OutputConfig, v string) error { return setFlushInterval(&o.FlushInterval, v) },
	},
	"elasticsearch": {
		"urls":           func(o *OutputConfig, v string) error { return setURLs(&o.Elastic.URLs, v) },
		"username":       func(o *OutputConfig, v string) error { o.Elastic.Username = v; return nil },
		"password":       func(o *OutputConfig, v string) error { o.Elastic.Password = v; return nil },
		"api_key":        func(o *OutputConfig, v string) error { o.Elastic.APIKey = v; return nil },
		"index":          func(o *OutputConfig, v string) error { o.Elastic.Index = v; return elastic.CheckIndex(v) },
		"batch_size":     func(o *OutputConfig, v string) error { return setInt(&o.Elastic.BatchSize, v, 1, 1<<20) },
		"flush_interval": func(o *OutputConfig, v string) error { return setFlushInterval(&o.FlushInterval, v) },
		"template": func(o *OutputConfig, v string) error {
			return setOneOf(&o.Elastic.Template, v, elastic.TemplateCreate, elastic.TemplateOverwrite, elastic.TemplateNone)
		},
		"template_name": func(o *OutputConfig, v string) error {
			o.Elastic.TemplateName = v
			if v == "" {
				return nil // the default
			}
			return elastic.CheckTemplateName(v)
		},
	},
}

const outputTypeNames = "file, mysql, elasticsearch, store"

// setURLs parses a comma-separated list of http:// or https:// URLs.
func setURLs(dst *[]string, v string) error {
	*dst = nil
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return fmt.Errorf("%q: want http://host:port or https://host:port", u)
		}
		*dst = append(*dst, u)
	}
	return nil
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
	if fo := cfg.Output("file"); fo != nil {
		cfg.fileDefaults = fo.File
	}
	if so := cfg.Output("store"); so != nil {
		cfg.storeDefaults = so.Store
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
	lines, err := scanLines(name, data)
	if err != nil {
		return err
	}
	f, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true, KeyValueDelimiters: "="}, data)
	if err != nil {
		return &ConfigError{File: name, Err: err}
	}
	for _, sec := range f.Sections() {
		sname := sec.Name()
		if strings.HasPrefix(sname, "output.") {
			if err := applyOutput(cfg, name, lines, sec); err != nil {
				return err
			}
			continue
		}
		if comp, ok := componentSections[sname]; ok {
			set := comp(cfg)
			for _, k := range sec.Keys() {
				if err := set.Set(k.Name(), strings.TrimSpace(k.Value())); err != nil {
					return &ConfigError{File: name, Line: lines.line(sname, k.Name()), Section: sname, Key: k.Name(), Err: err}
				}
			}
			continue
		}
		keys, known := schema[sname]
		if sname == ini.DefaultSection {
			for _, k := range sec.Keys() {
				return &ConfigError{File: name, Line: lines.line("", k.Name()), Key: k.Name(), Section: "",
					Err: fmt.Errorf("key outside any section")}
			}
			continue
		}
		if !known {
			return &ConfigError{File: name, Line: lines.sections[sname], Section: sname,
				Err: fmt.Errorf("unknown section (known: %s, output.NAME)", knownSections())}
		}
		for _, k := range sec.Keys() {
			set, ok := keys[k.Name()]
			ln := lines.line(sname, k.Name())
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

// applyOutput reads one [output.NAME] section. A section seen before (the
// embedded [output.file]) is updated; a new one needs a type, except
// [output.file], which is always type = file. Type-specific keys of another
// type are errors.
func applyOutput(cfg *Config, file string, lines lineIndex, sec *ini.Section) error {
	sname := sec.Name()
	oname := strings.TrimPrefix(sname, "output.")
	secLine := lines.sections[sname]
	bad := func(key string, err error) error {
		ln := secLine
		if key != "" {
			ln = lines.line(sname, key)
		}
		return &ConfigError{File: file, Line: ln, Section: sname, Key: key, Err: err}
	}
	if err := checkOutputName(oname); err != nil {
		return bad("", err)
	}
	typ := ""
	if k, err := sec.GetKey("type"); err == nil {
		typ = strings.TrimSpace(k.Value())
		if _, ok := outputTypes[typ]; !ok {
			return bad("type", fmt.Errorf("unknown output type %q (known: %s)", typ, outputTypeNames))
		}
		if want, ok := defaultOutputs[oname]; ok && typ != want {
			return bad("type", fmt.Errorf("[output.%s] is always type = %s; give a %s output its own [output.NAME]", oname, want, typ))
		}
	}
	o := cfg.Output(oname)
	isNew := o == nil
	if isNew {
		if typ == "" {
			if typ = defaultOutputs[oname]; typ == "" {
				return bad("", fmt.Errorf("type is required (%s)", outputTypeNames))
			}
		}
		o = &OutputConfig{Name: oname, Type: typ}
		if typ == "store" {
			o.Store = cfg.storeDefaults
			o.Store.Enabled, o.Store.Dir = "true", ""
		}
		if typ == "file" {
			o.File = cfg.fileDefaults
			o.File.Path = ""
		}
		if typ == "mysql" || typ == "elasticsearch" {
			// a database wants fewer, fuller requests: wait up to 1 s to fill one
			o.FlushInterval = time.Second
		}
		cfg.Outputs = append(cfg.Outputs, o)
	}
	o.line, o.lines = secLine, map[string]int{}
	keys := outputTypes[o.Type]
	for _, k := range sec.Keys() {
		kn, v := k.Name(), strings.TrimSpace(k.Value())
		o.lines[kn] = lines.line(sname, kn)
		var err error
		if kn == "type" {
			continue
		} else if match.IsKey(kn) {
			err = setMatch(&o.Match, kn, v)
		} else if set, ok := keys[kn]; ok {
			err = set(o, v)
		} else {
			err = fmt.Errorf("unknown key for type = %s outputs", o.Type)
			for t, tk := range outputTypes {
				if _, ok := tk[kn]; ok && t != o.Type {
					err = fmt.Errorf("unknown key for type = %s outputs (it is a key of type = %s)", o.Type, t)
				}
			}
		}
		if err != nil {
			return bad(kn, err)
		}
	}
	if isNew {
		switch {
		case o.Type == "file" && oname != "file" && o.File.Path == "":
			return bad("", fmt.Errorf("path is required (to turn this output off, remove or comment out the section)"))
		case o.Type == "store" && file != "<embedded>" && o.Store.Dir == "":
			return bad("", fmt.Errorf("dir is required (the embedded [output.store] already uses %q)", cfg.storeDefaults.Dir))
		case o.Type == "mysql" && o.MySQL.DSN == "":
			return bad("", fmt.Errorf("dsn is required"))
		case o.Type == "elasticsearch" && len(o.Elastic.URLs) == 0:
			return bad("", fmt.Errorf("urls is required"))
		case o.Type == "elasticsearch" && o.Elastic.APIKey != "" && (o.Elastic.Username != "" || o.Elastic.Password != ""):
			return bad("api_key", fmt.Errorf("api_key and username/password are exclusive"))
		case o.Type == "elasticsearch":
			if err := elastic.CheckTemplate(o.Elastic.Index, o.Elastic.Template, o.Elastic.TemplateName); err != nil {
				return bad("index", err)
			}
		}
	}
	return nil
}

// checkOutputName: NAME becomes a WAL cursor, a file name and a metric label.
func checkOutputName(n string) error {
	if n == "" || len(n) > 64 {
		return fmt.Errorf("output name must be 1-64 characters: [output.NAME]")
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("output name %q: only letters, digits, '-' and '_' are allowed", n)
		}
	}
	if n == "relay" {
		return fmt.Errorf("output name %q is taken by the relay output (configure it in [relay])", n)
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

// lineIndex remembers where each section and key is, for error messages,
// and rejects duplicates (ini.v1 would silently keep the last).
type lineIndex struct {
	sections map[string]int
	keys     map[string]int // "section\x00key" → line
}

func (li lineIndex) line(section, key string) int { return li.keys[section+"\x00"+key] }

func scanLines(name string, data []byte) (lineIndex, error) {
	li := lineIndex{sections: map[string]int{}, keys: map[string]int{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	section, n := "", 0
	for sc.Scan() {
		n++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == ';' || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return li, &ConfigError{File: name, Line: n, Err: fmt.Errorf("unterminated section header %q", s)}
			}
			section = strings.TrimSpace(s[1:end])
			if prev, dup := li.sections[section]; dup {
				return li, &ConfigError{File: name, Line: n, Section: section, Err: fmt.Errorf("section repeated (first at line %d)", prev)}
			}
			li.sections[section] = n
			continue
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return li, &ConfigError{File: name, Line: n, Section: section, Err: fmt.Errorf("expected key = value, got %q", s)}
		}
		key := strings.TrimSpace(s[:eq])
		k := section + "\x00" + key
		if prev, dup := li.keys[k]; dup {
			return li, &ConfigError{File: name, Line: n, Section: section, Key: key, Err: fmt.Errorf("key repeated (first at line %d)", prev)}
		}
		li.keys[k] = n
	}
	return li, sc.Err()
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
	// Two file outputs writing one file would interleave batches and defeat
	// the file output's duplicate check after a crash.
	paths := map[string]string{}
	for _, o := range c.Outputs {
		if o.Type != "file" || o.File.Path == "" {
			continue
		}
		p := filepath.Clean(c.DataPath(o.File.Path))
		if other, dup := paths[p]; dup {
			return &ConfigError{File: c.File, Line: o.lines["path"], Section: "output." + o.Name, Key: "path",
				Err: fmt.Errorf("%s is also the path of [output.%s]", p, other)}
		}
		paths[p] = o.Name
	}
	// Two store outputs in one directory would share day files (and the
	// second would wait on the first's write lock).
	dirs := map[string]string{}
	for _, o := range c.Outputs {
		if o.Type != "store" {
			continue
		}
		so := &o.Store
		so.On = so.Enabled == "true" || so.Enabled == "auto" && len(c.Relay.Upstream) == 0
		if !so.On {
			continue
		}
		d := filepath.Clean(c.DataPath(so.Dir))
		if other, dup := dirs[d]; dup {
			return &ConfigError{File: c.File, Line: o.lines["dir"], Section: "output." + o.Name, Key: "dir",
				Err: fmt.Errorf("%s is also the dir of [output.%s] (turn that one off with enabled = false, or give another dir)", d, other)}
		}
		dirs[d] = o.Name
	}
	return nil
}

// DataPath resolves p against data_dir when it is relative.
func (c *Config) DataPath(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Node.DataDir, p)
}

func setNonEmpty(dst *string, v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	*dst = v
	return nil
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

func setOneOf(dst *string, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			*dst = v
			return nil
		}
	}
	return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
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

func setAddr(dst *string, v string) error {
	if v == "" {
		*dst = ""
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", v, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: bad port %q", v, port)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("%q: host must be an IP address or localhost", v)
	}
	*dst = v
	return nil
}

func setInt(dst *int, v string, lo, hi int) error {
	n, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	if n < lo || n > hi {
		return fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
	}
	*dst = n
	return nil
}

func setFloat(dst *float64, v string, lo, hi float64) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) {
		return fmt.Errorf("%q is not a number", v)
	}
	if f < lo || f > hi {
		return fmt.Errorf("%g is out of range [%g, %g]", f, lo, hi)
	}
	*dst = f
	return nil
}

func setDuration(dst *time.Duration, v string, lo time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("%q is not a duration (e.g. 100ms, 5s): %v", v, err)
	}
	if d < lo {
		return fmt.Errorf("%s is below the minimum %s", d, lo)
	}
	*dst = d
	return nil
}

// setFlushInterval: 0 to 1 minute (events wait in the WAL, durable, but
// not yet in the output).
func setFlushInterval(dst *time.Duration, v string) error {
	if err := setDuration(dst, v, 0); err != nil {
		return err
	}
	if *dst > time.Minute {
		return fmt.Errorf("%s: at most 1m", *dst)
	}
	return nil
}

// setRetention reads a retention: days (14d), a Go duration (36h), or both
// (1d12h); 0 keeps everything.
func setRetention(dst *time.Duration, v string) error {
	bad := fmt.Errorf("%q is not a retention (e.g. 14d, 36h, 1d12h; 0 keeps everything)", v)
	if v == "" {
		return bad
	}
	var days int64
	rest := v
	if i := strings.IndexByte(v, 'd'); i >= 0 {
		n, err := strconv.ParseInt(v[:i], 10, 32)
		if err != nil || n < 0 {
			return bad
		}
		days, rest = n, v[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil || d < 0 {
			return bad
		}
	}
	total := time.Duration(days)*24*time.Hour + d
	if total != 0 && total < time.Hour {
		return fmt.Errorf("%s is below the minimum 1h (0 keeps everything)", total)
	}
	*dst = total
	return nil
}

func setSizeInt(dst *int, v string, lo, hi int64) error {
	var n int64
	if err := setSize(&n, v, lo, hi); err != nil {
		return err
	}
	*dst = int(n)
	return nil
}

func setSize(dst *int64, v string, lo, hi int64) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	if n < lo || n > hi {
		return fmt.Errorf("%s is out of range [%d, %d] bytes", v, lo, hi)
	}
	*dst = n
	return nil
}

// ParseSize reads a byte size: a number with an optional unit k, m, g, t
// (powers of 1024; kb/kib/KiB and so on are accepted too), e.g. 64k, 512MiB, 1g.
func ParseSize(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("%q is not a size (e.g. 64k, 512m, 1g)", v)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %v", v, err)
	}
	unit := strings.TrimSpace(s[i:])
	mult := int64(1)
	switch strings.TrimSuffix(strings.TrimSuffix(unit, "ib"), "b") {
	case "":
		if unit != "" && unit != "b" {
			return 0, fmt.Errorf("%q: unknown unit %q", v, unit)
		}
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	case "t":
		mult = 1 << 40
	default:
		return 0, fmt.Errorf("%q: unknown unit %q (use k, m, g, t)", v, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", v)
	}
	return n * mult, nil
}
