package scan

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"logpacker/protocol"
	psyslog "logpacker/protocol/syslog"
)

// ParseFunc reads one event's text (a line, or several for multi-line
// events) of an app's log into ev: Time, Severity, and where the format
// carries them Host, App, ProcID. It keeps ev.Message as it is (the whole
// text) except for formats that wrap the message (syslog, Docker's JSON),
// never fails, and sets ev.ParseErr when the text is not in the format.
type ParseFunc func(text string, ev *protocol.Event)

// Format is one log format the parser table knows.
type Format struct {
	Name string
	Desc string
	// Multiline, if set, is the start pattern of an event in this format
	// (what a [source.NAME] multiline_start defaults to).
	Multiline string
	new       func(loc *time.Location) ParseFunc
}

// Formats lists every format, by name.
func Formats() []string {
	var out []string
	for n := range formats {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LookupFormat returns the format called name.
func LookupFormat(name string) (Format, bool) {
	f, ok := formats[name]
	return f, ok
}

// Parser is the format's parse function; times without a zone are in loc
// (nil: time.Local).
func (f Format) Parser(loc *time.Location) ParseFunc {
	if loc == nil {
		loc = time.Local
	}
	return f.new(loc)
}

var formats = map[string]Format{}

func init() {
	for _, f := range []Format{
		{Name: "raw", Desc: "no format: the line is the message", new: func(*time.Location) ParseFunc { return func(string, *protocol.Event) {} }},
		{Name: "syslog", Desc: "syslog files (RFC 3164 lines, or RFC 3339 timestamps as rsyslog writes them)", new: newSyslog},
		{Name: "access", Desc: "NCSA common/combined access log (nginx, Apache, Tomcat)", new: newAccess},
		{Name: "nginx_error", Desc: "nginx error log", new: rx(`^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(\w+)\] (\d+)#\d+: `, []string{"2006/01/02 15:04:05"}, 1, 2, 3, nil)},
		{Name: "apache_error", Desc: "Apache 2.2/2.4 error log", new: rx(`^\[(\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] \[(?:[\w-]+:)?(\w+)\](?: \[pid (\d+))?`,
			[]string{"Mon Jan 02 15:04:05.000000 2006", "Mon Jan 02 15:04:05 2006"}, 1, 2, 3, nil)},
		{Name: "mysql", Desc: "MySQL / MariaDB error log (5.x, 8.x, MariaDB 10+)", new: newMySQL},
		{Name: "postgresql", Desc: "PostgreSQL server log (default log_line_prefix)", Multiline: `^\d{4}-\d{2}-\d{2}\s`, new: newPostgres},
		{Name: "redis", Desc: "Redis server log", new: rx(`^(\d+):[XCSM] (\d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2}\.\d{3}) ([.\-*#]) `,
			[]string{"02 Jan 2006 15:04:05.000"}, 2, 3, 1, map[string]protocol.Severity{".": protocol.SevDebug, "-": protocol.SevInfo, "*": protocol.SevNotice, "#": protocol.SevWarning})},
		{Name: "mongodb", Desc: "MongoDB log (4.4+ JSON, older text)", new: newMongo},
		{Name: "elasticsearch", Desc: "Elasticsearch log (text or JSON)", Multiline: `^(\[\d{4}-|\{)`, new: newElastic},
		{Name: "log4j", Desc: "Java logs with a timestamp then a level (log4j, logback: Hadoop, HBase, Solr, Jira, Jenkins, VoltDB, TeamCity, RabbitMQ, Supervisor, Puppet, Chef, Tomcat)",
			Multiline: `^\[?(\d{4}-\d{2}-\d{2}|\d{2}-\w{3}-\d{4})`, new: newLog4j},
		{Name: "cassandra", Desc: "Cassandra system.log (level, thread, timestamp)", Multiline: `^[A-Z]+ +\[`,
			new: rx(`^([A-Z]+) +\[[^\]]*\] (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3})`, []string{"2006-01-02 15:04:05,000"}, 2, 1, 0, nil)},
		{Name: "docker", Desc: "Docker json-file container log", new: newDocker},
		{Name: "json", Desc: "JSON lines with a time and a level key (GitLab, …)", new: newJSON},
		{Name: "zabbix", Desc: "Zabbix server/agent log", new: rx(`^ *(\d+):(\d{8}:\d{6}\.\d{3}) `, []string{"20060102:150405.000"}, 2, 0, 1, nil)},
		{Name: "aerospike", Desc: "Aerospike server log (times in GMT)", new: func(*time.Location) ParseFunc {
			return rx(`^(\w{3} \d{2} \d{4} \d{2}:\d{2}:\d{2}(?:\.\d+)?) GMT: (\w+) `,
				[]string{"Jan 02 2006 15:04:05", "Jan 02 2006 15:04:05.000"}, 1, 2, 0, nil)(time.UTC)
		}},
		{Name: "sphinx", Desc: "Sphinx / Manticore searchd log", new: rx(`^\[(\w{3} \w{3} +\d+ \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] \[ *(\d+)\] (?:(WARNING|ERROR|FATAL)|)`,
			[]string{"Mon Jan _2 15:04:05.000 2006", "Mon Jan _2 15:04:05 2006"}, 1, 3, 2, nil)},
		{Name: "oracle", Desc: "Oracle alert log (a timestamp line, then the message lines)", Multiline: `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}`, new: newOracle},
		{Name: "exim", Desc: "Exim main/reject/panic log", new: rx(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{3})?)(?: [+-]\d{4})? (?:\[(\d+)\] )?`,
			[]string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.000"}, 1, 0, 2, nil)},
		{Name: "dmesg", Desc: "kernel ring buffer as written to /var/log/dmesg", new: newDmesg},
	} {
		formats[f.Name] = f
	}
}

// severityOf maps a level word (any case) to a severity.
func severityOf(level string) (protocol.Severity, bool) {
	switch strings.ToLower(strings.Trim(level, "[]():")) {
	case "emerg", "emergency", "panic":
		return protocol.SevEmerg, true
	case "alert":
		return protocol.SevAlert, true
	case "crit", "critical", "fatal", "severe", "f":
		return protocol.SevCrit, true
	case "err", "error", "erro", "e":
		return protocol.SevErr, true
	case "warn", "warning", "w":
		return protocol.SevWarning, true
	case "notice", "note", "system", "n":
		return protocol.SevNotice, true
	case "info", "information", "log", "i", "statement", "detail", "hint", "context", "location", "config":
		return protocol.SevInfo, true
	case "debug", "debg", "trace", "trac", "blat", "fine", "finer", "finest", "verbose", "d",
		"debug1", "debug2", "debug3", "debug4", "debug5", "d1", "d2", "d3", "d4", "d5":
		return protocol.SevDebug, true
	}
	return 0, false
}

func parseTime(s string, loc *time.Location, layouts ...string) (time.Time, bool) {
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// notFormat is the ParseErr of text that is not in the format.
const notFormat = "not in the app's log format"

// submatch is re's match of text, or nil with ev.ParseErr set.
func submatch(re *regexp.Regexp, text string, ev *protocol.Event) []string {
	m := re.FindStringSubmatch(text)
	if m == nil {
		ev.ParseErr = notFormat
	}
	return m
}

// rx is a regexp format: group ti is the time (layouts, in loc), li the
// level (sev maps it, else severityOf), pi the process ID; 0: none.
func rx(re string, layouts []string, ti, li, pi int, sev map[string]protocol.Severity) func(*time.Location) ParseFunc {
	r := regexp.MustCompile(re)
	return func(loc *time.Location) ParseFunc {
		return func(text string, ev *protocol.Event) {
			m := submatch(r, text, ev)
			if m == nil {
				return
			}
			if ti > 0 {
				t, ok := parseTime(m[ti], loc, layouts...)
				if !ok {
					ev.ParseErr = "bad timestamp " + strconv.Quote(m[ti])
					return
				}
				ev.Time = t
			}
			if li > 0 && m[li] != "" {
				if s, ok := sev[m[li]]; ok {
					ev.Severity = s
				} else if s, ok := severityOf(m[li]); ok {
					ev.Severity = s
				}
			}
			if pi > 0 && m[pi] != "" {
				ev.ProcID = m[pi]
			}
		}
	}
}

func newSyslog(loc *time.Location) ParseFunc {
	p := psyslog.NewParser(psyslog.Options{Location: loc, MaxSize: 1 << 30})
	return func(text string, ev *protocol.Event) {
		app, tags := ev.App, ev.Tags
		var e protocol.Event
		p.Parse([]byte(text), &e)
		if e.ParseErr != "" {
			ev.ParseErr = e.ParseErr
			return
		}
		ev.Time, ev.Host, ev.ProcID, ev.Message = e.Time, e.Host, e.ProcID, strings.Clone(e.Message)
		ev.App = strings.Clone(e.App)
		if ev.App == "" {
			ev.App = app
		}
		ev.Tags = tags
		if i := strings.IndexByte(text, '<'); i == 0 { // a PRI: keep its facility and severity
			ev.Facility, ev.Severity = e.Facility, e.Severity
		}
	}
}

var accessRe = regexp.MustCompile(`^(\S+) \S+ (\S+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\S+)`)

func newAccess(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		m := submatch(accessRe, text, ev)
		if m == nil {
			return
		}
		if t, ok := parseTime(m[3], loc, "02/Jan/2006:15:04:05 -0700"); ok {
			ev.Time = t
		}
		switch m[5][0] {
		case '5':
			ev.Severity = protocol.SevErr
		case '4':
			ev.Severity = protocol.SevWarning
		default:
			ev.Severity = protocol.SevInfo
		}
	}
}

var (
	mysql8Re   = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) +(\d+) \[(\w+)\]`)
	mysql57Re  = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} +\d{1,2}:\d{2}:\d{2}) (?:(\d+) )?\[(\w+)\]`)
	mysqlOldRe = regexp.MustCompile(`^(\d{6} +\d{1,2}:\d{2}:\d{2}) (?:\[(\w+)\]|(mysqld|InnoDB))`)
)

func newMySQL(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		if m := mysql8Re.FindStringSubmatch(text); m != nil {
			ev.Time, _ = parseTime(m[1], loc, time.RFC3339Nano)
			ev.Severity, _ = severityOf(m[3])
			return
		}
		if m := mysql57Re.FindStringSubmatch(text); m != nil {
			ev.Time, _ = parseTime(strings.Join(strings.Fields(m[1]), " "), loc, "2006-01-02 15:04:05")
			ev.Severity, _ = severityOf(m[3])
			return
		}
		if m := mysqlOldRe.FindStringSubmatch(text); m != nil {
			ev.Time, _ = parseTime(strings.Join(strings.Fields(m[1]), " "), loc, "060102 15:04:05")
			if s, ok := severityOf(m[2]); ok {
				ev.Severity = s
			}
			return
		}
		ev.ParseErr = notFormat
	}
}

var pgRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?)(?: ([A-Za-z]+|[+-]\d{2}(?::?\d{2})?))? \[(\d+)\][^\n]*? ?\b(LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DEBUG\d|STATEMENT|DETAIL|HINT|CONTEXT|LOCATION):\s`)

