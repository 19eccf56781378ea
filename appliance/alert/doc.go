// Package alert is the node's alerting: notify.ini's rules select events
// (with appliance/match, the outputs' filter language), each rule collects
// its matches per group of recipients over an interval into one digest, and
// its providers (smtp, sendmail, slack, sms, webhook) send the digest.
//
// # Configuration (config.go, providers.go, interval.go)
//
// ParseConfig reads notify.ini through appliance/internal/inifile, so its
// errors name the file, line, section and key as server.ini's do. Sections:
// [rule.NAME], [group.NAME], one per provider kind, [notify] (retries).
// The seed product's file (keys outside any section, [Sendmail], [Slack],
// [SMTP], [Twilio]) loads unchanged: its top keys are the rule "default",
// whose group "default" is the providers' own recipients. A group may carry
// match keys that narrow every rule sending to it. Every rule is checked to
// have a configured provider and a recipient in each of its groups.
//
// # Data path (alerter.go, digest.go)
//
//	WAL ─cursor output.alert─▶ pipeline consumer ─SendIndexed(evs, idx)─▶ fold into open digests (memory)
//	     every second: state.json (open digests, WAL index folded, limits) ─▶ done ─▶ cursor commit
//	     window over:  digest built ─▶ state.json lists it ─▶ outbox/ID.json ─▶ state.json without it ─▶ lanes
//	     lane per provider kind: send to each target, retry/backoff, Retry-After ─▶ delivered.log ─▶ file removed
//
// The Alerter is a pipeline.IndexedSink: it copies what it keeps of each
// event (counts, a clone of new names and messages, the first raw lines)
// and confirms a batch only when the state file that holds its effect is on
// disk, so the cursor never passes an event whose contribution could be
// lost, and the WAL keeps nothing for an interval's length. state.json
// records the highest WAL index folded (and the WAL's epoch): the records a
// crash makes the cursor read again are skipped, so each event is counted
// exactly once.
//
// An open digest is an acc: the total, counts per severity (8 counters),
// host and app (maps capped at 500 names, then "(other)"), the most frequent
// messages (Space-Saving over 128 counters: exact until more distinct
// messages compete, then each count carries its error bound) and the first
// N raw lines. Its window opens at its first match on the alerter's clock
// and closes Interval later (calendar months for "mo").
//
// # Building and sending exactly once (tick, outbox.go)
//
// A digest whose window closed is built (or dropped by its rule's limit:
// counted, and reported in the next digest of its rule and group) into the
// state's "closing" list, written; then its outbox file is written; then the
// state without it; only then is it handed to the lanes. A crash anywhere
// in between leaves it in the state (put into the outbox at the next start)
// or in the outbox, never in both as two digests, never nowhere. Each lane
// (one per provider kind) sends its digests in order to each target, and
// appends {id, kind, target} to outbox/delivered.log, fsynced, before the
// next; a restart sends what the log lacks. The digest ID (rule.group.start)
// is the mail's Message-ID and the webhook's Idempotency-Key, so the one
// duplicate a crash can cause (after a provider took a digest, before the
// log line) can be recognized by the receiver.
//
// Errors are retried with capped, jittered exponential backoff (or after
// the provider's Retry-After) for as long as it takes; what is permanent
// (HTTP 4xx but 408 and 429, Slack ok:false but ratelimited and server
// errors, SMTP 5xx, sendmail's EX_NOUSER and kin) goes to the dead-letter
// file with the digest.
//
// # Reload
//
// SetConfig swaps the rules under the lock: the next event is matched with
// the new ones; open digests of a (rule, group) no longer configured are
// built and sent with the settings they were collected under. Lanes read
// the providers' settings at each send.
//
// SendTest sends a test digest of a rule once through each provider to
// each recipient (logpacker notify test RULE).
package alert
