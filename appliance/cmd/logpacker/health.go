package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// cmdHealth is `logpacker health`: GET /readyz of a running node, its answer
// printed; nil (exit 0) only for 200. The container image's HEALTHCHECK
// runs it (a FROM-scratch image has no curl), and so can any monitor.
func cmdHealth(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	c := fs.String("c", "", "server.ini of the node (its [listen] http); default: the embedded defaults")
	apiURL := fs.String("api", "", "the node's API base URL (e.g. http://127.0.0.1:8080); overrides -c")
	timeout := fs.Duration("timeout", 5*time.Second, "give up waiting for the answer after this long")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	base, _, err := nodeAPI("health", *c, *apiURL, "-") // /readyz needs no token
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: *timeout}).Get(strings.TrimRight(base, "/") + "/readyz")
	if err != nil {
		return fmt.Errorf("health: is the node running? %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s/readyz answered %s: %s", base, resp.Status, msg)
	}
	fmt.Fprintln(out, msg)
	return nil
}