func newPostgres(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		m := submatch(pgRe, text, ev)
		if m == nil {
			return
		}
		l := loc
		switch z := m[2]; {
		case z == "UTC" || z == "GMT":
			l = time.UTC
		case z != "" && (z[0] == '+' || z[0] == '-'):
			zz := strings.ReplaceAll(z[1:], ":", "")
			h, _ := strconv.Atoi(zz[:2])
			mi := 0
			if len(zz) == 4 {
				mi, _ = strconv.Atoi(zz[2:])
			}
			off := h*3600 + mi*60
			if z[0] == '-' {
				off = -off
			}
			l = time.FixedZone(z, off)
		}
		ev.Time, _ = parseTime(m[1], l, "2006-01-02 15:04:05.999999999")
		ev.ProcID = m[3]
		ev.Severity, _ = severityOf(m[4])
	}
}

// jsonTime reads the time of a JSON log line: an RFC 3339 string, or
// MongoDB's {"$date": "…"}.
func jsonTime(v any, loc *time.Location) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		return parseTime(x, loc, time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999")
	case map[string]any:
		return jsonTime(x["$date"], loc)
	case float64: // seconds since the epoch
		sec := int64(x)
		return time.Unix(sec, int64((x-float64(sec))*1e9)).UTC(), true
	}
	return time.Time{}, false
}

