package appliance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"logpacker/appliance/sink/elastic"
	"logpacker/appliance/sink/file"
	"logpacker/appliance/sink/mysql"
	"logpacker/appliance/store"
	"logpacker/wal"
)

func TestDefaultsNeedNoFile(t *testing.T) {
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.SyslogUDP != "127.0.0.1:5514" || cfg.Listen.SyslogTCP != "127.0.0.1:5514" || cfg.Listen.HTTP != "127.0.0.1:8080" {
		t.Errorf("default listeners: %+v", cfg.Listen)
	}
	if cfg.Node.DataDir != "./data" || cfg.DataPath(fileOpts(cfg.Output("file")).Path) != "data/events.jsonl" {
		t.Errorf("default paths: data_dir %q output %q", cfg.Node.DataDir, cfg.DataPath(fileOpts(cfg.Output("file")).Path))
	}
	if cfg.WAL.Fsync != wal.FsyncAlways || cfg.WAL.WhenFull != wal.Block || cfg.WAL.MinFree != wal.MinFreeAuto {
		t.Errorf("default wal: %+v", cfg.WAL)
	}
	if cfg.Syslog.MaxMessageSize != 64<<10 || cfg.Listen.SyslogTLS != "" || cfg.Listen.SyslogUnix != "" {
		t.Errorf("defaults: %+v %+v", cfg.Syslog, cfg.Listen)
	}
	if cfg.Relay.Window != 4 {
		t.Errorf("relay window default %d, want 4", cfg.Relay.Window)
	}
	// RELP is opt-in (as imrelp is in rsyslog); frames up to librelp's default 128 KiB
	if cfg.Listen.RELP != "" || cfg.RELP.MaxDataSize != 128<<10 {
		t.Errorf("RELP defaults: listen %q max_data_size %d", cfg.Listen.RELP, cfg.RELP.MaxDataSize)
	}
}

