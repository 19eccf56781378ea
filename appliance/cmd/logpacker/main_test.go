package main

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"logpacker/appliance"
)

func readme(t *testing.T) string {
	b, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func between(t *testing.T, s, begin, end string) string {
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README: markers %s … %s not found", begin, end)
	}
	return s[i+len(begin) : j]
}

// TestReadmeParseExample runs the README's `logpacker parse` example and
// compares the output with what the README shows.
func TestReadmeParseExample(t *testing.T) {
	block := between(t, readme(t), "<!-- example:parse:begin -->", "<!-- example:parse:end -->")
	in := regexp.MustCompile(`printf '%s\\n' '([^']*)'`).FindStringSubmatch(block)
	if in == nil {
		t.Fatal("README example: no printf input")
	}
	lines := strings.Split(strings.TrimSpace(block), "\n")
	var want string
	for _, l := range lines {
		if strings.HasPrefix(l, "{") {
			want = l
		}
	}
	var out bytes.Buffer
	if err := cmdParse([]string{"-tz", "UTC"}, strings.NewReader(in[1]+"\n"), &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != want {
		t.Fatalf("README example output is stale:\nREADME: %s\nactual: %s", want, got)
	}
}

// TestReadmeConfigIsTheEmbeddedDefault keeps the README's server.ini copy current.
func TestReadmeConfigIsTheEmbeddedDefault(t *testing.T) {
	block := between(t, readme(t), "<!-- server.ini.default:begin -->", "<!-- server.ini.default:end -->")
	block = strings.TrimPrefix(strings.TrimSpace(block), "```ini\n")
	block = strings.TrimSuffix(block, "```")
	if strings.TrimSpace(block) != strings.TrimSpace(string(appliance.DefaultConfig)) {
		t.Fatal("README's server.ini differs from appliance/server.ini.default: update README")
	}
}

func TestParseCommandMalformedFlags(t *testing.T) {
	for _, args := range [][]string{{"-tz", "Nowhere/City"}, {"-now", "tomorrow"}, {"-bogus"}} {
		if err := cmdParse(args, strings.NewReader(""), &bytes.Buffer{}); err == nil {
			t.Errorf("parse %v: no error", args)
		}
	}
	if err := cmdWAL([]string{"fix", "x"}, &bytes.Buffer{}); err == nil {
		t.Error("wal fix: no error")
	}
}

// TestCommandListsAgree keeps the three lists of commands equal: the usage
// text, the package doc (doc.go) and README's "Commands"; and every command
// main's switch dispatches is in them.
func TestCommandListsAgree(t *testing.T) {
	want := strings.TrimPrefix(usage, "usage:\n")
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(want, "\n"), "\n") {
		lines = append(lines, strings.TrimPrefix(l, "  "))
	}
	want = strings.Join(lines, "\n")

	block := between(t, readme(t), "<!-- commands:begin -->", "<!-- commands:end -->")
	block = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(block), "```\n"), "\n```")
	if block != want {
		t.Errorf("README's Commands differ from the usage text in main.go:\nREADME:\n%s\nusage:\n%s", block, want)
	}

	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc []string
	for _, l := range strings.Split(string(src), "\n") {
		if c, ok := strings.CutPrefix(l, "//\t"); ok {
			doc = append(doc, c)
		}
	}
	if got := strings.Join(doc, "\n"); got != want {
		t.Errorf("doc.go's command list differs from the usage text in main.go:\ndoc.go:\n%s\nusage:\n%s", got, want)
	}

	src, err = os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	sw := string(src)
	i := strings.Index(sw, "switch cmd, args := ")
	j := strings.Index(sw[max(i, 0):], "default:")
	if i < 0 || j < 0 {
		t.Fatal("main.go: the command switch was not found")
	}
	cmds := regexp.MustCompile(`case "([a-z]+)"`).FindAllStringSubmatch(sw[i:i+j], -1)
	if len(cmds) < 5 {
		t.Fatalf("main.go: only %d commands found in the switch", len(cmds))
	}
	for _, c := range cmds {
		if !regexp.MustCompile(`(?m)^logpacker ` + c[1] + `\b`).MatchString(want) {
			t.Errorf("command %q is dispatched by main but not in the usage text", c[1])
		}
	}
}
