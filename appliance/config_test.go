package appliance

import (
	"errors"
	"strings"
	"testing"
	"time"

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
	if cfg.Node.DataDir != "./data" || cfg.DataPath(cfg.FileOutput.Path) != "data/events.jsonl" {
		t.Errorf("default paths: data_dir %q output %q", cfg.Node.DataDir, cfg.DataPath(cfg.FileOutput.Path))
	}
	if cfg.WAL.Fsync != wal.FsyncAlways || cfg.WAL.WhenFull != wal.Block {
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
	if cfg.WAL.Fsync != wal.FsyncInterval || cfg.WAL.FsyncInterval != 250*time.Millisecond || cfg.WAL.MaxSize != 2<<30 || cfg.WAL.WhenFull != wal.DropOldest {
		t.Errorf("%+v", cfg.WAL)
	}
	if cfg.DataPath(cfg.FileOutput.Path) != "/var/log/all.jsonl" || cfg.FileOutput.MaxSize != 1<<20 {
		t.Errorf("%+v", cfg.FileOutput)
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
		{"relp data size too small", "[relp]\nmax_data_size = 100\n", 2, "[relp] max_data_size: 100 is out of range"},
		{"relp data size not a size", "[relp]\n\nmax_data_size = lots\n", 3, "[relp] max_data_size"},
		{"relp unknown key", "[relp]\nwindow = 128\n", 2, "[relp] window: unknown key"},
		{"wal cap below segments", "[wal]\nmax_size = 1m\nsegment_size = 1m\n", 0, "at least twice segment_size"},
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
