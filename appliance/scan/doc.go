// Package scan finds the logs of known software on a host (`logpacker
// scan`) and holds the parser table that reads their formats.
//
// # The app table (apps.go)
//
// Apps lists each known app (MySQL, MariaDB, PostgreSQL, MongoDB,
// Cassandra, HBase, Oracle, Hadoop, VoltDB, RabbitMQ, Redis, Memcached,
// Solr, Elasticsearch, Sphinx/Manticore, Aerospike, Docker, GitLab,
// sendmail, Postfix, Exim, HAProxy, Supervisor, Zabbix, Jira, Jenkins,
// TeamCity, pm2, nginx, Apache, Tomcat, Puppet, Chef, auth.log, dmesg,
// syslog) with path rules (globs, relative to the root, for the usual
// Debian/Ubuntu and RHEL locations) and content sniffers (a regexp that
// a typical line matches), each naming the format that parses it. The
// order of the table decides ties: the more specific app first (MariaDB
// before MySQL, which share /var/log/mysql/error.log on Debian; the mail
// servers before syslog).
//
// # Scanning (scan.go)
//
// Scan evaluates every path rule's glob under the root, then walks
// var/log, opt and srv (four levels) for files no rule names. For each
// regular file it reads the first 16 KiB (binary files, with a NUL, are
// skipped), sniffs up to 20 lines, and keeps the app whose sniffer matches
// the most lines. A file a rule names is that rule's app unless its
// content is clearly another app's; a file no rule names is a hit only by
// content. Every hit says why ("path matches …", "content: 5 of 5 lines
// look like redis (redis)", "empty"). Rotated and compressed files
// (app.log.1, .gz, -20261202) are never hits: a file source follows the
// live name and reads the rotated ones itself. Config renders the hits as
// [source.NAME] sections (type = file, paths, app, format, and
// multiline_start where the format has events of several lines).
//
// # Formats (parse.go)
//
// A Format's parser reads one event's text into the event: Time,
// Severity, and ProcID/Host/App where the format carries them. It keeps
// Message as the whole text (so nothing is lost), except syslog files
// (the syslog parser's message, with host and app taken out, as the
// syslog listeners do) and Docker json-file lines (the log field). It
// never fails: text not in the format gets ParseErr and keeps its
// defaults (user.notice). Times without a zone are in the location
// given (the node's local time by default). Level words map to
// severities the same way for every format (severityOf): FATAL/SEVERE →
// crit, ERROR → err, WARN → warning, NOTE/NOTICE → notice, INFO/LOG →
// info, DEBUG/TRACE → debug; access logs map 5xx → err, 4xx → warning.
//
// Tests: a golden file per app (testdata/apps/NAME.log → NAME.golden, go
// test -run TestGolden -update rewrites them), a fake root holding every
// app's sample at a realistic path (all found, with the right app and
// format), the real / of the machine, malformed input for every format,
// and FuzzParse over all of them.
package scan
