// Command logpacker is the one binary every logpacker node runs. Its commands
// (the same list as its usage text and README's "Commands"; a test keeps the
// three equal):
//
//	logpacker run [-c server.ini]      run a node (embedded defaults without -c); SIGTERM drains,
//	                                   SIGHUP reopens output files and re-reads -c (what it cannot
//	                                   apply live is logged: "restart needed: [section] key")
//	logpacker check [-c server.ini]    validate a configuration and its notify.ini (errors name
//	                                   file, line and key); print "FILE: ok" for each
//	logpacker notify test [-c server.ini] RULE
//	                                   send a test notification through each provider of notify.ini's
//	                                   RULE to each of its groups' recipients, once; print each send;
//	                                   exit 1 unless every one went through
//	logpacker parse [-tz ZONE] [-max-size N] [-now RFC3339]
//	                                   read syslog (lines or octet-counted frames) on stdin, print
//	                                   one JSON event per line: see how a node reads your devices
//	logpacker wal verify DIR           check every WAL record (CRC, framing, order); exit 1 if any
//	                                   is damaged (DIR: data_dir/wal, or data_dir)
//	logpacker wal dump [-node ID] DIR  print every intact WAL record as a JSON event (IDs: the node
//	                                   from -node or data_dir/node_id, NODE.EPOCH:INDEX); exit 1
//	                                   naming any damage
//	logpacker wal repair DIR           what run does at open, with the node stopped: remove leftovers,
//	                                   cut a torn or zero-filled tail, rewrite damaged segments
//	                                   (originals to quarantine/), move cursors back; print what was
//	                                   cut, records kept, last index
//	logpacker cert ca [-dir D] [-name N] [-days N]
//	                                   create a cluster CA for node links (D/ca.crt, D/ca.key)
//	logpacker cert node -id NODE [-ca D] [-host H,H…] [-dir OUT] [-days N]
//	                                   create a node certificate for mutual TLS, signed by the CA
//	                                   in D (OUT/node.crt, OUT/node.key; OUT defaults to NODE)
//	logpacker send -to HOST:PORT[,…] [-ca F -cert F -key F] [-count N -size B] [-rate R]
//	               [-batch E] [-compress=false] [-retries N] [FILE]
//	                                   deliver lines from FILE or stdin (or N generated messages) to
//	                                   a node's relay listener, acknowledged; exit 1 unless all were
//	logpacker status [-c server.ini | -api URL] [-token T] [-json]
//	                                   a running node's parents (discovery answer, link up now, the
//	                                   parent's cluster), cluster members (health, load), WAL size
//	                                   and lag, the keys its last reload left for a restart, from
//	                                   its GET /api/v1/status
//	logpacker health [-c server.ini | -api URL] [-timeout D]
//	                                   exit 0 if a running node is ready (its GET /readyz answers
//	                                   200), else print why and exit 1: the container image's
//	                                   HEALTHCHECK
//	logpacker defaults                 print the embedded server.ini
//	logpacker version                  print the version
//	logpacker help                     print this list (COMMAND -h: that command's flags)
//
// Without a command, or with an unknown one, it prints this list and exits 2.
package main
