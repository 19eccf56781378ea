package appliance

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/ini.v1"

	"logpacker/appliance/api"
	"logpacker/appliance/internal/inifile"
	"logpacker/appliance/match"
	"logpacker/appliance/option"
	"logpacker/appliance/pipeline"
	"logpacker/appliance/sink/elastic"
	"logpacker/appliance/sink/file"
	"logpacker/appliance/sink/mysql"
	"logpacker/appliance/sink/victorialogs"
	"logpacker/appliance/store"
	"logpacker/protocol"
)

// Outputs: the [output.NAME] sections. Each output type is a package whose
// Options parse and check the type's own keys (Set, Validate); the node
// reads the keys every output has (type, batch_size, flush_interval where
// the type takes it, the match keys) and opens the sink. outputKind below
// is the one switch on the type: adding an output type is a package and a
// case there.

// OutputOptions are an output package's options: Set parses one key of its
// type (an unknown key is an error wrapping option.ErrUnknownKey), Validate
// checks a section once its keys are read.
type OutputOptions interface {
	Set(key, value string) error
	Validate() error
}

// OutputConfig is one [output.NAME] section.
type OutputConfig struct {
	Name  string        // NAME: the WAL cursor is output.NAME, metrics say output="NAME"
	Type  string        // file | mysql | elasticsearch | victorialogs | store ([output.file] is always file, [output.store] store)
	Match match.Matcher // which events the output gets (match keys); none set: all
	// BatchSize: events per write at most.
	BatchSize int
	// FlushInterval (store, mysql, elasticsearch): a batch that is not full
	// waits up to this long for more events; 0 sends what there is at once.
	FlushInterval time.Duration
	// Options are the type's own keys: *file.Options, *mysql.Options,
	// *elastic.Options, *victorialogs.Options or *store.Options.
	Options OutputOptions
	// On: the node opens this output (false: [output.file] path = empty,
	// or a store with enabled = false, or auto on a relay). Set by validation.
	On bool

	kind  *outputKind
	line  int            // of the section header, in the file that defined it
	lines map[string]int // key → line, for errors found after parsing
}

// outputKind is what the node knows of an output type besides its keys.
type outputKind struct {
	opts OutputOptions
	// flush: the type takes flush_interval, default flushDefault.
	flush        bool
	flushDefault time.Duration
	// on reports whether the output runs (nil: always); root: this node has
	// no [relay] upstream.
	on func(root bool) bool
	// owns is the key and the path (relative to data_dir) that no two
	// outputs of this type may share; nil: none.
	owns func() (key, path string)
	// open makes the sink.
	open func(e outputEnv) (pipeline.Sink, error)
	// fixed: the node holds the output beyond its consumer (the search API
	// holds the store), so a reload changes its match keys only.
	fixed bool
}

// outputEnv is what open gets from the node.
type outputEnv struct {
	n    *Node
	name string // the output's NAME
}

func (e outputEnv) path(p string) string { return e.n.cfg.DataPath(p) }

// outputTypeNames lists the output types, in the order errors name them.
var outputTypeNames = []string{"file", "mysql", "elasticsearch", "victorialogs", "store"}

// newOutputKind is the one switch on an output's type: its options, with
// the package's defaults, and how the node opens it. nil: no such type.
func newOutputKind(typ string) *outputKind {
	switch typ {
	case "file":
		o := file.DefaultOptions()
		return &outputKind{opts: &o,
			on:   func(bool) bool { return o.Path != "" }, // [output.file] path = : off
			owns: func() (string, string) { return "path", o.Path },
			open: func(e outputEnv) (pipeline.Sink, error) {
				oo := o
				oo.Path, oo.Logger = e.path(o.Path), e.n.log
				return file.New(oo)
			}}
	case "mysql":
		o := mysql.DefaultOptions()
		// a database wants fewer, fuller requests: wait up to 1 s to fill one
		return &outputKind{opts: &o, flush: true, flushDefault: time.Second,
			open: func(e outputEnv) (pipeline.Sink, error) {
				oo := o
				oo.Logger = e.n.log
				return mysql.New(oo)
			}}
	case "elasticsearch":
		o := elastic.DefaultOptions()
		return &outputKind{opts: &o, flush: true, flushDefault: time.Second,
			open: func(e outputEnv) (pipeline.Sink, error) {
				oo := o
				oo.Name, oo.Logger = e.name, e.n.log
				oo.DeadLetter = filepath.Join(e.n.cfg.Node.DataDir, "deadletter-"+e.name+"-items.jsonl")
				return elastic.New(oo)
			}}
	case "victorialogs":
		// A PreparedSink: batches are whatever the WAL has (no flush_interval).
		o := victorialogs.DefaultOptions()
		return &outputKind{opts: &o,
			open: func(e outputEnv) (pipeline.Sink, error) {
				oo := o
				oo.Name, oo.Logger = e.name, e.n.log
				oo.TLSCA = e.path(o.TLSCA) // relative: under data_dir
				return victorialogs.New(oo)
			}}
	case "store":
		o := store.DefaultOptions()
		return &outputKind{opts: &o, flush: true, fixed: true,
			on:   func(root bool) bool { return o.Enabled == "true" || o.Enabled == "auto" && root },
			owns: func() (string, string) { return "dir", o.Dir },
			open: func(e outputEnv) (pipeline.Sink, error) {
				oo := o
				oo.Dir, oo.Logger, oo.Origin = e.path(o.Dir), e.n.log, e.n.origin
				if oo.MinFree == 0 { // auto: write on into the WAL's reserve (see store.Options)
					oo.MinFree = max(1<<20, e.n.wal.Stats().MinFree/4)
				}
				st, err := store.Open(oo)
				if err != nil {
					return nil, err
				}
				if e.n.store == nil { // the first store output answers the search API
					e.n.store = st
				}
				return storeOutput{st, e.n.hub}, nil
			}}
	}
	return nil
}

