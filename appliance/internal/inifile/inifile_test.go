package inifile

import (
	"errors"
	"strings"
	"testing"
)

func TestLoadLines(t *testing.T) {
	f, li, err := Load("a.ini", []byte("top = 1\n; comment\n[s]\n  k = v ; kept\n# c\n[t]\nk=\n"))
	if err != nil {
		t.Fatal(err)
	}
	if li.Line("", "top") != 1 || li.Sections["s"] != 3 || li.Line("s", "k") != 4 || li.Line("t", "k") != 7 || li.Line("s", "x") != 0 {
		t.Fatalf("lines %+v", li)
	}
	if v := f.Section("s").Key("k").Value(); v != "v ; kept" {
		t.Fatalf("value %q (inline comments are kept)", v)
	}
}

func TestLoadMalformed(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"[s\nk = v\n", "config a.ini:1: unterminated section header"},
		{"[s]\n[s]\n", "config a.ini:2: [s]: section repeated (first at line 1)"},
		{"[s]\nk = 1\nk = 2\n", "config a.ini:3: [s] k: key repeated (first at line 2)"},
		{"[s]\njust words\n", "config a.ini:2: [s]: expected key = value, got \"just words\""},
		{"k = 1\nk = 2\n", "config a.ini:2: [] k: key repeated"},
		{"[s]\nk = " + strings.Repeat("x", 2<<20) + "\n", "config a.ini:2:"},
	} {
		_, _, err := Load("a.ini", []byte(c.in))
		var e *Error
		if err == nil || !errors.As(err, &e) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: err = %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte("[s]\nk = v\n"))
	f.Add([]byte("a=1\n[b]\nc = \"q\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, li, err := Load("f.ini", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %T %v", err, err)
			}
			return
		}
		for _, sec := range file.Sections() {
			if sec.Name() != "DEFAULT" && li.Sections[sec.Name()] == 0 && len(sec.Keys()) > 0 {
				t.Fatalf("section %q with keys has no line", sec.Name())
			}
		}
	})
}
