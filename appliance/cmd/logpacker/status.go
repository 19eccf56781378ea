package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"logpacker/appliance"
	"logpacker/protocol/wire"
)

// cmdStatus asks a running node for GET /api/v1/status and prints it: the
// node's parents (discovery answer, link up now, the parent's cluster view),
// its cluster members with health and load, its WAL size and each cursor's
// lag, and what the last reload left for a restart or could not do.
func cmdStatus(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	c, apiURL := nodeFlags(fs, "its [listen] http and [api] token")
	token := fs.String("token", "", "bearer token ([api] token); default: from -c")
	asJSON := fs.Bool("json", false, "print the JSON the node answered")
	if err := fs.Parse(args); err != nil {
		return err
	}
	base, tok, err := nodeAPI("status", *c, *apiURL, *token)
	if err != nil {
		return err
	}
	body, err := apiGet("status", base, tok, "/api/v1/status", 10*time.Second, 16<<20)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := out.Write(body)
		return err
	}
	var s appliance.Status
	if err := json.Unmarshal(body, &s); err != nil {
		return fmt.Errorf("status: the node's answer does not decode: %w", err)
	}
	printStatus(out, &s)
	return nil
}

// cmdHealth is `logpacker health`: GET /readyz of a running node, its answer
// printed; nil (exit 0) only for 200. The container image's HEALTHCHECK
// runs it (a FROM-scratch image has no curl), and so can any monitor.
func cmdHealth(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	c, apiURL := nodeFlags(fs, "its [listen] http")
	timeout := fs.Duration("timeout", 5*time.Second, "give up waiting for the answer after this long")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	base, _, err := nodeAPI("health", *c, *apiURL, "-") // /readyz needs no token
	if err != nil {
		return err
	}
	body, err := apiGet("health", base, "", "/readyz", *timeout, 64<<10)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, strings.TrimSpace(string(body)))
	return nil
}

// nodeFlags are the flags that find a running node's API: -c (the
// configuration file: read for what) and -api (its base URL).
func nodeFlags(fs *flag.FlagSet, what string) (c, api *string) {
	c = fs.String("c", "", "server.ini of the node ("+what+"); default: the embedded defaults")
	api = fs.String("api", "", "the node's API base URL (e.g. http://127.0.0.1:8080); overrides -c")
	return c, api
}

// nodeAPI is the base URL and token of a running node's API: base and tok
// when given, else from the configuration file c (the embedded defaults
// when c is empty): its [listen] http, on loopback when it listens on every
// address, and its [api] token.
func nodeAPI(cmd, c, base, tok string) (string, string, error) {
	if base != "" && tok != "" {
		return base, tok, nil
	}
	cfg, err := appliance.LoadConfig(c)
	if err != nil {
		return "", "", err
	}
	if base == "" {
		if cfg.Listen.HTTP == "" {
			return "", "", fmt.Errorf("%s: [listen] http is off in %s: nothing to ask (give -api)", cmd, cfg.File)
		}
		host, port, _ := net.SplitHostPort(cfg.Listen.HTTP)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		base = "http://" + net.JoinHostPort(host, port)
	}
	if tok == "" {
		tok = cfg.API.Token
	}
	return base, tok, nil
}

// apiGet is GET base+path with the bearer token tok (none when empty): the
// body, at most limit bytes, when the node answers 200; otherwise an error
// that says what it answered (cmd names the command).
func apiGet(cmd, base, tok, path string, timeout time.Duration, limit int64) ([]byte, error) {
	req, err := http.NewRequest("GET", strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: is the node running? %w", cmd, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s%s answered %s: %s", cmd, base, path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func printStatus(out io.Writer, s *appliance.Status) {
	fmt.Fprintf(out, "node %s at %s\n", s.Node, s.Time.Format(time.RFC3339))
	if u := s.Upstream; u != nil {
		fmt.Fprintf(out, "\nparents (%s)\n", u.Spec)
		if u.Parent != "" {
			fmt.Fprintf(out, "  link up: %s (node %s)\n", u.Parent, u.ParentID)
		} else {
			fmt.Fprintf(out, "  link up: none\n")
		}
		stale := ""
		if u.Discovery.Stale {
			stale = ", STALE: the last lookup failed, using the last good answer"
		}
		fmt.Fprintf(out, "  discovery: %d lookups, %d failed%s\n", u.Discovery.Lookups, u.Discovery.LookupFailures, stale)
		if u.Err != "" {
			fmt.Fprintf(out, "  error: %s\n", u.Err)
		}
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  target\tname\tpriority\tweight")
		for _, t := range u.Targets {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\n", t.Addr, t.Name, t.Priority, t.Weight)
		}
		tw.Flush()
		if len(u.View) > 0 {
			fmt.Fprintf(out, "  the parent's cluster:\n")
			tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  member\trelay\tstate\tspare\tcpu user%\tcpu sys%\tload1")
			for _, m := range u.View {
				a := map[string]string{}
				for _, x := range m.Attrs {
					a[x.Key] = x.Value
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%.2f\t%s\t%s\t%s\n", m.Node, m.Addr, m.State, m.Spare,
					a[wire.AttrCPUUser], a[wire.AttrCPUSystem], a[wire.AttrLoad1])
			}
			tw.Flush()
		}
	} else {
		fmt.Fprintf(out, "\nparents: none (a root)\n")
	}
	if len(s.Cluster) > 0 {
		fmt.Fprintf(out, "\ncluster members\n")
		tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  member\tgossip\trelay\tstate\tspare\tcpu user%\tcpu sys%\tmem free\tdisk free\tload1\tupdated")
		for _, m := range s.Cluster {
			name := m.Node
			if m.Local {
				name += " (this node)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%.2f\t%.1f\t%.1f\t%s\t%s\t%.2f\t%s\n", name, m.Gossip, m.RelayAddr, m.State,
				m.Load.Spare(), m.Load.CPUUser, m.Load.CPUSystem, mib(m.Load.MemFree), mib(m.Load.DiskFree), m.Load.Load1,
				m.Updated.Format(time.TimeOnly))
		}
		tw.Flush()
	}
	fmt.Fprintf(out, "\nWAL: %s in %d segments, last index %d\n", mib(uint64(max(s.WAL.Bytes, 0))), s.WAL.Segments, s.WAL.Last)
	names := make([]string, 0, len(s.WAL.Lag))
	for n := range s.WAL.Lag {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "  %s: %d records behind\n", n, s.WAL.Lag[n])
	}
	if len(s.RestartNeeded) == 0 {
		fmt.Fprintf(out, "\nrestart needed: no (the node runs what its configuration file says)\n")
	} else {
		fmt.Fprintf(out, "\nrestart needed: the configuration file changed these, a restart applies them\n")
		for _, k := range s.RestartNeeded {
			fmt.Fprintf(out, "  %s\n", k)
		}
	}
	if len(s.ReloadErrors) > 0 {
		fmt.Fprintf(out, "\nthe last reload could not apply (the running settings stayed):\n")
		for _, e := range s.ReloadErrors {
			fmt.Fprintf(out, "  %s\n", e)
		}
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
