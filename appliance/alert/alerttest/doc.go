// Package alerttest runs, for tests, the real other ends of the alert
// providers on 127.0.0.1: an SMTP server (github.com/emersion/go-smtp, with
// STARTTLS under a certificate of appliance/internal/testca, and implicit
// TLS on a second port, and AUTH PLAIN)
// that refuses mail (451) for a while or stalls in DATA on request; one HTTP
// server answering as Slack's Web API (/api/chat.postMessage: ok:false
// invalid_auth, channel_not_found; 429 ratelimited with Retry-After) and
// incoming webhooks (/hooks/), a Twilio-form SMS gateway (/sms/, basic auth,
// Twilio's error JSON) and a webhook receiver (/webhook/); and a stand-in
// sendmail script that records its arguments and standard input, and exits
// 75 (EX_TEMPFAIL) as many times as told. Both the package's tests and the
// node's integration tests use them.
package alerttest