var (
	jsonTimeKeys  = []string{"time", "@timestamp", "timestamp", "t", "ts", "date"}
	jsonLevelKeys = []string{"level", "log.level", "severity", "s", "lvl", "loglevel"}
)

// jsonFields decodes a JSON object line, sets time and severity from the
// usual keys, and returns the object (nil: not JSON).
func jsonFields(text string, ev *protocol.Event, loc *time.Location) map[string]any {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "{") {
		return nil
	}
	var m map[string]any
	if json.Unmarshal([]byte(t), &m) != nil {
		return nil
	}
	for _, k := range jsonTimeKeys {
		if v, ok := m[k]; ok {
			if tm, ok := jsonTime(v, loc); ok {
				ev.Time = tm
				break
			}
		}
	}
	for _, k := range jsonLevelKeys {
		if v, ok := m[k].(string); ok {
			if s, ok := severityOf(v); ok {
				ev.Severity = s
				break
			}
		}
	}
	return m
}

func newJSON(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		if jsonFields(text, ev, loc) == nil {
			ev.ParseErr = "not a JSON object"
		}
	}
}

var mongoOldRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}) ([FEWID])\d? `)

func newMongo(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		if jsonFields(text, ev, loc) != nil {
			return
		}
		if m := mongoOldRe.FindStringSubmatch(text); m != nil {
			ev.Time, _ = parseTime(m[1], loc, "2006-01-02T15:04:05.000-0700")
			ev.Severity, _ = severityOf(m[2])
			return
		}
		ev.ParseErr = notFormat
	}
}

var esRe = regexp.MustCompile(`^\[(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2},\d{3}(?:Z|[+-]\d{2}:?\d{2})?)\]\s*\[(\w+)\s*\]`)

func newElastic(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		if jsonFields(text, ev, loc) != nil {
			return
		}
		if m := esRe.FindStringSubmatch(text); m != nil {
			ev.Time, _ = parseTime(m[1], loc, "2006-01-02T15:04:05,000Z07:00", "2006-01-02T15:04:05,000Z0700", "2006-01-02T15:04:05,000")
			ev.Severity, _ = severityOf(m[2])
			return
		}
		ev.ParseErr = notFormat
	}
}

var (
	log4jTimeRe = regexp.MustCompile(`^\[?(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[,.]\d{1,9})?(?: ?(?:Z|[+-]\d{2}:?\d{2}))?|\d{2}-\w{3}-\d{4} \d{2}:\d{2}:\d{2}(?:\.\d{3})?)\]?`)
	levelRe     = regexp.MustCompile(`(?i)(?:^|[\s\[(])(TRACE|DEBUG|DEBG|INFO|NOTICE|WARN|WARNING|ERROR|ERRO|ERR|FATAL|SEVERE|CRITICAL|CRIT|ALERT|EMERG)(?:$|[\s\]):])`)
)

var log4jLayouts = []string{
	"2006-01-02 15:04:05,000", "2006-01-02 15:04:05.000", "2006-01-02 15:04:05.000000", "2006-01-02 15:04:05",
	"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05,000Z07:00",
	"2006-01-02 15:04:05,000Z0700", "2006-01-02 15:04:05.000Z0700", "2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05,000", "2006-01-02T15:04:05.000", "2006-01-02T15:04:05",
	"02-Jan-2006 15:04:05.000", "02-Jan-2006 15:04:05",
}

func newLog4j(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		m := submatch(log4jTimeRe, text, ev)
		if m == nil {
			return
		}
		t, ok := parseTime(m[1], loc, log4jLayouts...)
		if !ok {
			ev.ParseErr = "bad timestamp " + strconv.Quote(m[1])
			return
		}
		ev.Time = t
		rest := text[len(m[0]):]
		rest = rest[:min(len(rest), 120)]
		if lm := levelRe.FindStringSubmatch(rest); lm != nil {
			ev.Severity, _ = severityOf(lm[1])
		}
	}
}

func newDocker(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		var d struct {
			Log, Stream, Time string
		}
		if json.Unmarshal([]byte(text), &d) != nil || d.Time == "" {
			ev.ParseErr = "not a Docker json-file line"
			return
		}
		ev.Message = strings.TrimRight(d.Log, "\r\n")
		ev.Time, _ = parseTime(d.Time, loc, time.RFC3339Nano)
		ev.Severity = protocol.SevInfo
		if d.Stream == "stderr" {
			ev.Severity = protocol.SevNotice
		}
	}
}

var oracleRe = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))\s*(?:\n|$)`)

func newOracle(loc *time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		m := submatch(oracleRe, text, ev)
		if m == nil {
			return
		}
		ev.Time, _ = parseTime(m[1], loc, time.RFC3339Nano)
		if strings.Contains(text, "ORA-") {
			ev.Severity = protocol.SevErr
		}
	}
}

var dmesgRe = regexp.MustCompile(`^\[\s*\d+\.\d+\] `)

func newDmesg(*time.Location) ParseFunc {
	return func(text string, ev *protocol.Event) {
		if !dmesgRe.MatchString(text) {
			ev.ParseErr = notFormat
			return
		}
		ev.App, ev.Facility = "kernel", protocol.FacKern
	}
}
