package scan

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Options of a scan.
type Options struct {
	Root     string    // "/" (default) or a mounted image, a container's root, a test's fake root
	Progress io.Writer // a progress line, rewritten in place (nil: none)
	// WalkDirs are walked (relative to Root) for logs the path rules do not
	// name, recognised by their content; default var/log, opt, srv.
	WalkDirs []string
	MaxDepth int // of the walk below each of WalkDirs (default 4)
}

// Hit is one log file found.
type Hit struct {
	App    string
	Format string
	Path   string   // as seen inside Root ("/var/log/nginx/access.log")
	Why    []string // e.g. "path matches var/log/nginx/access.log", "content: 12 of 12 lines look like nginx_error"
}

// sniffLines is how many lines (of the first 16 KiB) content sniffing reads.
const sniffLines = 20

var rotatedRe = regexp.MustCompile(`(\.\d+|[-_.]\d{8}(\d{2})?|\.(gz|bz2|xz|zst|zip|lz4|old|bak|swp|tmp|pid|lock|pos))$`)

// Scan finds the logs of the known apps under o.Root: every path rule's
// glob, then a walk of WalkDirs for files that no rule names but whose
// content a sniffer recognises. A file matched by a rule is that rule's
// app, unless its content is another app's (MariaDB in mysql/error.log,
// sendmail in maillog). Rotated files (app.log.1, .gz, -20260101) are
// left out: a source follows the live name and reads rotated ones itself.
func Scan(o Options) ([]Hit, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.WalkDirs == nil {
		o.WalkDirs = []string{"var/log", "opt", "srv"}
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 4
	}
	if _, err := os.Stat(o.Root); err != nil {
		return nil, fmt.Errorf("scan: root: %w", err)
	}
	s := &scanner{o: o, seen: map[string]bool{}, last: time.Now()}
	for _, a := range Apps {
		for _, ru := range a.Files {
			m, _ := filepath.Glob(filepath.Join(o.Root, ru.Glob))
			for _, p := range m {
				s.consider(p, &a, ru)
			}
		}
	}
	for _, d := range o.WalkDirs {
		base := filepath.Join(o.Root, d)
		depth0 := strings.Count(base, string(os.PathSeparator))
		filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if e != nil && e.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if e.IsDir() {
				if strings.Count(p, string(os.PathSeparator))-depth0 >= o.MaxDepth {
					return fs.SkipDir
				}
				return nil
			}
			s.consider(p, nil, Rule{})
			return nil
		})
	}
	s.progress(true)
	sort.Slice(s.hits, func(i, j int) bool {
		if s.hits[i].App != s.hits[j].App {
			return appRank(s.hits[i].App) < appRank(s.hits[j].App)
		}
		return s.hits[i].Path < s.hits[j].Path
	})
	return s.hits, nil
}

func appRank(name string) int {
	return slices.IndexFunc(Apps, func(a App) bool { return a.Name == name })
}

type scanner struct {
	o       Options
	seen    map[string]bool
	hits    []Hit
	looked  int
	last    time.Time
	current string
}

func (s *scanner) progress(final bool) {
	if s.o.Progress == nil {
		return
	}
	if !final && time.Since(s.last) < 100*time.Millisecond {
		return
	}
	s.last = time.Now()
	end := "\r"
	if final {
		end = "\n"
	}
	dir := s.current
	if len(dir) > 50 {
		dir = "…" + dir[len(dir)-49:]
	}
	fmt.Fprintf(s.o.Progress, "\rscan: %d files looked at, %d logs found %-52s%s", s.looked, len(s.hits), dir, end)
}

