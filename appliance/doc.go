// Package appliance is the logpacker node: it reads server.ini, opens the
// WAL, binds the listeners, runs the outputs and serves /metrics,
// /healthz and /readyz. Only this package wires components together;
// sources (source/…) and sinks (sink/…) import protocol, never appliance.
//
// # Data path
//
// The data path (ingest, the consumer loop, the Source and Sink contracts,
// dead letters) is package appliance/pipeline; this package only wires it:
// one pipeline.Ingest for every source, one pipeline.Consumer per output.
//
// # Start and stop
//
// New does everything that can fail (config, WAL, binding, opening
// outputs) before anything runs. Start starts outputs first, then inputs,
// then HTTP. Shutdown stops in reverse: HTTP, inputs (they emit what they
// had read), a short wait for outputs to catch up, outputs, WAL.
//
// # Configuration
//
// config.go: INI via gopkg.in/ini.v1; the embedded server.ini.default is
// the single source of defaults (README shows it verbatim, a test keeps
// them equal). Errors are *ConfigError and name file, line and key. Each
// component owns its keys: the node's own sections ([node], [listen],
// [api], [relay], [cluster], [wal]) are in config.go's schema; the inputs'
// sections ([syslog], [tls], [relp]) are parsed by their packages'
// Settings.Set (componentSections); an [output.NAME] section's type-specific
// keys by its package's Options.Set and Validate; a [source.NAME]
// section's keys by filetail.Settings (sources.go: the one switch on a
// source's type, newSource). outputs.go holds the one
// switch on an output's type (newOutputKind: the options, whether the type
// takes flush_interval, when it is off, the path it owns, how to open it),
// so a new output type is one package and one case. Values are parsed with
// package appliance/option. Each Config also keeps its keys as read
// (section → key → value: the embedded defaults, then the file), which is
// what a reload compares.
//
// # Reload (reload.go)
//
// Node.Reload gets a new reading of the file (SIGHUP, or the file watch in
// main). diffConfig lists the keys whose values differ from the running
// Config's; what can be applied live is, and the running Config adopts
// those values, so whatever still differs afterwards is exactly what waits
// for a restart: logged "restart needed: [section] key" and listed in
// /api/v1/status (restart_needed) — generic, no list of restart-only keys.
// Live: [source.NAME] added (started), removed (stopped after its current
// emit; its checkpoint stays) or changed (stopped, then started with the
// new keys from its checkpoint); match keys (pipeline.Consumer.SetMatch, an atomic pointer read
// once per batch); [output.NAME] added (opened, cursor, started), removed
// (Consumer.Stop: the batch being written finishes; sink closed, cursor
// dropped) or with other keys changed (reopened on the same cursor, from
// its last commit — reopening is what an operator means by editing a path
// or a DSN; if the new settings do not open, the old ones are opened
// again); [listen] addresses except relay (the new socket bound first, the
// old listener cancelled, emitting what it read; unchanged listeners are
// not touched); [cluster] nodes. Store outputs only take match keys live:
// the search API holds the open store. What was tried and failed is
// reported (reload_errors) and tried again by the next reload.
//
// # HTTP
//
// Node.Handler is api.Handler: appliance/api/routes.go lists every path and
// applies [api] token in one place; the node gives it the store, the event
// hub, the metrics registry, readiness and the status and cluster views.
// Readiness (/readyz) is false before Start, from Shutdown on, and while
// the WAL does not take appends (wal.Log.AppendState: free disk space below
// [wal] min_free, max_size with when_full = block, failing writes), with
// the WAL's reason.
//
// # Discovery, cluster, status (cluster.go)
//
// [relay] upstream becomes a discovery.Upstreams (DNS SRV or a static list)
// given to the relay client, with [relay]'s relay.Balance. With [cluster]
// bind the node joins the roots' memberlist cluster (discovery/cluster)
// once its relay listener is bound (its address is what members publish),
// and its relay server sends children the members (ServerOptions.Members).
// Reload (see above) joins the members added to [cluster] nodes.
// GET /api/v1/status (what `logpacker status` prints) and
// GET /api/v1/cluster report parents, members, WAL size and cursor lag.
package appliance