// defaultOutputs are the outputs of the embedded defaults, by name, and
// their type: a file may change their keys, never their type.
var defaultOutputs = map[string]string{"file": "file", "store": "store"}

// Output returns the [output.NAME] section called name, or nil.
func (c *Config) Output(name string) *OutputConfig {
	for _, o := range c.Outputs {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// applyOutput reads one [output.NAME] section. A section seen before (the
// embedded [output.file]) is updated; a new one needs a type, except
// [output.file] and [output.store], whose type is fixed. Keys of another
// type are errors that say whose they are.
func applyOutput(cfg *Config, file string, lines inifile.Lines, sec *ini.Section) error {
	sname := sec.Name()
	oname := strings.TrimPrefix(sname, "output.")
	secLine := lines.Sections[sname]
	bad := func(key string, err error) error {
		ln := secLine
		if key != "" {
			ln = lines.Line(sname, key)
		}
		return &ConfigError{File: file, Line: ln, Section: sname, Key: key, Err: err}
	}
	known := strings.Join(outputTypeNames, ", ")
	if err := checkOutputName(oname); err != nil {
		return bad("", err)
	}
	typ := ""
	if k, err := sec.GetKey("type"); err == nil {
		typ = strings.TrimSpace(k.Value())
		if newOutputKind(typ) == nil {
			return bad("type", fmt.Errorf("unknown output type %q (known: %s)", typ, known))
		}
		if want, ok := defaultOutputs[oname]; ok && typ != want {
			return bad("type", fmt.Errorf("[output.%s] is always type = %s; give a %s output its own [output.NAME]", oname, want, typ))
		}
	}
	o := cfg.Output(oname)
	isNew := o == nil
	if isNew {
		if typ == "" {
			if typ = defaultOutputs[oname]; typ == "" {
				return bad("", fmt.Errorf("type is required (%s)", known))
			}
		}
		k := newOutputKind(typ)
		o = &OutputConfig{Name: oname, Type: typ, BatchSize: 2048, FlushInterval: k.flushDefault, Options: k.opts, kind: k}
		cfg.Outputs = append(cfg.Outputs, o)
	}
	o.line, o.lines = secLine, map[string]int{}
	for _, k := range sec.Keys() {
		kn, v := k.Name(), strings.TrimSpace(k.Value())
		o.lines[kn] = lines.Line(sname, kn)
		var err error
		switch {
		case kn == "type":
			continue
		case match.IsKey(kn):
			err = setMatch(&o.Match, kn, v)
		case kn == "batch_size":
			err = option.Int(&o.BatchSize, v, 1, 1<<20)
		case kn == "flush_interval" && o.kind.flush:
			err = option.FlushInterval(&o.FlushInterval, v)
		default:
			if err = o.Options.Set(kn, v); errors.Is(err, option.ErrUnknownKey) {
				err = unknownOutputKey(o.Type, kn)
			}
		}
		if err != nil {
			return bad(kn, err)
		}
	}
	// A new section must be whole; the embedded ones are (and [output.file]
	// path = turns that one off).
	if isNew && file != "<embedded>" {
		if err := o.Options.Validate(); err != nil {
			var ke *option.KeyError
			if errors.As(err, &ke) {
				return bad(ke.Key, ke.Err)
			}
			if o.kind.owns != nil {
				if key, _ := o.kind.owns(); err.Error() == key+" is required" {
					if d := cfg.Output(o.Type); d != nil && d != o && d.kind.owns != nil {
						_, p := d.kind.owns()
						err = fmt.Errorf("%w (the embedded [output.%s] already uses %q)", err, o.Type, p)
					}
				}
			}
			return bad("", err)
		}
	}
	return nil
}

// unknownOutputKey says a key is not one of typ's, and whose it is.
func unknownOutputKey(typ, key string) error {
	err := fmt.Errorf("unknown key for type = %s outputs", typ)
	for _, t := range outputTypeNames {
		if t == typ {
			continue
		}
		k := newOutputKind(t)
		if key == "flush_interval" && k.flush || !errors.Is(k.opts.Set(key, ""), option.ErrUnknownKey) {
			return fmt.Errorf("%w (it is a key of type = %s)", err, t)
		}
	}
	return err
}

// checkOutputName: NAME becomes a WAL cursor, a file name and a metric label.
func checkOutputName(n string) error {
	if err := option.Name("output", n); err != nil {
		return err
	}
	if n == "relay" {
		return fmt.Errorf("output name %q is taken by the relay output (configure it in [relay])", n)
	}
	if n == "alert" {
		return fmt.Errorf("output name %q is taken by the alerter (its WAL cursor is output.alert; configure it in notify.ini)", n)
	}
	return nil
}

// validateOutputs decides which outputs run and refuses two outputs of a
// type sharing what one must own alone: two file outputs writing one file
// would interleave batches and defeat the file output's duplicate check
// after a crash; two stores in one directory would share day files.
func (c *Config) validateOutputs() error {
	root := len(c.Relay.Upstream) == 0
	owned := map[string]string{} // type + cleaned path → output name
	for _, o := range c.Outputs {
		o.On = o.kind.on == nil || o.kind.on(root)
		key, p := c.ownedPath(o)
		if !o.On || key == "" {
			continue
		}
		if other, dup := owned[o.Type+"\x00"+p]; dup {
			hint := ""
			if o.Type == "store" {
				hint = " (turn that one off with enabled = false, or give another dir)"
			}
			return &ConfigError{File: c.File, Line: o.lines[key], Section: "output." + o.Name, Key: key,
				Err: fmt.Errorf("%s is also the %s of [output.%s]%s", p, key, other, hint)}
		}
		owned[o.Type+"\x00"+p] = o.Name
	}
	return nil
}

// openOutputs opens every output that is on, each with its own cursor and
// consumer, then the relay output, and drops the cursors of outputs no
// longer configured.
func (n *Node) openOutputs() error {
	want := map[string]bool{}
	for _, o := range n.cfg.Outputs {
		if !o.On {
			continue
		}
		out, err := n.openOutput(o)
		if err != nil {
			return err
		}
		n.outputs = append(n.outputs, out)
		want["output."+o.Name] = true
	}
	if len(n.cfg.Relay.Upstream) > 0 {
		if err := n.openRelayOutput(); err != nil {
			return err
		}
		want["output.relay"] = true
	}
	if err := n.openAlert(); err != nil {
		return err
	}
	if n.runningOutput("alert") != nil {
		want["output.alert"] = true
	}
	// An output removed from the configuration must not hold the WAL forever.
	for _, name := range n.wal.Cursors() {
		if !want[name] {
			n.log.Warn("dropping the WAL cursor of an output that is no longer configured", "cursor", name)
			if err := n.wal.DropCursor(name); err != nil {
				return fmt.Errorf("node: drop cursor %s: %w", name, err)
			}
		}
	}
	return nil
}

// openOutput opens o's sink and makes its consumer, on the cursor
// output.NAME from its last commit.
func (n *Node) openOutput(o *OutputConfig) (*output, error) {
	s, err := o.kind.open(outputEnv{n: n, name: o.Name})
	if err != nil {
		return nil, fmt.Errorf("node: output.%s: %w", o.Name, err)
	}
	out, err := n.newOutput(o.Name, s, o.BatchSize, &o.Match, o.FlushInterval, 0)
	if err != nil {
		s.Close()
		return nil, err
	}
	out.cfg = o
	if c, ok := s.(prometheus.Collector); ok { // the output's own metrics
		if err := n.reg.Register(c); err != nil {
			s.Close()
			return nil, fmt.Errorf("node: output.%s: metrics: %w", o.Name, err)
		}
		out.coll = c
	}
	return out, nil
}

// storeOutput is a store output: what it stored goes on to the API's open
// event streams.
type storeOutput struct {
	*store.Store
	hub *api.Hub
}

func (s storeOutput) Write(ctx context.Context, evs []protocol.Event) error {
	if err := s.Store.Write(ctx, evs); err != nil {
		return err
	}
	s.hub.Publish(evs)
	return nil
}

// SendIndexed is the output loop's way in (a pipeline.IndexedSink): the
// store confirms the batch at its next checkpoint; the live tail gets it now
// (it is in the WAL already).
func (s storeOutput) SendIndexed(ctx context.Context, evs []protocol.Event, idx []uint64, done func(error)) error {
	if err := s.Store.SendIndexed(ctx, evs, idx, done); err != nil {
		return err
	}
	s.hub.Publish(evs)
	return nil
}
