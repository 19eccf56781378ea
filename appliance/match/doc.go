// Package match selects events for an output (and, later, an alert rule)
// from a few config keys. It is the routing half of logpacker: every output
// reads every WAL record at its own cursor, and a Matcher decides which of
// them it is given. Events it does not select are still passed over — the
// output's cursor moves past them like past delivered ones.
//
// # Keys
//
// Each key is optional; an empty value is the same as leaving the key out.
// Every key given must match (AND); within a list, any item may (OR).
// Lists are comma-separated; spaces around items are ignored.
//
//	severity        a threshold or a set of severities:
//	                  warning            warning and everything more severe
//	                                     (warning, err, crit, alert, emerg), as
//	                                     rsyslog's *.warning and syslog-ng's
//	                                     level(warning..emerg)
//	                  =notice            notice only (rsyslog's *.=notice)
//	                  err, crit          exactly these (a list of two or more
//	                                     names is a set, not thresholds)
//	                  debug..info        a range, either way round (syslog-ng)
//	                names are emerg alert crit err warning notice info debug
//	                (also panic, error, warn), any case, or the numbers 0-7
//	facility        a list of facilities: kern, user, mail, daemon, auth,
//	                syslog, lpr, news, uucp, cron, authpriv, ftp, ntp,
//	                security, console, solaris-cron, local0 … local7, or 0-23
//	host            a list of host names or globs (web-*, db-?); ASCII case
//	                is ignored, as in DNS
//	app             a list of app names (the syslog APP-NAME / tag) or globs
//	                (postfix/*); case matters
//	tags            a list of tags or globs: the event has at least one of them
//	message         a substring of the message, taken literally (commas and
//	                all); case matters
//	message_regexp  a Go (RE2) regular expression the message must match
//	                somewhere; (?i) ignores case
//
// Globs know two wildcards: * (any run of characters, also none and also
// '/') and ? (one character). Everything else is literal.
//
// Key names follow the event's public JSON form (severity, facility, host,
// app, tags, message), so a filter reads like the events it selects.
//
// # Cost
//
// Match allocates nothing and checks the cheap conditions first: severity
// and facility are bit masks, host/app/tags a short scan of the patterns,
// then the substring, then the regexp. A nil *Matcher, or one with no keys,
// selects every event; callers can test All to keep a path that does not
// decode events at all.
package match
