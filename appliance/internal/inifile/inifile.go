package inifile

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/ini.v1"
)

// Error names the file, line, section and key of a bad setting.
type Error struct {
	File    string
	Line    int
	Section string
	Key     string
	Err     error
}

func (e *Error) Error() string {
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

func (e *Error) Unwrap() error { return e.Err }

// Lines remembers where each section and key is, for error messages.
type Lines struct {
	Sections map[string]int // section name → line of its header
	keys     map[string]int // "section\x00key" → line
}

// Line is the line of [section] key (0: not in the file).
func (li Lines) Line(section, key string) int { return li.keys[section+"\x00"+key] }

// Load parses data (name is the file, for errors) with ini.v1 as the node
// reads its files (no inline comments: a ';' or '#' in a value is kept;
// only '=' separates key and value), and scans it for the lines.
func Load(name string, data []byte) (*ini.File, Lines, error) {
	lines, err := Scan(name, data)
	if err != nil {
		return nil, lines, err
	}
	f, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true, KeyValueDelimiters: "="}, data)
	if err != nil {
		return nil, lines, &Error{File: name, Err: err}
	}
	return f, lines, nil
}

// Scan finds the line of every section and key, and rejects repeated
// sections and keys and lines that are neither comments, headers nor
// key = value.
func Scan(name string, data []byte) (Lines, error) {
	li := Lines{Sections: map[string]int{}, keys: map[string]int{}}
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
			end := strings.LastIndexByte(s, ']')
			if end < 0 {
				return li, &Error{File: name, Line: n, Err: fmt.Errorf("unterminated section header %q", s)}
			}
			section = s[1:end] // as ini.v1 names it: not trimmed
			if prev, dup := li.Sections[section]; dup {
				return li, &Error{File: name, Line: n, Section: section, Err: fmt.Errorf("section repeated (first at line %d)", prev)}
			}
			li.Sections[section] = n
			continue
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return li, &Error{File: name, Line: n, Section: section, Err: fmt.Errorf("expected key = value, got %q", s)}
		}
		key := strings.TrimSpace(s[:eq])
		k := section + "\x00" + key
		if prev, dup := li.keys[k]; dup {
			return li, &Error{File: name, Line: n, Section: section, Key: key, Err: fmt.Errorf("key repeated (first at line %d)", prev)}
		}
		li.keys[k] = n
	}
	if err := sc.Err(); err != nil {
		return li, &Error{File: name, Line: n + 1, Err: err}
	}
	return li, nil
}
