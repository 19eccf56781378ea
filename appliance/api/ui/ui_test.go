package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serveMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", Index())
	mux.Handle("GET /ui/", Assets())
	return mux
}

func get(t *testing.T, h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestServe: the page at /, its files under /ui/, with their types, the
// security headers, an ETag that gives 304, gzip when asked for; other
// names are 404.
func TestServe(t *testing.T) {
	h := serveMux()
	for _, tc := range []struct{ path, ctype, has string }{
		{"/", "text/html; charset=utf-8", `<script type="module" src="ui/app.js">`},
		{"/?view=tail&q=disk", "text/html; charset=utf-8", "Live tail"},
		{"/ui/app.js", "text/javascript; charset=utf-8", "function render()"},
		{"/ui/app.css", "text/css; charset=utf-8", "@media (max-width"},
		{"/ui/icon.svg", "image/svg+xml", "<svg"},
	} {
		w := get(t, h, "GET", tc.path, nil)
		if w.Code != 200 || w.Header().Get("Content-Type") != tc.ctype || !strings.Contains(w.Body.String(), tc.has) {
			t.Errorf("GET %s: %d %q, want 200 %q with %q", tc.path, w.Code, w.Header().Get("Content-Type"), tc.ctype, tc.has)
		}
		for k, v := range map[string]string{"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
			"Cache-Control": "no-cache", "X-Frame-Options": "DENY"} {
			if got := w.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, v)
			}
		}
		etag := w.Header().Get("ETag")
		if w := get(t, h, "GET", tc.path, map[string]string{"If-None-Match": etag}); etag == "" || w.Code != 304 || w.Body.Len() != 0 {
			t.Errorf("GET %s If-None-Match %s: %d, want 304", tc.path, etag, w.Code)
		}
		z := get(t, h, "GET", tc.path, map[string]string{"Accept-Encoding": "br, gzip"})
		if z.Header().Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(z.Body)
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := io.ReadAll(zr)
			if !bytes.Equal(plain, w.Body.Bytes()) || z.Header().Get("ETag") == etag {
				t.Errorf("GET %s gzip: does not unpack to the file, or the same ETag", tc.path)
			}
		} else if tc.path == "/ui/app.js" {
			t.Errorf("GET %s with Accept-Encoding gzip: not compressed", tc.path)
		}
		if z := get(t, h, "GET", tc.path, map[string]string{"Accept-Encoding": "gzip;q=0"}); z.Header().Get("Content-Encoding") != "" {
			t.Errorf("GET %s: gzip;q=0 refuses gzip, got it", tc.path)
		}
		if hd := get(t, h, "HEAD", tc.path, nil); hd.Code != 200 || hd.Body.Len() != 0 || hd.Header().Get("Content-Length") == "" {
			t.Errorf("HEAD %s: %d, %d bytes", tc.path, hd.Code, hd.Body.Len())
		}
	}
	for _, p := range []string{"/ui/", "/ui/index.html", "/ui/nope.js", "/ui/app.js/x", "/index.html", "/nope"} {
		if w := get(t, h, "GET", p, nil); w.Code != 404 {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
}

// TestSmall: the page and everything it loads stay small (a phone on a
// slow link), and nothing is loaded from another site (no CDN).
func TestSmall(t *testing.T) {
	total := 0
	for name, n := range Files() {
		total += n
		b := files[name].body
		if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|fetch\(\s*["'](https?:)?//`).Find(b); m != nil {
			t.Errorf("%s loads from another site: %q", name, m)
		}
	}
	if total > 200<<10 {
		t.Errorf("the UI's files are %d KiB, want at most 200 KiB", total>>10)
	}
	t.Logf("UI files: %v, %d KiB in all", Files(), total>>10)
	// every file the page names is served
	for _, m := range regexp.MustCompile(`(?:src|href)="ui/([^"]+)"`).FindAllSubmatch(files["index.html"].body, -1) {
		if files[string(m[1])] == nil {
			t.Errorf("index.html names ui/%s, which is not embedded", m[1])
		}
	}
}

// TestNoHTMLFromData: the script never builds markup from strings (log
// messages are untrusted): no innerHTML, outerHTML, insertAdjacentHTML or
// document.write.
func TestNoHTMLFromData(t *testing.T) {
	js := string(files["app.js"].body)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
}
