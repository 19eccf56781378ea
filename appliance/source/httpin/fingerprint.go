package httpin

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

// Frame is one stack frame, as far as grouping cares: the function and the
// file (a script's path: no scheme, host, query or line numbers).
type Frame struct{ Function, File string }

var (
	// V8 (Chrome, Node.js): "    at fn (http://h/app.js?v=1:12:34)", "    at http://h/app.js:12:34"
	v8Frame = regexp.MustCompile(`^\s*at (?:(.*?) \()?(.*?)(?::\d+)?(?::\d+)?\)?$`)
	// SpiderMonkey, JavaScriptCore: "fn@http://h/app.js:12:34", "@http://h/app.js:1:2"
	geckoFrame = regexp.MustCompile(`^\s*(.*?)@(.*?)(?::\d+)?(?::\d+)?$`)
	// hashes and numbers in file names (app.3f2a1b9c.js, chunk-1234.js)
	// change with every build; they do not make another error
	volatile = regexp.MustCompile(`[0-9a-fA-F]{8,}|\d+`)
)

// FramesFromStack reads the frames of a JavaScript error's stack text (V8,
// Firefox and Safari formats); lines that are not frames (the message) are
// left out.
func FramesFromStack(stack string) []Frame {
	var out []Frame
	for _, line := range strings.Split(stack, "\n") {
		line = strings.TrimRight(line, "\r")
		var fn, file string
		if m := v8Frame.FindStringSubmatch(line); m != nil {
			fn, file = m[1], m[2]
		} else if m := geckoFrame.FindStringSubmatch(line); m != nil && (strings.Contains(m[2], "/") || strings.Contains(m[2], ":")) {
			fn, file = m[1], m[2]
		} else {
			continue
		}
		out = append(out, Frame{Function: fn, File: file})
	}
	return out
}

// NormaliseFrame is f as grouping sees it: the file's path only (no
// scheme, host, query, fragment), its hashes and numbers taken out, and
// the function without "async "/"new " and anonymous markers.
func NormaliseFrame(f Frame) Frame {
	file := f.File
	if i := strings.Index(file, "://"); i >= 0 {
		file = file[i+3:]
		if j := strings.IndexByte(file, '/'); j >= 0 {
			file = file[j:]
		} else {
			file = "/"
		}
	}
	if i := strings.IndexAny(file, "?#"); i >= 0 {
		file = file[:i]
	}
	file = volatile.ReplaceAllString(file, "#")
	fn := strings.TrimSpace(f.Function)
	fn = strings.TrimPrefix(fn, "async ")
	fn = strings.TrimPrefix(fn, "new ")
	if fn == "<anonymous>" || fn == "Object.<anonymous>" {
		fn = ""
	}
	return Frame{Function: fn, File: file}
}

// NormalisedStack is the frames as grouping sees them, one per line
// ("function file"); frames of the browser's or runtime's own code
// (<anonymous>, native, extensions) are left out.
func NormalisedStack(frames []Frame) string {
	var b strings.Builder
	for _, f := range frames {
		n := NormaliseFrame(f)
		if n.File == "" || n.File == "<anonymous>" || n.File == "native" || n.File == "[native code]" ||
			strings.HasPrefix(f.File, "chrome-extension:") || strings.HasPrefix(f.File, "moz-extension:") {
			continue
		}
		b.WriteString(n.Function)
		b.WriteByte(' ')
		b.WriteString(n.File)
		b.WriteByte('\n')
	}
	return b.String()
}

// Fingerprint groups errors: the first 16 hex digits of SHA-256 over the
// error's type and its normalised stack. The same error thrown from the
// same code has the same fingerprint across page URLs, line and column
// shifts of a new build, and cache-busting queries.
func Fingerprint(frames []Frame, errType string) string {
	h := sha256.New()
	h.Write([]byte(errType))
	h.Write([]byte{0})
	h.Write([]byte(NormalisedStack(frames)))
	return hex.EncodeToString(h.Sum(nil))[:16]
}
