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
