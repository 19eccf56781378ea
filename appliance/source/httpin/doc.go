// Package httpin is the HTTP ingest input: JSON from applications and
// mobile apps (POST /api/v1/ingest), errors from browsers (logpacker.js,
// served at GET /logpacker.js, and CORS), and Sentry SDKs (the envelope
// endpoint POST /api/<project>/envelope/). journald's uploads (POST
// /upload) are package appliance/source/journal, behind this package's
// token check (Server.Guard).
//
// The handlers are not a listener of their own: they are routes of the
// node's one HTTP listener ([listen] http), listed in package api with the
// rest. Each checks its own per-source tokens ([ingest] tokens), not the
// API's read token: a token that lets a page send errors must not read
// the logs.
//
// # Acknowledged means durable
//
// A request's body is read whole (at most [ingest] max_body_size after
// gzip; larger: 413), decoded whole (DecodeJSON, DecodeEnvelope: any
// error and nothing is stored: 400 with the event's index and the byte
// offset, or 413 for an event above max_event_size), then emitted as one
// batch; the answer is 200 only once the WAL has the batch durable (emit
// returned). A client that gets no answer (the node died) sends again: at
// least once, as every acknowledged input.
//
// # JSON mapping
//
// time (or timestamp, @timestamp, ts, date: RFC 3339, or Unix seconds,
// milliseconds, microseconds, nanoseconds by magnitude), severity (or
// level, lvl, loglevel: names as syslog's, plus error, warn, fatal,
// critical, trace, or 0-7; default info), host (hostname), app (appname,
// app_name, service, program), message (msg, log), procid (pid), msgid,
// facility (default user) and tags (a list or a comma-separated string)
// are the event's; every other key is in fields, nested objects flattened
// with dots (a.b), other values as their JSON text. The source's name is
// added to tags; transport is "http".
//
// # Tokens, limits, browsers
//
// The token may come as a bearer token, a Basic password (a URL's
// user:token@), X-Logpacker-Token, ?token= (sendBeacon cannot set headers)
// or Sentry's sentry_key (X-Sentry-Auth, ?sentry_key=, the envelope's
// dsn). With no tokens configured (allowed only on loopback) every request
// is the source "http". [ingest] rate_limit is a token bucket of events per
// second per source (burst: its size): a request over it is refused whole,
// 429 with Retry-After.
//
// A request with an Origin header (a browser's cross-origin request) is
// served only when its origin is in [ingest] cors_origins (or "*"); any
// other gets 403 and nothing is stored, preflight or not (a text/plain
// sendBeacon needs no preflight, so the check cannot be left to the
// browser). OPTIONS preflights of listed origins get 204 with the methods
// and headers allowed and Access-Control-Max-Age 600.
//
// # Grouping
//
// An event with a "stack" (logpacker.js sends one; Sentry's frames are
// turned into one) gets fields.fingerprint: 16 hex digits of SHA-256 over
// the error's type and its normalised stack, each frame's function and the
// path of its script without scheme, host, query, line and column, and
// with hashes and numbers taken out (app.3f2a1b9c.js and app.77aa01ee.js
// are the same file). Search for fields.fingerprint to see every
// occurrence of one error. A Sentry event's own fingerprint, when it sets
// one, is hashed instead.
package httpin