// consider looks at one file: by rule (a, ru) or, for a walk, by content only.
func (s *scanner) consider(p string, a *App, ru Rule) {
	if s.seen[p] {
		return
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || rotatedRe.MatchString(filepath.Base(p)) {
		return
	}
	s.seen[p] = true
	s.looked++
	s.current = filepath.Dir(p)
	s.progress(false)
	counts, formatOf, nlines := s.sniff(p)
	app, best := "", 0
	for _, a := range Apps { // table order breaks ties
		if counts[a.Name] > best {
			app, best = a.Name, counts[a.Name]
		}
	}
	if a != nil && counts[a.Name] > 0 && counts[a.Name] >= best {
		app = a.Name // its own sniffers agree with the path, as much as any other's
	}
	why := ""
	if app != "" {
		why = fmt.Sprintf("content: %d of %d lines look like %s (%s)", counts[app], nlines, app, formatOf[app])
	}
	format := formatOf[app]
	rel, _ := filepath.Rel(s.o.Root, p)
	shown := "/" + filepath.ToSlash(rel)
	switch {
	case a != nil && (app == "" || app == a.Name):
		w := []string{"path matches " + ru.Glob}
		if app == a.Name {
			w = append(w, why)
		} else if fi.Size() == 0 {
			w = append(w, "empty")
		} else {
			w = append(w, "content not recognised")
		}
		s.hits = append(s.hits, Hit{App: a.Name, Format: ru.Format, Path: shown, Why: w})
	case app != "":
		w := []string{why}
		if a != nil {
			w = append(w, "the path suggested "+a.Name)
		}
		s.hits = append(s.hits, Hit{App: app, Format: format, Path: shown, Why: w})
	}
}

// sniff reads the first lines of p and counts, per app, the lines its
// sniffers match (and the format of its sniffer that matched most).
func (s *scanner) sniff(p string) (counts map[string]int, formatOf map[string]string, nlines int) {
	counts, formatOf = map[string]int{}, map[string]string{}
	f, err := os.Open(p)
	if err != nil {
		return
	}
	defer f.Close()
	head := make([]byte, 16<<10)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	if bytes.IndexByte(head, 0) >= 0 { // binary (wtmp, lastlog, journal files)
		return
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 0, 16<<10), 16<<10)
	for sc.Scan() && len(lines) < sniffLines {
		if l := strings.TrimRight(sc.Text(), "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	for _, a := range Apps {
		for _, sn := range a.Sniff {
			k := 0
			for _, l := range lines {
				if sn.Re.MatchString(l) {
					k++
				}
			}
			if k > counts[a.Name] {
				counts[a.Name], formatOf[a.Name] = k, sn.Format
			}
		}
	}
	return counts, formatOf, len(lines)
}

// Config renders hits as [source.NAME] sections to paste into server.ini:
// one per app and format, its paths listed, each hit's reasons as comments.
func Config(hits []Hit) string {
	type key struct{ app, format string }
	var order []key
	group := map[key][]Hit{}
	for _, h := range hits {
		k := key{h.App, h.Format}
		if group[k] == nil {
			order = append(order, k)
		}
		group[k] = append(group[k], h)
	}
	names := map[string]int{}
	for _, k := range order {
		names[k.app]++
	}
	var b strings.Builder
	b.WriteString("; Written by `logpacker scan`: the logs of known software found on this host.\n")
	b.WriteString("; Keep the sections you want, then add them to server.ini (sources reload live).\n")
	for _, k := range order {
		name := k.app
		if names[k.app] > 1 {
			name = k.format
			if !strings.HasPrefix(k.format, k.app+"_") {
				name = k.app + "_" + k.format
			}
		}
		b.WriteString("\n")
		var paths []string
		for _, h := range group[k] {
			fmt.Fprintf(&b, "; %s: %s\n", h.Path, strings.Join(h.Why, "; "))
			paths = append(paths, h.Path)
		}
		fmt.Fprintf(&b, "[source.%s]\ntype = file\npaths = %s\napp = %s\nformat = %s\n", name, strings.Join(paths, ", "), k.app, k.format)
		if f, ok := formats[k.format]; ok && f.Multiline != "" {
			fmt.Fprintf(&b, "multiline_start = %s\n", f.Multiline)
		}
	}
	return b.String()
}
