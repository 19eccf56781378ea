package scan

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"logpacker/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fakeRoot is where each sample (testdata/apps/NAME.log) goes in the fake
// root, and the app and format the scan must give it.
var fakeRoot = []struct{ sample, path, app, format string }{
	{"mariadb", "var/log/mysql/error.log", "mariadb", "mysql"}, // Debian: MariaDB logs to mysql/error.log
	{"mysql", "var/log/mysqld.log", "mysql", "mysql"},
	{"postgresql", "var/log/postgresql/postgresql-15-main.log", "postgresql", "postgresql"},
	{"mongodb", "var/log/mongodb/mongod.log", "mongodb", "mongodb"},
	{"cassandra", "var/log/cassandra/system.log", "cassandra", "cassandra"},
	{"hbase", "var/log/hbase/hbase-hbase-master-web-1.log", "hbase", "log4j"},
	{"hadoop", "var/log/hadoop-hdfs/hadoop-hdfs-namenode-web-1.log", "hadoop", "log4j"},
	{"oracle", "u01/app/oracle/diag/rdbms/orcl/orcl/trace/alert_orcl.log", "oracle", "oracle"},
	{"voltdb", "opt/voltdb/voltdbroot/log/volt.log", "voltdb", "log4j"},
	{"rabbitmq", "var/log/rabbitmq/rabbit@web-1.log", "rabbitmq", "log4j"},
	{"redis", "var/log/redis/redis-server.log", "redis", "redis"},
	{"memcached", "var/log/memcached.log", "memcached", "raw"},
	{"solr", "var/solr/logs/solr.log", "solr", "log4j"},
	{"elasticsearch", "var/log/elasticsearch/elasticsearch.log", "elasticsearch", "elasticsearch"},
	{"sphinx", "var/log/manticore/searchd.log", "sphinx", "sphinx"},
	{"aerospike", "var/log/aerospike/aerospike.log", "aerospike", "aerospike"},
	{"docker", "var/lib/docker/containers/3f2a/3f2a-json.log", "docker", "docker"},
	{"gitlab", "var/log/gitlab/gitlab-rails/production_json.log", "gitlab", "json"},
	{"sendmail", "var/log/maillog", "sendmail", "syslog"}, // RHEL: maillog, told from postfix by content
	{"postfix", "var/log/mail.log", "postfix", "syslog"},
	{"exim", "var/log/exim4/mainlog", "exim", "exim"},
	{"haproxy", "var/log/haproxy.log", "haproxy", "syslog"},
	{"supervisor", "var/log/supervisor/supervisord.log", "supervisor", "log4j"},
	{"zabbix", "var/log/zabbix/zabbix_agentd.log", "zabbix", "zabbix"},
	{"jira", "var/atlassian/application-data/jira/log/atlassian-jira.log", "jira", "log4j"},
	{"jenkins", "var/log/jenkins/jenkins.log", "jenkins", "log4j"},
	{"teamcity", "opt/teamcity/logs/teamcity-server.log", "teamcity", "log4j"},
	{"pm2", "root/.pm2/pm2.log", "pm2", "raw"},
	{"nginx", "var/log/nginx/access.log", "nginx", "access"},
	{"nginx_error", "var/log/nginx/error.log", "nginx", "nginx_error"},
	{"apache", "var/log/apache2/access.log", "apache", "access"},
	{"apache_error", "var/log/apache2/error.log", "apache", "apache_error"},
	{"tomcat", "var/log/tomcat10/catalina.out", "tomcat", "log4j"},
	{"puppet", "var/log/puppetlabs/puppet/puppet.log", "puppet", "log4j"},
	{"chef", "var/log/chef/client.log", "chef", "log4j"},
	{"auth", "var/log/auth.log", "auth", "syslog"},
	{"dmesg", "var/log/dmesg", "dmesg", "dmesg"},
	{"syslog", "var/log/syslog", "syslog", "syslog"},
}

// content-only finds: the same samples where no path rule looks.
var byContent = []struct{ sample, path, app string }{
	{"redis", "var/log/custom/cache.log", "redis"},
	{"nginx_error", "srv/site/logs/nginx-err.txt", "nginx"},
	{"postgresql", "opt/pg/log/server.log", "postgresql"},
}

func buildFakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	put := func(rel string, b []byte) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fakeRoot {
		b, err := os.ReadFile(filepath.Join("testdata", "apps", f.sample+".log"))
		if err != nil {
			t.Fatal(err)
		}
		put(f.path, b)
		put(f.path+".1", b)    // rotated: left out
		put(f.path+".2.gz", b) // compressed: left out
	}
	for _, f := range byContent {
		b, _ := os.ReadFile(filepath.Join("testdata", "apps", f.sample+".log"))
		put(f.path, b)
	}
	put("var/log/wtmp", []byte{0, 1, 2, 0})         // binary
	put("var/log/unknown.log", []byte("hello\n"))   // nobody's
	put("var/log/nginx/other_access.log", []byte{}) // empty: found by path
	return root
}

// Every app of the table, on a fake root: found, with the right app and
// format, each hit saying why; rotated, binary and unknown files are not.
func TestScanFakeRoot(t *testing.T) {
	root := buildFakeRoot(t)
	var progress bytes.Buffer
	hits, err := Scan(Options{Root: root, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Hit{}
	for _, h := range hits {
		if _, dup := got[h.Path]; dup {
			t.Errorf("%s found twice", h.Path)
		}
		got[h.Path] = h
		if len(h.Why) == 0 {
			t.Errorf("%s: no reason", h.Path)
		}
	}
	apps := map[string]bool{}
	for _, f := range fakeRoot {
		h, ok := got["/"+f.path]
		if !ok {
			t.Errorf("%s (%s) not found", f.path, f.app)
			continue
		}
		apps[h.App] = true
		if h.App != f.app || h.Format != f.format {
			t.Errorf("%s: app %s format %s, want %s %s (why: %v)", f.path, h.App, h.Format, f.app, f.format, h.Why)
		}
	}
	for _, f := range byContent {
		h, ok := got["/"+f.path]
		if !ok || h.App != f.app || !strings.HasPrefix(h.Why[0], "content:") {
			t.Errorf("%s: %+v, want %s by content", f.path, h, f.app)
		}
	}
	for _, a := range Apps {
		if !apps[a.Name] {
			t.Errorf("app %s: no sample in the fake root found as it", a.Name)
		}
	}
	if h, ok := got["/var/log/nginx/other_access.log"]; !ok || !slices.Contains(h.Why, "empty") {
		t.Errorf("empty access log: %+v", h)
	}
	for p := range got {
		if strings.HasSuffix(p, ".1") || strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, "wtmp") || strings.HasSuffix(p, "unknown.log") {
			t.Errorf("%s should not be a hit", p)
		}
	}
	if !strings.Contains(progress.String(), "logs found") {
		t.Errorf("no progress line: %q", progress.String())
	}
	cfg := Config(hits)
	for _, want := range []string{"[source.nginx_access]\ntype = file\npaths = /var/log/nginx/access.log, /var/log/nginx/other_access.log\napp = nginx\nformat = access\n",
		"[source.redis]\ntype = file\n", "multiline_start = "} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
}

// This machine's /var/log: the scan ends (no timing threshold: the test's
// deadline bounds it; the time is logged) and every hit is a real file.
func TestScanRealVarLog(t *testing.T) {
	t0 := time.Now()
	hits, err := Scan(Options{Root: "/"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scan of / found %d logs in %s", len(hits), time.Since(t0))
	for _, h := range hits {
		if _, err := os.Stat(h.Path); err != nil {
			t.Errorf("hit %s: %v", h.Path, err)
		}
		t.Logf("%s %s %s: %v", h.App, h.Format, h.Path, h.Why)
	}
	if _, err := Scan(Options{Root: "/nonexistent-root"}); err == nil {
		t.Error("a missing root: no error")
	}
}

// goldenEvent is what the golden files hold per line.
type goldenEvent struct {
	Time     string `json:"time,omitempty"`
	Severity string `json:"severity"`
	Facility string `json:"facility,omitempty"`
	App      string `json:"app"`
	Host     string `json:"host,omitempty"`
	ProcID   string `json:"procid,omitempty"`
	Message  string `json:"message"`
	ParseErr string `json:"parse_error,omitempty"`
}

// parseLine runs format's parser as the file source does: app set, default
// user.notice, message the line.
func parseLine(p ParseFunc, app, line string) protocol.Event {
	ev := protocol.Event{App: app, Facility: protocol.FacUser, Severity: protocol.SevNotice, Message: line, Tags: []string{app}}
	p(line, &ev)
	return ev
}

// Golden tests per app: testdata/apps/NAME.log through its format's parser
// is testdata/apps/NAME.golden (go test -run TestGolden -update rewrites).
func TestGolden(t *testing.T) {
	for _, f := range fakeRoot {
		t.Run(f.sample, func(t *testing.T) {
			fm, ok := LookupFormat(f.format)
			if !ok {
				t.Fatalf("no format %s", f.format)
			}
			p := fm.Parser(time.UTC)
			in, err := os.ReadFile(filepath.Join("testdata", "apps", f.sample+".log"))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			// events as the file source makes them: lines grouped by the
			// format's start pattern, when it has one
			var texts []string
			var start *regexp.Regexp
			if fm.Multiline != "" {
				start = regexp.MustCompile(fm.Multiline)
			}
			sc := bufio.NewScanner(bytes.NewReader(in))
			for sc.Scan() {
				if start != nil && len(texts) > 0 && !start.MatchString(sc.Text()) {
					texts[len(texts)-1] += "\n" + sc.Text()
					continue
				}
				texts = append(texts, sc.Text())
			}
			for _, text := range texts {
				ev := parseLine(p, f.app, text)
				g := goldenEvent{Severity: ev.Severity.String(), App: ev.App, Host: ev.Host, ProcID: ev.ProcID, Message: ev.Message, ParseErr: ev.ParseErr}
				if !ev.Time.IsZero() {
					g.Time = ev.Time.Format(time.RFC3339Nano)
				}
				if ev.Facility != protocol.FacUser {
					g.Facility = ev.Facility.String()
				}
				b, _ := json.Marshal(g)
				out.Write(append(b, '\n'))
			}
			gp := filepath.Join("testdata", "apps", f.sample+".golden")
			if *update {
				os.WriteFile(gp, out.Bytes(), 0o644)
			}
			want, err := os.ReadFile(gp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs from %s:\n%s", f.sample, gp, out.String())
			}
		})
	}
}

// Malformed input for every format: never a panic, the line kept whole,
// parse_error set (raw excepted: it has no format to fail).
func TestMalformed(t *testing.T) {
	bad := []string{"", " ", "garbage", "{", "{\"t\":", "[", "2026-13-45 99:99:99 LOG: x", "12:M 99 Foo 2026 xx",
		"\x00\xff\xfe", strings.Repeat("[", 1000), "<999>1 bad", `{"log":1}`, "0:0:0:0"}
	for _, name := range Formats() {
		fm, _ := LookupFormat(name)
		p := fm.Parser(time.UTC)
		for _, in := range bad {
			ev := parseLine(p, "x", in)
			if name == "raw" {
				if ev.ParseErr != "" || ev.Message != in {
					t.Errorf("raw %q: %+v", in, ev)
				}
				continue
			}
			if ev.ParseErr == "" && in != "<999>1 bad" && in != "0:0:0:0" && name != "syslog" &&
				!(in == `{"log":1}` && (name == "json" || name == "mongodb" || name == "elasticsearch")) {
				t.Errorf("%s: %q parsed without error: %+v", name, in, ev)
			}
			if name != "syslog" && name != "docker" && ev.Message != in {
				t.Errorf("%s: %q: message changed to %q", name, in, ev.Message)
			}
		}
	}
}

// FuzzParse runs every format's parser on arbitrary input: no panic, and
// the message stays the input unless the format unwraps it.
func FuzzParse(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "apps"))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".log") {
			b, _ := os.ReadFile(filepath.Join("testdata", "apps", e.Name()))
			for _, l := range strings.Split(string(b), "\n") {
				f.Add(l)
			}
		}
	}
	names := Formats()
	parsers := make([]ParseFunc, len(names))
	for i, n := range names {
		fm, _ := LookupFormat(n)
		parsers[i] = fm.Parser(time.UTC)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for i, p := range parsers {
			ev := parseLine(p, "x", line)
			if names[i] != "syslog" && names[i] != "docker" && ev.Message != line {
				t.Fatalf("%s changed the message", names[i])
			}
			if !ev.Severity.Valid() || !ev.Facility.Valid() {
				t.Fatalf("%s: invalid severity/facility %d/%d", names[i], ev.Severity, ev.Facility)
			}
		}
	})
}
