package appliance

import (
	"cmp"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"logpacker/appliance/match"
)

// Reload: what a changed server.ini changes in a running node. The running
// Config and the new one are compared key by key, as read (diffConfig);
// what can be applied live is, and the running Config takes those values;
// whatever still differs afterwards waits for a restart, and says so.

// ConfigChange is one key whose value differs between two configurations:
// set in one and not in the other, or set to another value.
type ConfigChange struct{ Section, Key string }

func (c ConfigChange) String() string { return "[" + c.Section + "] " + c.Key }

// diffConfig lists the keys whose values differ between a and b as read
// (the embedded defaults, then the file: a key the file drops goes back to
// its default), sorted by section and key. Values are compared as text,
// trimmed: spacing around "=" and comments are no change.
func diffConfig(a, b *Config) []ConfigChange {
	var out []ConfigChange
	for sec, keys := range a.values {
		for k, v := range keys {
			if w, ok := b.values[sec][k]; !ok || w != v {
				out = append(out, ConfigChange{sec, k})
			}
		}
	}
	for sec, keys := range b.values {
		for k := range keys {
			if _, ok := a.values[sec][k]; !ok {
				out = append(out, ConfigChange{sec, k})
			}
		}
	}
	slices.SortFunc(out, func(x, y ConfigChange) int {
		return cmp.Or(strings.Compare(x.Section, y.Section), strings.Compare(x.Key, y.Key))
	})
	return out
}

// adopt gives c b's value of [section] key (or drops it, as b has none):
// the node now runs with it.
func (c *Config) adopt(b *Config, section, key string) {
	v, ok := b.values[section][key]
	if !ok {
		delete(c.values[section], key)
		return
	}
	if c.values[section] == nil {
		c.values[section] = map[string]string{}
	}
	c.values[section][key] = v
}

// reloadReport is what the last reload left undone, for /api/v1/status.
type reloadReport struct {
	restart []string // "[wal] fsync": changed in the file, applied at the next start
	errors  []string // what it tried and could not do, or why the file did not load
}

// outputStopGrace bounds how long a reload waits for an output it stops to
// finish the batch it is writing; then that batch is cancelled (it is read
// again from the cursor's last commit by the output opened next).
const outputStopGrace = 10 * time.Second

// Reload applies cfg, a new reading of the configuration file, to the
// running node (after Start), as far as that is possible live:
//
//   - an output's match keys ([output.NAME] and [relay]): its matcher is
//     swapped, from its next batch on;
//   - a new [output.NAME]: opened, with its cursor, and started; a removed
//     one (or one turned off): its consumer stopped after the batch it is
//     writing, its sink closed and its cursor dropped;
//   - any other key of an [output.NAME] (path, dsn, batch_size, type, …):
//     the output is reopened on its cursor: stopped as above, its sink
//     closed, the new one opened and started from the cursor's last commit.
//     If the new settings do not open, the old ones are opened again and
//     the error reported. Store outputs are the exception (the search API
//     holds the store): only their match keys reload;
//   - a [listen] address other than relay: the new one bound, then the old
//     one stopped (it emits what it had read); a failed bind keeps the old
//     listener and is reported. Listeners whose address did not change keep
//     their sockets;
//   - a [source.NAME] added: started; removed: stopped after the batch it
//     is emitting (its checkpoint stays, so adding it back resumes it);
//     changed: stopped, then started with the new keys from its
//     checkpoint (a section that does not open is reported and the old
//     source keeps running);
//   - [cluster] nodes: the new ones are joined (a removed one is not made
//     to leave: stop that node).
//
// Every other change is logged as "restart needed: [section] key" and
// listed in /api/v1/status (restart_needed) until the node runs what the
// file says.
func (n *Node) Reload(cfg *Config) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.octx == nil || !n.ready.Load() {
		n.log.Warn("reload: the node is not running; nothing applied")
		return
	}
	changes := diffConfig(n.cfg, cfg)
	keys := map[string][]string{} // section → its changed keys
	for _, c := range changes {
		keys[c.Section] = append(keys[c.Section], c.Key)
	}
	failed := map[ConfigChange]bool{}
	var errs []string
	fail := func(section string, ks []string, err error) {
		n.log.Error("reload: not applied; the running settings stay", "section", section, "keys", ks, "err", err)
		errs = append(errs, fmt.Sprintf("[%s] %s: %v", section, strings.Join(ks, ", "), err))
		for _, k := range ks {
			failed[ConfigChange{section, k}] = true
		}
	}
	n.reloadOutputs(cfg, keys, fail)
	n.reloadSources(cfg, keys, fail)
	n.reloadRelayMatch(cfg, keys["relay"])
	n.reloadListeners(cfg, keys["listen"], fail)
	n.reloadClusterNodes(cfg, keys["cluster"])
	if slices.Contains(keys["node"], "notify") { // another notify.ini
		n.cfg.Node.Notify = cfg.Node.Notify
		n.cfg.adopt(cfg, "node", "notify")
	}
	if msg := n.reloadNotifyLocked(); msg != "" {
		errs = append(errs, msg)
	}
	restart := []string{}
	for _, c := range diffConfig(n.cfg, cfg) {
		if !failed[c] {
			n.log.Warn("restart needed: " + c.String())
			restart = append(restart, c.String())
		}
	}
	n.reloaded.Store(&reloadReport{restart: restart, errors: errs})
	n.log.Info("reload done", "changed_keys", len(changes), "applied", len(changes)-len(restart)-len(failed),
		"restart_needed", len(restart), "not_applied", len(failed))
}

