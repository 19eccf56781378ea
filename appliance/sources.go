package appliance

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/ini.v1"

	"logpacker/appliance/internal/inifile"
	"logpacker/appliance/option"
	"logpacker/appliance/scan"
	"logpacker/appliance/source/filetail"
	"logpacker/protocol"
)

// Sources: the [source.NAME] sections, inputs that are not listeners
// (type = file: package appliance/source/filetail). newSource is the one
// switch on a source's type. They reload live: a section added starts,
// one removed stops (after the batch it is emitting), one changed is
// stopped and started again with its new keys, from its checkpoint.

// SourceConfig is one [source.NAME] section.
type SourceConfig struct {
	Name string // NAME: the state file is data_dir/sources/NAME.json, events' source field
	Type string // file
	File filetail.Settings
}

var sourceTypeNames = []string{"file"}

// applySource reads one [source.NAME] section.
func applySource(cfg *Config, file string, lines inifile.Lines, sec *ini.Section) error {
	sname := sec.Name()
	name := strings.TrimPrefix(sname, "source.")
	bad := func(key string, err error) error {
		ln := lines.Sections[sname]
		if key != "" {
			ln = lines.Line(sname, key)
		}
		return &ConfigError{File: file, Line: ln, Section: sname, Key: key, Err: err}
	}
	if err := checkSourceName(name); err != nil {
		return bad("", err)
	}
	sc := &SourceConfig{Name: name, File: filetail.DefaultSettings()}
	k, err := sec.GetKey("type")
	if err != nil {
		return bad("", fmt.Errorf("type is required (%s)", strings.Join(sourceTypeNames, ", ")))
	}
	sc.Type = strings.TrimSpace(k.Value())
	if !slices.Contains(sourceTypeNames, sc.Type) {
		return bad("type", fmt.Errorf("unknown source type %q (known: %s)", sc.Type, strings.Join(sourceTypeNames, ", ")))
	}
	for _, k := range sec.Keys() {
		kn, v := k.Name(), strings.TrimSpace(k.Value())
		if kn == "type" {
			continue
		}
		if err := sc.File.Set(kn, v); err != nil {
			return bad(kn, err)
		}
		if kn == "format" && v != "" {
			if _, ok := scan.LookupFormat(v); !ok {
				return bad(kn, fmt.Errorf("unknown format %q (known: %s)", v, strings.Join(scan.Formats(), ", ")))
			}
		}
	}
	if err := sc.File.Validate(); err != nil {
		var ke *option.KeyError
		if errors.As(err, &ke) {
			return bad(ke.Key, ke.Err)
		}
		return bad("", err)
	}
	cfg.Sources = append(cfg.Sources, sc)
	return nil
}

// checkSourceName: NAME becomes a file name and the events' source field.
func checkSourceName(n string) error { return option.Name("source", n) }

