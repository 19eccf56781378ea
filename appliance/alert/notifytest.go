package alert

import (
	"context"
	"fmt"
	"time"

	"logpacker/protocol"
)

// TestResult is one send of a test notification.
type TestResult struct {
	Group, Provider, Target string
	Err                     error
}

// SendTest sends a test notification for rule (logpacker notify test RULE)
// through each of its providers to each target of each of its groups,
// once, without retries, and reports every send. It uses no state: a node
// may be running meanwhile.
func SendTest(ctx context.Context, cfg *Config, rule, node string) ([]TestResult, error) {
	r := cfg.Rule(rule)
	if r == nil {
		var names []string
		for _, x := range cfg.Rules {
			names = append(names, x.Name)
		}
		return nil, fmt.Errorf("notify.ini %s has no rule %q (rules: %v)", cfg.File, rule, names)
	}
	now := time.Now()
	ev := protocol.Event{Received: now, Time: now, Severity: protocol.SevErr, Host: node, App: "logpacker",
		Message: "logpacker notify test: this line stands for the matched events"}
	var out []TestResult
	for _, g := range r.GroupsOf() {
		a := newAcc(r.Name, g, now, r.Interval.After(now))
		a.fold(&ev, 1)
		d := a.digest(node, r.Top)
		d.ID = "test." + d.ID
		d.Test = true
		for _, k := range r.Providers {
			for _, t := range cfg.recipients(k, g) {
				err := send(ctx, cfg.Providers, k, d, t)
				out = append(out, TestResult{Group: g, Provider: k, Target: t, Err: err})
			}
		}
	}
	return out, nil
}