// ReloadFailed records that the configuration file did not load: the node
// keeps running as it is, and /api/v1/status says why (reload_errors).
func (n *Node) ReloadFailed(err error) {
	r := reloadReport{errors: []string{"the configuration does not load; the running one stays: " + err.Error()}}
	if last := n.reloaded.Load(); last != nil {
		r.restart = last.restart
	}
	n.reloaded.Store(&r)
}

// reloadOutputs applies the changed [output.NAME] sections: removed ones
// first (what they free, a file path, a new one may take), new ones last.
func (n *Node) reloadOutputs(cfg *Config, keys map[string][]string, fail func(string, []string, error)) {
	var names []string
	for sec := range keys {
		if name, ok := strings.CutPrefix(sec, "output."); ok {
			names = append(names, name)
		}
	}
	rank := func(name string) int {
		switch {
		case cfg.Output(name) == nil:
			return 0
		case n.cfg.Output(name) == nil:
			return 2
		}
		return 1
	}
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(rank(a)-rank(b), strings.Compare(a, b)) })
	for _, name := range names {
		n.reloadOutput(cfg, name, keys["output."+name], fail)
	}
}

// reloadOutput applies the changed keys of [output.NAME] (see Reload).
func (n *Node) reloadOutput(cfg *Config, name string, keys []string, fail func(string, []string, error)) {
	sec := "output." + name
	old, nu := n.cfg.Output(name), cfg.Output(name)
	run := n.runningOutput(name)
	adoptAll := func() {
		n.cfg.setOutput(name, nu)
		for _, k := range keys {
			n.cfg.adopt(cfg, sec, k)
		}
	}
	if old != nil && nu != nil && !slices.ContainsFunc(keys, func(k string) bool { return !match.IsKey(k) }) {
		if run != nil {
			run.SetMatch(&nu.Match)
			n.log.Info("reload: output selects events", "output", run.Name(), "match", nu.Match.String())
		}
		adoptAll()
		return
	}
	if old != nil && old.kind.fixed || nu != nil && nu.kind.fixed {
		return // restart needed
	}
	wanted := nu != nil && nu.On
	if wanted {
		if err := n.ownsConflict(nu, run); err != nil {
			fail(sec, keys, err)
			return
		}
	}
	if run != nil {
		n.stopOutput(run)
	}
	if !wanted {
		if run != nil {
			run.Unregister(n.reg)
		}
		if slices.Contains(n.wal.Cursors(), "output."+name) {
			n.log.Info("reload: output removed; dropping its WAL cursor", "output", "output."+name)
			if err := n.wal.DropCursor("output." + name); err != nil {
				n.log.Error("reload: drop cursor", "output", "output."+name, "err", err)
			}
		}
		adoptAll()
		return
	}
	out, err := n.openOutput(nu)
	if err != nil {
		fail(sec, keys, err)
		if run != nil { // back to the settings it ran with
			if out, err = n.openOutput(old); err != nil {
				n.log.Error("reload: the output's old settings do not open either; it is down until a restart or a reload that opens it",
					"output", "output."+name, "err", err)
				return
			}
			n.startOutput(out)
			n.outputs = append(n.outputs, out)
			n.log.Info("reload: output reopened with its old settings", "output", "output."+name)
		}
		return
	}
	n.startOutput(out)
	n.outputs = append(n.outputs, out)
	what := "reload: output opened"
	if run != nil {
		what = "reload: output reopened with its new settings"
	}
	n.log.Info(what, "output", "output."+name, "type", nu.Type)
	adoptAll()
}

// runningOutput is the running output called name ("relay" included), or nil.
func (n *Node) runningOutput(name string) *output {
	for _, o := range n.outputs {
		if o.Name() == "output."+name {
			return o
		}
	}
	return nil
}