// Source returns the [source.NAME] section called name, or nil.
func (c *Config) Source(name string) *SourceConfig {
	for _, s := range c.Sources {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func (c *Config) setSource(name string, s *SourceConfig) {
	i := slices.IndexFunc(c.Sources, func(x *SourceConfig) bool { return x.Name == name })
	switch {
	case i < 0 && s != nil:
		c.Sources = append(c.Sources, s)
	case i >= 0 && s == nil:
		c.Sources = slices.Delete(c.Sources, i, i+1)
	case i >= 0:
		c.Sources[i] = s
	}
}

// recoverSources reads the WAL's newest records (before anything is
// appended) for what each file source emitted last: a kill between an
// emit and the checkpoint after it leaves the checkpoint behind the WAL.
func (n *Node) recoverSources() map[string]*filetail.Recovered {
	out := map[string]*filetail.Recovered{}
	if len(n.cfg.Sources) == 0 {
		return out
	}
	for _, s := range n.cfg.Sources {
		out[s.Name] = &filetail.Recovered{}
	}
	var ev protocol.Event
	err := n.wal.ScanRecent(4, func(_ uint64, data []byte) error {
		if ev.UnmarshalBinary(data) != nil || ev.Transport != "file" {
			return nil
		}
		if r := out[ev.Fields[filetail.FieldSource]]; r != nil {
			r.Note(ev.Fields, ev.Received)
		}
		return nil
	})
	if err != nil {
		n.log.Warn("source/file: reading the WAL's newest records failed; a source killed right after an emit may send its last batch again", "err", err)
	}
	return out
}

// openSources makes every [source.NAME] (New; Start runs them).
func (n *Node) openSources() error {
	rec := n.recoverSources()
	for _, sc := range n.cfg.Sources {
		s, err := n.newSource(sc, rec[sc.Name])
		if err != nil {
			return err
		}
		n.addSource(s)
	}
	return nil
}

// newSource is the one switch on a source's type.
func (n *Node) newSource(sc *SourceConfig, rec *filetail.Recovered) (*namedSource, error) {
	switch sc.Type {
	case "file":
		f := sc.File
		o := filetail.Options{Name: sc.Name, Paths: f.Paths, Exclude: f.Exclude, App: f.App, Tags: f.Tags,
			StateFile: filepath.Join(n.cfg.Node.DataDir, "sources", sc.Name+".json"), MultilineTimeout: f.MultilineTimeout,
			MaxLineBytes: f.MaxLineBytes, ReadFromEnd: f.ReadFrom == "end", PollInterval: f.PollInterval,
			RotateWait: f.RotateWait, BatchSize: f.BatchSize, Logger: n.log}
		if rec != nil {
			o.Recovered = *rec
		}
		if f.MultilineStart != "" {
			o.MultilineStart = regexp.MustCompile(f.MultilineStart)
		}
		if f.Format != "" {
			loc := time.Local
			if f.TZ != "" {
				loc, _ = time.LoadLocation(f.TZ)
			}
			fm, _ := scan.LookupFormat(f.Format)
			o.Parse = fm.Parser(loc)
		}
		src, err := filetail.New(o)
		if err != nil {
			return nil, fmt.Errorf("node: [source.%s]: %w", sc.Name, err)
		}
		return &namedSource{name: "source." + sc.Name, src: src, stop: src.Stop, coll: src}, nil
	}
	return nil, fmt.Errorf("node: [source.%s]: no source type %q", sc.Name, sc.Type)
}

// sourceStopGrace bounds how long a reload waits for a source it stops to
// finish its emit; then its ctx is cancelled.
const sourceStopGrace = 10 * time.Second

// stopSource stops s (a reload): after its current emit, or cancelled
// after sourceStopGrace.
func (n *Node) stopSource(s *namedSource) {
	if s.stop != nil {
		s.stop()
	}
	if s.done != nil {
		select {
		case <-s.done:
		case <-time.After(sourceStopGrace):
			s.cancel()
			<-s.done
		}
	}
	if s.cancel != nil {
		s.cancel()
	}
	if s.coll != nil {
		n.reg.Unregister(s.coll)
	}
	n.sources = slices.DeleteFunc(n.sources, func(x *namedSource) bool { return x == s })
	n.log.Info("reload: input stopped", "input", s.name)
}

// reloadSources applies the changed [source.NAME] sections: removed ones
// stopped, changed ones stopped and started again (from their
// checkpoints), new ones started.
func (n *Node) reloadSources(cfg *Config, keys map[string][]string, fail func(string, []string, error)) {
	var names []string
	for sec := range keys {
		if name, ok := strings.CutPrefix(sec, "source."); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		sec := "source." + name
		nu := cfg.Source(name)
		var run *namedSource
		for _, s := range n.sources {
			if s.name == sec {
				run = s
			}
		}
		// the old one stops first: the new one reads the checkpoint it leaves
		if run != nil {
			n.stopSource(run)
		}
		if nu != nil {
			s, err := n.newSource(nu, nil)
			if err != nil {
				fail(sec, keys[sec], err)
				if old := n.cfg.Source(name); old != nil && run != nil {
					if s, err = n.newSource(old, nil); err == nil {
						n.addSource(s)
						n.startSource(s)
						n.log.Info("reload: input started again with its old settings", "input", sec)
					}
				}
				continue
			}
			n.addSource(s)
			n.startSource(s)
			n.log.Info("reload: input started", "input", sec)
		}
		n.cfg.setSource(name, nu)
		for _, k := range keys[sec] {
			n.cfg.adopt(cfg, sec, k)
		}
	}
}