func TestConfigOverrides(t *testing.T) {
	cfg, err := ParseConfig("server.ini", []byte(`
; comment
[node]
id = edge-1
data_dir = /var/lib/logpacker
[listen]
syslog_udp =
syslog_tcp = 0.0.0.0:514
relp = 127.0.0.1:2514
[relp]
max_data_size = 1m
[syslog]
max_message_size = 8k
timezone = Europe/Berlin
[wal]
fsync = interval
fsync_interval = 250ms
max_size = 2g
when_full = drop_oldest
min_free = 16m
[output.file]
path = /var/log/all.jsonl
max_size = 1MiB
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Node.ID != "edge-1" || cfg.Listen.SyslogUDP != "" || cfg.Listen.SyslogTCP != "0.0.0.0:514" {
		t.Errorf("%+v %+v", cfg.Node, cfg.Listen)
	}
	if cfg.Listen.RELP != "127.0.0.1:2514" || cfg.RELP.MaxDataSize != 1<<20 {
		t.Errorf("relp: %q %d", cfg.Listen.RELP, cfg.RELP.MaxDataSize)
	}
	if cfg.Syslog.MaxMessageSize != 8192 || cfg.Syslog.Timezone.String() != "Europe/Berlin" {
		t.Errorf("%+v", cfg.Syslog)
	}
	if cfg.WAL.Fsync != wal.FsyncInterval || cfg.WAL.FsyncInterval != 250*time.Millisecond || cfg.WAL.MaxSize != 2<<30 || cfg.WAL.WhenFull != wal.DropOldest || cfg.WAL.MinFree != 16<<20 {
		t.Errorf("%+v", cfg.WAL)
	}
	if cfg.DataPath(fileOpts(cfg.Output("file")).Path) != "/var/log/all.jsonl" || fileOpts(cfg.Output("file")).MaxSize != 1<<20 {
		t.Errorf("%+v", fileOpts(cfg.Output("file")))
	}
}

func TestConfigErrorsNameFileLineKey(t *testing.T) {
	cases := []struct {
		name, ini string
		line      int
		want      string // substring of the error
	}{
		{"unknown key", "[node]\nid = a\nbogus = 1\n", 3, "[node] bogus: unknown key"},
		{"unknown section", "[nodes]\nid = a\n", 1, "[nodes]: unknown section"},
		{"bad fsync", "[wal]\n\nfsync = sometimes\n", 3, "[wal] fsync"},
		{"bad when_full", "[wal]\nwhen_full = explode\n", 2, "[wal] when_full"},
		{"bad size", "[wal]\nmax_size = 12 parsecs\n", 2, "[wal] max_size"},
		{"bad min_free", "[wal]\nmin_free = plenty\n", 2, "[wal] min_free"},
		{"negative int", "[syslog]\nudp_readers = -1\n", 2, "[syslog] udp_readers"},
		{"bad address", "[listen]\nsyslog_tcp = nowhere\n", 2, "[listen] syslog_tcp"},
		{"hostname address", "[listen]\nsyslog_tcp = example.com:514\n", 2, "must be an IP address"},
		{"bad port", "[listen]\nsyslog_udp = 127.0.0.1:99999\n", 2, "bad port"},
		{"bad zone", "[syslog]\ntimezone = Mars/Olympus\n", 2, "unknown time zone"},
		{"bad duration", "[wal]\nfsync_interval = soon\n", 2, "not a duration"},
		{"too small message size", "[syslog]\nmax_message_size = 10\n", 2, "out of range"},
		{"key outside section", "id = x\n[node]\n", 1, "outside any section"},
		{"duplicate key", "[node]\nid = a\nid = b\n", 3, "repeated (first at line 2)"},
		{"duplicate section", "[node]\n[listen]\n[node]\n", 3, "section repeated"},
		{"no equals", "[node]\njust words\n", 2, "expected key = value"},
		{"unterminated header", "[node\n", 1, "unterminated section header"},
		{"bad node id", "[node]\nid = a b\n", 2, "only letters"},
		{"bad log level", "[node]\nlog_level = chatty\n", 2, "not one of"},
		{"empty data dir", "[node]\ndata_dir =\n", 2, "must not be empty"},
		{"tls without cert", "[listen]\nsyslog_tls = 127.0.0.1:6514\n", 0, "cert_file"},
		{"client auth without ca", "[listen]\nsyslog_tls = 127.0.0.1:6514\n[tls]\ncert_file=a\nkey_file=b\nclient_auth = require\n", 0, "client_ca_file"},
		{"bad relp address", "[listen]\nrelp = 2514\n", 2, "[listen] relp"},
		{"relay window too big", "[relay]\nwindow = 65\n", 2, "[relay] window: 65 is out of range"},
		{"srv upstream without a name", "[relay]\nupstream = srv:\n", 2, "[relay] upstream: discovery:"},
		{"srv upstream mixed with a list", "[relay]\nupstream = srv:_lp._udp.example.org, 127.0.0.1:5515\n", 2, "[relay] upstream"},
		{"upstream without a port", "[relay]\nupstream = 127.0.0.1\n", 2, "[relay] upstream"},
		{"bad resolver", "[relay]\nresolver = dns.example.org\n", 2, "[relay] resolver"},
		{"overload above 1", "[relay]\noverload = 1.5\n", 2, "[relay] overload: 1.5 is out of range"},
		{"overload not a number", "[relay]\noverload = high\n", 2, "[relay] overload: \"high\" is not a number"},
		{"bad max link age", "[relay]\nmax_link_age = forever\n", 2, "[relay] max_link_age"},
		{"cluster nodes without bind", "[cluster]\nnodes = 127.0.0.1:7946\n", 0, "[cluster] bind"},
		{"cluster node without port", "[cluster]\nnodes = 127.0.0.1\n", 2, "[cluster] nodes"},
		{"cluster bind not host:port", "[cluster]\nbind = 7946\n", 2, "[cluster] bind"},
		{"cluster without a relay address", "[cluster]\nbind = 127.0.0.1:7946\n", 0, "[cluster] relay_addr"},
		{"probe interval too short", "[cluster]\nprobe_interval = 1ms\n", 2, "[cluster] probe_interval"},
		{"cluster unknown key", "[cluster]\nseeds = a\n", 2, "[cluster] seeds: unknown key"},
		{"http off loopback without a token", "[listen]\nhttp = 0.0.0.0:8080\n", 0, "[api] token"},
		{"relp data size too small", "[relp]\nmax_data_size = 100\n", 2, "[relp] max_data_size: 100 is out of range"},
		{"relp data size not a size", "[relp]\n\nmax_data_size = lots\n", 3, "[relp] max_data_size"},
		{"relp unknown key", "[relp]\nwindow = 128\n", 2, "[relp] window: unknown key"},
		{"wal cap below segments", "[wal]\nmax_size = 1m\nsegment_size = 1m\n", 0, "at least twice segment_size"},
		// [output.NAME] sections and match keys
		{"output without type", "[node]\nid = a\n[output.alerts]\npath = a.jsonl\n", 3, "[output.alerts]: type is required (file, mysql, elasticsearch, victorialogs, store)"},
		{"unknown output type", "[output.es]\ntype = elastic\n", 2, "[output.es] type: unknown output type \"elastic\""},
		{"output.file of another type", "[output.file]\ntype = mysql\n", 2, "[output.file] type: [output.file] is always type = file"},
		{"file output without path", "[output.alerts]\ntype = file\nseverity = err\n", 1, "[output.alerts]: path is required"},
		{"mysql output without dsn", "[output.db]\ntype = mysql\ntable = logs\n", 1, "[output.db]: dsn is required"},
		{"key of another type", "[output.alerts]\ntype = file\npath = a\ndsn = x\n", 4, "[output.alerts] dsn: unknown key for type = file outputs (it is a key of type = mysql)"},
		{"mysql key in output.file", "[output.file]\ntable = t\n", 2, "[output.file] table: unknown key for type = file outputs (it is a key of type = mysql)"},
		{"unknown output key", "[output.file]\nrotate = daily\n", 2, "[output.file] rotate: unknown key for type = file outputs"},
		{"bad output name", "[output.my alerts]\ntype = file\n", 1, "only letters, digits"},
		{"empty output name", "[output.]\ntype = file\n", 1, "1-64 characters"},
		{"output named relay", "[output.relay]\ntype = file\npath = r\n", 1, "taken by the relay output"},
		{"bad severity", "[output.alerts]\ntype = file\npath = a\n\nseverity = warnin\n", 5, `[output.alerts] severity: unknown severity "warnin"`},
		{"bad severity in output.file", "[output.file]\nseverity = 9\n", 2, "[output.file] severity: severity 9 is out of range 0-7"},
		{"bad facility", "[output.a]\ntype = file\nfacility = locl0\npath = a\n", 3, `[output.a] facility: unknown facility "locl0"`},
		{"bad regexp", "[output.a]\ntype = file\npath = a\nmessage_regexp = (oops\n", 4, "[output.a] message_regexp: bad regular expression"},
		{"match key misspelt", "[output.a]\ntype = file\npath = a\ntag = x\n", 4, "[output.a] tag: unknown key"},
		{"bad relay severity", "[relay]\nseverity = loud\n", 2, `[relay] severity: unknown severity "loud"`},
		{"elasticsearch output without urls", "[output.es]\ntype = elasticsearch\nindex = logs-%Y\n", 1, "[output.es]: urls is required"},
		{"elasticsearch url without scheme", "[output.es]\ntype = elasticsearch\nurls = http://a:9200, es2:9200\n", 3, `[output.es] urls: "es2:9200": want http://host:port`},
		{"elasticsearch bad index", "[output.es]\ntype = elasticsearch\nurls = http://a:9200\nindex = Logs-%Y\n", 4, "[output.es] index: index \"Logs-%Y\": an index name must be lowercase"},
		{"elasticsearch bad index verb", "[output.es]\ntype = elasticsearch\nurls = http://a:9200\nindex = logs-%j\n", 4, "unknown %j"},
		{"elasticsearch bad batch", "[output.es]\ntype = elasticsearch\nurls = http://a:9200\nbatch_size = -1\n", 4, "[output.es] batch_size: -1 is out of range"},
		{"elasticsearch two auths", "[output.es]\ntype = elasticsearch\nurls = http://a:9200\nusername = u\napi_key = k\n", 5, "[output.es] api_key: api_key and username/password are exclusive"},
		{"elasticsearch bad template", "[output.es]\ntype = elasticsearch\nurls = http://a:9200\ntemplate = always\n", 4, `[output.es] template: "always" is not one of create, overwrite, none`},
		{"elasticsearch bad template name", "[output.es]\ntype = elasticsearch\nurls = http://a:9200\ntemplate_name = Logs\n", 4, "[output.es] template_name: a template name must be lowercase"},
		{"elasticsearch template for every index", "[output.es]\ntype = elasticsearch\nurls = http://a:9200\nindex = %Y-logs\n", 4, `[output.es] index: index "%Y-logs" starts with %Y: its index template would match every index`},
		{"elasticsearch key in mysql", "[output.db]\ntype = mysql\ndsn = u@/db\nindex = x\n", 4, "[output.db] index: unknown key for type = mysql outputs (it is a key of type = elasticsearch)"},
		{"bad mysql batch", "[output.db]\ntype = mysql\ndsn = u@/db\nbatch_size = 0\n", 4, "[output.db] batch_size: 0 is out of range"},
		{"two outputs one file", "[output.file]\npath = /var/log/a.jsonl\n[output.b]\ntype = file\npath = /var/log/../log/a.jsonl\n", 5, "[output.b] path: /var/log/a.jsonl is also the path of [output.file]"},
		{"default path reused", "[node]\ndata_dir = /d\n[output.b]\ntype = file\npath = events.jsonl\n", 5, "is also the path of [output.file]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig("/etc/logpacker/server.ini", []byte(c.ini))
			if err == nil {
				t.Fatalf("no error for %q", c.ini)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			if ce.File != "/etc/logpacker/server.ini" || ce.Line != c.line {
				t.Errorf("file:line = %s:%d, want line %d (err: %v)", ce.File, ce.Line, c.line, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

// TestOutputSections: [output.NAME] sections with type = …, today's
// [output.file] unchanged, several file outputs, match keys in output
// sections and in [relay], mysql options stored for its sink.
func TestOutputSections(t *testing.T) {
	// A file that only had [output.file] (no type) keeps meaning what it did.
	cfg, err := ParseConfig("server.ini", []byte("[output.file]\npath = all.jsonl\nmax_files = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Outputs) != 2 || cfg.Outputs[1].Name != "store" {
		t.Fatalf("outputs: %+v", cfg.Outputs)
	}
	fo := cfg.Outputs[0]
	if f := fileOpts(fo); fo.Name != "file" || fo.Type != "file" || f.Path != "all.jsonl" || f.MaxFiles != 2 ||
		f.MaxSize != 256<<20 || fo.BatchSize != 2048 || f.KeepCache || !fo.Match.All() {
		t.Fatalf("[output.file]: %+v", fo)
	}

	cfg, err = ParseConfig("server.ini", []byte(`
[relay]
severity = notice
host = web-*, db-*
[output.file]
type = file
[output.alerts]
type = file
path = /var/log/alerts.jsonl
severity = warning
message_regexp = (?i)timeout|refused
max_files = 9
[output.auth]
type = file
path = auth.jsonl
facility = auth, authpriv
app = sshd, sudo
tags = prod
message = session opened
[output.db]
type = mysql
dsn = logpacker:secret@tcp(127.0.0.1:3306)/logs
table = events
batch_size = 500
severity = err, crit
[output.es]
type = elasticsearch
urls = https://es1:9200, https://es2:9200
username = logpacker
password = secret
index = logs-%Y.%m.%d
batch_size = 1000
host = web-*
template = overwrite
template_name = logs-template
[output.es2]
type = elasticsearch
urls = http://es:9200
index = %Y-logs
template = none
`))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range cfg.Outputs {
		names = append(names, o.Name+":"+o.Type)
	}
	if strings.Join(names, " ") != "file:file store:store alerts:file auth:file db:mysql es:elasticsearch es2:elasticsearch" {
		t.Fatalf("outputs in order: %v", names)
	}
	if got := fileOpts(cfg.Output("file")).Path; got != "events.jsonl" {
		t.Errorf("[output.file] path %q: the default should stay", got)
	}
	al := cfg.Output("alerts")
	// another file output starts from [output.file]'s defaults
	if f := fileOpts(al); f.Path != "/var/log/alerts.jsonl" || f.MaxFiles != 9 || f.MaxSize != 256<<20 ||
		al.BatchSize != 2048 || f.KeepCache {
		t.Errorf("[output.alerts]: %+v", f)
	}
	if s := al.Match.String(); s != `severity="warning" message_regexp="(?i)timeout|refused"` {
		t.Errorf("[output.alerts] match: %s", s)
	}
	if s := cfg.Output("auth").Match.String(); s != `facility="auth, authpriv" app="sshd, sudo" tags="prod" message="session opened"` {
		t.Errorf("[output.auth] match: %s", s)
	}
	db := cfg.Output("db")
	if m := db.Options.(*mysql.Options); *m != (mysql.Options{DSN: "logpacker:secret@tcp(127.0.0.1:3306)/logs", Table: "events"}) ||
		db.BatchSize != 500 || db.Match.String() != `severity="err, crit"` {
		t.Errorf("[output.db]: %+v %s", m, db.Match.String())
	}
	es := cfg.Output("es")
	if e := es.Options.(*elastic.Options); strings.Join(e.URLs, " ") != "https://es1:9200 https://es2:9200" || e.Username != "logpacker" ||
		e.Password != "secret" || e.APIKey != "" || e.Index != "logs-%Y.%m.%d" || es.BatchSize != 1000 || es.Match.String() != `host="web-*"` ||
		e.Template != "overwrite" || e.TemplateName != "logs-template" {
		t.Errorf("[output.es]: %+v %s", e, es.Match.String())
	}
	// template = none: no template, so an index may start with a directive;
	// the defaults are the sink's (create, logpacker-<name>)
	if e := cfg.Output("es2").Options.(*elastic.Options); e.Template != "none" || e.TemplateName != "" || e.Index != "%Y-logs" {
		t.Errorf("[output.es2]: %+v", e)
	}
	if s := cfg.Relay.Match.String(); s != `severity="notice" host="web-*, db-*"` {
		t.Errorf("[relay] match: %s", s)
	}
	if cfg.Output("nope") != nil {
		t.Error("Output of an unknown name")
	}

	// the defaults select everything, everywhere
	cfg, err = LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Relay.Match.All() || !cfg.Output("file").Match.All() || !cfg.Output("store").Match.All() {
		t.Errorf("default match keys select something: relay %s, file %s", cfg.Relay.Match.String(), cfg.Output("file").Match.String())
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{"0": 0, "512": 512, "64k": 64 << 10, "64K": 64 << 10, "8m": 8 << 20, "1g": 1 << 30,
		"2GiB": 2 << 30, "3 MB": 3 << 20, "1t": 1 << 40, "7b": 7}
	for in, want := range good {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "k", "-1", "1x", "1.5g", "99999999999999999999", "9999999999t"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q): no error", in)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(DefaultConfig))
	f.Add([]byte("[node]\nid = x\n[wal]\nfsync = never\n"))
	f.Add([]byte("[listen]\nsyslog_tcp = [::1]:0\n"))
	f.Add([]byte("\xff\xfe[\x00]"))
	f.Add([]byte("[output.a]\ntype = file\npath = a\nseverity = err, crit\nhost = web-*\n[relay]\nmessage_regexp = x+\n"))
	f.Add([]byte("[output.db]\ntype = mysql\ndsn = u@/d\n[output.file]\ntype = file\nfacility = 99\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.ini", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		if cfg.Node.DataDir == "" || cfg.Syslog.MaxMessageSize < 480 {
			t.Fatalf("accepted config with invalid values: %+v", cfg)
		}
	})
}

// TestStoreOutputConfig: [output.NAME] type = store, its defaults and keys.
func TestStoreOutputConfig(t *testing.T) {
	// the embedded [output.store]: on for a root, off for a relay
	def, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if s := def.Output("store"); s == nil || s.Type != "store" ||
		storeKeys(s) != (storeKV{"auto", "store", 14 * 24 * time.Hour}) || !s.On || s.BatchSize != 2048 {
		t.Errorf("embedded [output.store]: %+v", s)
	}
	relayCfg := "[relay]\nupstream = 127.0.0.1:5515\nca = ca.crt\ncert = n.crt\nkey = n.key\n"
	for _, tt := range []struct {
		ini  string
		want bool
	}{
		{relayCfg, false},
		{relayCfg + "[output.store]\nenabled = true\n", true},
		{"[output.store]\nenabled = false\n", false},
		{"[output.store]\ntype = store\nenabled = true\n", true},
	} {
		cfg, err := ParseConfig("server.ini", []byte(tt.ini))
		if err != nil {
			t.Fatalf("%q: %v", tt.ini, err)
		}
		if got := cfg.Output("store").On; got != tt.want {
			t.Errorf("%q: store on = %v, want %v", tt.ini, got, tt.want)
		}
	}

	cfg, err := ParseConfig("server.ini", []byte("[output.s]\ntype = store\ndir = s\n[output.s2]\ntype = store\ndir = /var/lib/lp\nretention = 1d12h\nbatch_size = 500\nseverity = warning\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Output("s"); storeKeys(s) != (storeKV{"true", "s", 14 * 24 * time.Hour}) || !s.On || s.BatchSize != 2048 {
		t.Errorf("[output.s] defaults: %+v", storeOpts(s))
	}
	s2 := cfg.Output("s2")
	if storeKeys(s2) != (storeKV{"true", "/var/lib/lp", 36 * time.Hour}) || !s2.On || s2.BatchSize != 500 || s2.Match.String() != `severity="warning"` {
		t.Errorf("[output.s2]: %+v %s", storeOpts(s2), s2.Match.String())
	}
	for _, tt := range []struct{ ini, err string }{
		{"[output.s]\ntype = store\n", "server.ini:1: [output.s]: dir is required"},
		{"[output.s]\ntype = store\ndir = ./store\n", "server.ini:3: [output.s] dir: data/store is also the dir of [output.store]"},
		{"[output.store]\ntype = file\n", "server.ini:2: [output.store] type: [output.store] is always type = store"},
		{"[output.store]\nenabled = maybe\n", "server.ini:2: [output.store] enabled:"},
		{"[output.store]\ndir =\n", "server.ini:2: [output.store] dir: must not be empty"},
	} {
		_, err := ParseConfig("server.ini", []byte(tt.ini))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: err = %v, want %q", tt.ini, err, tt.err)
		}
	}
	// a second store in the default dir is fine once the embedded one is off
	if _, err := ParseConfig("server.ini", []byte("[output.store]\nenabled = false\n[output.s]\ntype = store\ndir = store\n")); err != nil {
		t.Errorf("embedded store off, another in its dir: %v", err)
	}
	// the retention syntax itself: option.Retention's tests
	_, err = ParseConfig("server.ini", []byte("[output.s]\ntype = store\nretention = 2w\n"))
	if err == nil || !strings.Contains(err.Error(), "server.ini:3: [output.s] retention:") {
		t.Errorf("bad retention: %v", err)
	}
	_, err = ParseConfig("server.ini", []byte("[output.s]\ntype = store\npath = x\n"))
	if err == nil || !strings.Contains(err.Error(), "unknown key for type = store outputs (it is a key of type = file)") {
		t.Errorf("file key in a store output: %v", err)
	}
}

func TestFlushIntervalConfig(t *testing.T) {
	cfg, err := ParseConfig("server.ini", []byte("[output.db]\ntype = mysql\ndsn = u:p@tcp(127.0.0.1:3306)/l\n"+
		"[output.es]\ntype = elasticsearch\nurls = http://127.0.0.1:9200\nflush_interval = 250ms\n"+
		"[output.s]\ntype = store\ndir = s\nflush_interval = 2s\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]time.Duration{"db": time.Second, "es": 250 * time.Millisecond, "s": 2 * time.Second, "store": 0, "file": 0} {
		if got := cfg.Output(name).FlushInterval; got != want {
			t.Errorf("[output.%s] flush_interval = %s, want %s", name, got, want)
		}
	}
	for _, tt := range []struct{ ini, err string }{
		{"[output.store]\nflush_interval = 2m\n", "server.ini:2: [output.store] flush_interval: 2m0s: at most 1m"},
		{"[output.store]\nflush_interval = soon\n", "server.ini:2: [output.store] flush_interval:"},
		{"[output.store]\nflush_interval = -1s\n", "server.ini:2: [output.store] flush_interval:"},
		{"[output.file]\nflush_interval = 1s\n", "server.ini:2: [output.file] flush_interval: unknown key for type = file outputs"},
	} {
		_, err := ParseConfig("server.ini", []byte(tt.ini))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: err = %v, want %q", tt.ini, err, tt.err)
		}
	}
	// the node gives each output's consumer its interval
	dir := t.TempDir()
	cfg, err = ParseConfig("server.ini", []byte("[node]\nid = t\ndata_dir = "+dir+"\n[listen]\nsyslog_udp =\nsyslog_tcp =\nhttp =\n"+
		"[output.store]\nflush_interval = 3s\n[output.b]\ntype = store\ndir = b\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	got := map[string]time.Duration{}
	for _, c := range n.outputs {
		got[c.Name()] = c.Linger()
	}
	if got["output.store"] != 3*time.Second || got["output.b"] != 0 || got["output.file"] != 0 {
		t.Errorf("consumers' linger: %v", got)
	}
}

// TestDiscoveryConfig: [relay] upstream as srv:NAME, the balancing knobs,
// and [cluster], with their defaults.
func TestDiscoveryConfig(t *testing.T) {
	def, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if def.Relay.Overload != 0.1 || def.Relay.MaxLinkAge != 10*time.Minute || def.Cluster.Bind != "" || def.Cluster.LoadInterval != 2*time.Second {
		t.Fatalf("defaults: relay %+v cluster %+v", def.Relay, def.Cluster)
	}
	cfg, err := ParseConfig("t.ini", []byte("[relay]\nupstream = srv:_logpacker._udp.example.org\nresolver = 127.0.0.1:5353\n"+
		"overload = 0.25\nmax_link_age = 0\nca = a\ncert = b\nkey = c\n[listen]\nrelay = 127.0.0.1:7000\n"+
		"[cluster]\nbind = 127.0.0.1:7946\nnodes = 127.0.0.1:7947, [::1]:7948\nprobe_interval = 200ms\nload_file = load.json\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Relay.Upstream; len(got) != 1 || got[0] != "srv:_logpacker._udp.example.org" {
		t.Errorf("upstream %q", got)
	}
	if cfg.Relay.Resolver != "127.0.0.1:5353" || cfg.Relay.Overload != 0.25 || cfg.Relay.MaxLinkAge != 0 {
		t.Errorf("relay %+v", cfg.Relay)
	}
	c := cfg.Cluster
	if c.Bind != "127.0.0.1:7946" || len(c.Nodes) != 2 || c.Nodes[1] != "[::1]:7948" || c.ProbeInterval != 200*time.Millisecond || c.LoadFile != "load.json" {
		t.Errorf("cluster %+v", c)
	}
}

func fileOpts(o *OutputConfig) *file.Options   { return o.Options.(*file.Options) }
func storeOpts(o *OutputConfig) *store.Options { return o.Options.(*store.Options) }

// storeKV is a store output's keys: enabled, dir, retention.
type storeKV struct {
	enabled, dir string
	retention    time.Duration
}

func storeKeys(o *OutputConfig) storeKV {
	so := storeOpts(o)
	return storeKV{so.Enabled, so.Dir, so.Retention}
}
