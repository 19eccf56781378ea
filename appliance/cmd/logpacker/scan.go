package main

import (
	"flag"
	"fmt"
	"io"

	"logpacker/appliance/scan"
	"logpacker/wal/durable"
)

// cmdScan is `logpacker scan`: the logs of known software under -root, as
// [source.NAME] sections to paste into server.ini.
func cmdScan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	root := fs.String("root", "/", "the root to look under (a mounted image, a container's root)")
	write := fs.String("write", "", "write the sections to this file instead of printing them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("scan: unexpected argument %q", fs.Arg(0))
	}
	hits, err := scan.Scan(scan.Options{Root: *root, Progress: stderr})
	if err != nil {
		return err
	}
	cfg := scan.Config(hits)
	if *write == "" {
		_, err = io.WriteString(stdout, cfg)
		return err
	}
	if err := durable.WriteFileAtomic(*write, []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	fmt.Fprintf(stderr, "scan: %d logs, written to %s\n", len(hits), *write)
	return nil
}