// stopOutput stops o's consumer after the batch it is writing (waiting at
// most outputStopGrace), closes its sink and takes it from the running
// outputs. Its cursor stays.
func (n *Node) stopOutput(o *output) {
	o.Stop()
	if o.done != nil {
		select {
		case <-o.done:
		case <-time.After(outputStopGrace):
			n.log.Warn("reload: output did not finish its batch in time; cancelling it (it is read again from the last commit)",
				"output", o.Name(), "waited", outputStopGrace)
			o.cancel()
			<-o.done
		}
		o.cancel()
	}
	if o.coll != nil {
		n.reg.Unregister(o.coll)
	}
	if err := o.Sink().Close(); err != nil {
		n.log.Warn("reload: close output", "output", o.Name(), "err", err)
	}
	n.outputs = slices.DeleteFunc(n.outputs, func(x *output) bool { return x == o })
	n.log.Info("reload: output stopped", "output", o.Name(), "committed", o.Committed())
}

// ownsConflict reports a running output other than except that owns what o
// must own alone (validateOutputs checks this within one file; a reload
// that could not reopen an output may leave it on its old path).
func (n *Node) ownsConflict(o *OutputConfig, except *output) error {
	key, p := n.cfg.ownedPath(o)
	if key == "" {
		return nil
	}
	for _, r := range n.outputs {
		if r == except || r.cfg == nil || r.cfg.Type != o.Type {
			continue
		}
		if _, q := n.cfg.ownedPath(r.cfg); q == p {
			return fmt.Errorf("%s %s is also the %s of the running [output.%s]", key, p, key, r.cfg.Name)
		}
	}
	return nil
}

// setOutput makes o the [output.NAME] section called name (nil: none).
func (c *Config) setOutput(name string, o *OutputConfig) {
	i := slices.IndexFunc(c.Outputs, func(x *OutputConfig) bool { return x.Name == name })
	switch {
	case i < 0 && o != nil:
		c.Outputs = append(c.Outputs, o)
	case i >= 0 && o == nil:
		c.Outputs = slices.Delete(c.Outputs, i, i+1)
	case i >= 0:
		c.Outputs[i] = o
	}
}

// reloadRelayMatch swaps the relay output's matcher for [relay]'s match keys.
func (n *Node) reloadRelayMatch(cfg *Config, keys []string) {
	changed := false
	for _, k := range keys {
		if match.IsKey(k) {
			n.cfg.adopt(cfg, "relay", k)
			changed = true
		}
	}
	if run := n.runningOutput("relay"); changed && run != nil {
		run.SetMatch(&cfg.Relay.Match)
		n.log.Info("reload: output selects events", "output", run.Name(), "match", cfg.Relay.Match.String())
	}
}

// reloadListeners moves the listeners whose [listen] address changed. The
// relay listener is not moved live: its address is what cluster members
// publish to their children (restart needed).
func (n *Node) reloadListeners(cfg *Config, keys []string, fail func(string, []string, error)) {
	for _, k := range keys {
		cur := n.cfg.listenAddr(k)
		if cur == nil || k == "relay" {
			continue
		}
		addr := *cfg.listenAddr(k)
		rebind := n.rebindSource
		if k == "http" {
			rebind = n.rebindHTTP
		}
		if err := rebind(k, addr); err != nil {
			fail("listen", []string{k}, err)
			continue
		}
		*cur = addr
		n.cfg.adopt(cfg, "listen", k)
	}
}

// rebindSource binds the input called name at addr ("": none), then stops
// the one it replaces, which emits what it had read. New before old: a
// failed bind loses nothing; the price is that another address on the
// same port (127.0.0.1:514 → 0.0.0.0:514) does not bind live.
func (n *Node) rebindSource(name, addr string) error {
	var s *namedSource
	if addr != "" {
		var err error
		if s, err = n.bindListener(name, addr); err != nil {
			return err
		}
	}
	if i := slices.IndexFunc(n.sources, func(s *namedSource) bool { return s.name == name }); i >= 0 {
		old := n.sources[i]
		old.cancel()
		if old.coll != nil {
			n.reg.Unregister(old.coll)
		}
		n.sources = slices.Delete(n.sources, i, i+1)
		n.log.Info("reload: listener stopped", "input", name, "addr", old.addr.String())
	}
	if s != nil {
		n.addSource(s)
		n.startSource(s)
	}
	return nil
}

// rebindHTTP serves the API at addr ("": nowhere) instead of where it was.
// Connections already open on the old address are served to their end.
func (n *Node) rebindHTTP(_, addr string) error {
	var ln net.Listener
	if addr != "" {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("node: listen http %s: %w", addr, err)
		}
	}
	if n.httpLn != nil {
		n.httpLn.Close()
		n.log.Info("reload: listener stopped", "input", "http", "addr", n.httpLn.Addr().String())
	}
	n.httpLn = ln
	if ln != nil {
		n.serveHTTP(ln)
	}
	return nil
}

// ownedPath is the key and the cleaned path (against c's data_dir) that o
// must own alone among outputs of its type; "" when none.
func (c *Config) ownedPath(o *OutputConfig) (key, path string) {
	if o.kind.owns == nil {
		return "", ""
	}
	key, p := o.kind.owns()
	return key, filepath.Clean(c.DataPath(p))
}
