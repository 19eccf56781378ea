package appliance

import (
	"fmt"
	"path/filepath"
	"slices"

	"logpacker/appliance/alert"
	"logpacker/appliance/pipeline"
)

// Alerting: notify.ini (package appliance/alert). The alerter lives as long
// as the node (its outbox sends on whatever the rules become); its consumer,
// on the WAL cursor output.alert, runs only while notify.ini has rules, so
// that a node without alerting decodes nothing for it and keeps no WAL for
// it.

// alertSink is the alerter as the consumer's sink: the node, not the
// consumer, closes the alerter (a reload that removes every rule stops the
// consumer, and the outbox still sends).
type alertSink struct{ *alert.Alerter }

func (alertSink) Close() error { return nil }

// The output loop gives the alerter each event's WAL index (its replay check).
var _ pipeline.IndexedSink = alertSink{}

// LoadNotify reads the notify.ini of cfg ([node] notify): nil (no error)
// when alerting is off or the file does not exist.
func LoadNotify(cfg *Config) (*alert.Config, error) {
	p := cfg.NotifyPath()
	if p == "" {
		return nil, nil
	}
	nc, _, err := alert.LoadConfig(p)
	return nc, err
}

// openAlert loads notify.ini and opens the alerter (New): a notify.ini that
// does not load stops the node from starting, as a bad server.ini does.
func (n *Node) openAlert() error {
	nc, err := LoadNotify(n.cfg)
	if err != nil {
		return err
	}
	if nc == nil {
		n.log.Info("alerting off: no notify.ini", "path", n.cfg.NotifyPath())
	}
	return n.applyNotify(nc)
}

// applyNotify gives the alerter nc (nil: no rules), opening the alerter
// the first time, and starts or stops its consumer (n.mu held, or New).
func (n *Node) applyNotify(nc *alert.Config) error {
	if nc == nil {
		nc = &alert.Config{}
	}
	if n.alerter == nil {
		a, err := alert.New(alert.Options{Dir: filepath.Join(n.cfg.Node.DataDir, "alert"),
			DeadLetter: filepath.Join(n.cfg.Node.DataDir, "deadletter-alert.jsonl"), Node: n.id, Epoch: n.wal.Epoch(),
			Config: nc, Logger: n.log, Metrics: n.reg})
		if err != nil {
			return fmt.Errorf("node: %w", err)
		}
		n.alerter = a
		n.closers = append(n.closers, a.Close)
	} else {
		n.alerter.SetConfig(nc)
	}
	run := n.runningOutput("alert")
	switch {
	case len(nc.Rules) > 0 && run == nil:
		const name = "output.alert"
		if !slices.Contains(n.wal.Cursors(), name) {
			// A new alert cursor starts at the newest record: rules apply to
			// events accepted from now on, not to what the WAL still holds.
			cur, err := n.wal.OpenCursor(name)
			if err != nil {
				return fmt.Errorf("node: %s: %w", name, err)
			}
			if err := cur.Commit(n.wal.Stats().DurableIndex); err != nil {
				return fmt.Errorf("node: %s: %w", name, err)
			}
		}
		out, err := n.newOutput("alert", alertSink{n.alerter}, 2048, nil, 0, 0)
		if err != nil {
			return err
		}
		n.outputs = append(n.outputs, out)
		if n.octx != nil {
			n.startOutput(out)
		}
		n.log.Info("alerting on", "notify", nc.File, "rules", len(nc.Rules))
	case len(nc.Rules) == 0 && run != nil:
		n.stopOutput(run)
		run.Unregister(n.reg)
		if err := n.wal.DropCursor("output.alert"); err != nil {
			n.log.Error("alert: drop cursor", "err", err)
		}
		n.log.Info("alerting off: notify.ini has no rules")
	case run != nil:
		n.log.Info("reload: notify.ini applied", "notify", nc.File, "rules", len(nc.Rules))
	}
	return nil
}

// ReloadNotify re-reads notify.ini (it changed, or SIGHUP) and applies it:
// new and changed rules match from the next batch on. A file that does not
// load changes nothing (logged, and listed in /api/v1/status
// reload_errors).
func (n *Node) ReloadNotify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if msg := n.reloadNotifyLocked(); msg != "" {
		r := reloadReport{errors: []string{msg}}
		if last := n.reloaded.Load(); last != nil {
			r.restart = last.restart
		}
		n.reloaded.Store(&r)
	}
}

// reloadNotifyLocked applies notify.ini as it is now (n.mu held); it
// returns what went wrong, for reload_errors ("" when it applied).
func (n *Node) reloadNotifyLocked() string {
	if n.octx == nil || !n.ready.Load() {
		return ""
	}
	nc, err := LoadNotify(n.cfg)
	if err == nil {
		err = n.applyNotify(nc)
	}
	if err != nil {
		n.log.Error("reload: notify.ini does not load; keeping the running rules", "err", err)
		return "notify.ini does not load; the running rules stay: " + err.Error()
	}
	return ""
}

// Alerter is the node's alerter (tests).
func (n *Node) Alerter() *alert.Alerter { return n.alerter }
