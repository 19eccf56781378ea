package appliance

import (
	"slices"
	"testing"
)

// TestDiffConfig: the keys a reload sees changed, compared as read (the
// embedded defaults, then the file), sorted by section and key.
func TestDiffConfig(t *testing.T) {
	const base = "[node]\ndata_dir = /d\n[output.file]\npath = e.jsonl\n"
	for _, tt := range []struct {
		name, old, new string
		want           []string
	}{
		{"same", base, base, nil},
		{"spacing and comments are no change", base, "; a comment\n[node]\ndata_dir=/d\n\n[output.file]\n  path   =   e.jsonl  \n", nil},
		{"a default written out is no change", base, base + "[wal]\nfsync = always\n", nil},
		{"a key added", base, base + "severity = err\n", []string{"[output.file] severity"}},
		{"a key dropped goes back to its default", base + "[wal]\nfsync = never\n", base, []string{"[wal] fsync"}},
		{"a value changed", base, "[node]\ndata_dir = /e\n[output.file]\npath = e.jsonl\n", []string{"[node] data_dir"}},
		{"a section added: each of its keys", base, base + "[output.x]\ntype = file\npath = x.jsonl\n",
			[]string{"[output.x] path", "[output.x] type"}},
		{"a section removed: each of its keys", base + "[output.x]\ntype = file\npath = x.jsonl\nhost = web-*\n", base,
			[]string{"[output.x] host", "[output.x] path", "[output.x] type"}},
		{"several sections, sorted", base + "[listen]\nsyslog_tcp = 127.0.0.1:7001\n",
			base + "[wal]\nfsync = never\nsegment_size = 1m\n[listen]\nsyslog_tcp = 127.0.0.1:7002\nsyslog_udp =\n[api]\ntoken = s\n",
			[]string{"[api] token", "[listen] syslog_tcp", "[listen] syslog_udp", "[wal] fsync", "[wal] segment_size"}},
		{"a component's section", base, base + "[syslog]\nbatch_size = 64\n[tls]\nclient_auth = request\n",
			[]string{"[syslog] batch_size", "[tls] client_auth"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseConfig("a.ini", []byte(tt.old))
			if err != nil {
				t.Fatal(err)
			}
			b, err := ParseConfig("b.ini", []byte(tt.new))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range diffConfig(a, b) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("diff = %q, want %q", got, tt.want)
			}
			// the other way round: the same keys
			got = got[:0]
			for _, c := range diffConfig(b, a) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("reverse diff = %q, want %q", got, tt.want)
			}
			// adopting every change makes the running config b's
			for _, c := range diffConfig(a, b) {
				a.adopt(b, c.Section, c.Key)
			}
			if d := diffConfig(a, b); len(d) != 0 {
				t.Errorf("after adopting every change, still %v", d)
			}
		})
	}
}
