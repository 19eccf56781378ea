// Package api is the node's REST search API, served on the [listen] http
// address next to /metrics:
//
//	GET /api/v1/events?q=&from=&to=&severity=&host=&app=&tag=&limit=&cursor=
//	    → 200 {"events":[…newest first…],"next":"<cursor>"}   (next is "" on the last page)
//	GET /api/v1/events/stream?q=&severity=&host=&app=&tag=
//	    → 200 text/event-stream: "event: event\ndata: <event JSON>\n\n" per new event
//
// Parameters are store.ParseQuery's: an unknown or malformed one is a 400
// whose JSON body names it ({"error":…, "parameter":…}). Events are the
// public JSON form (protocol.Event.AppendJSON). Paging: pass the previous
// page's next as cursor; every stored event is returned once, in order,
// even while new ones arrive (the cursor is a position in (received, id)).
//
// The stream is fed by the node after each batch its store output took
// (Hub.Publish): an event appears in the stream once the store has it (it
// is in the WAL already; searchable within a second, at the store's next
// checkpoint). Its
// filter applies the same parameters to each event; q there is a simpler
// match than full-text search: every word of q must occur in the message,
// ignoring case. A client that falls more than 1024 events behind gets
// "event: overflow" and is disconnected: it should search from the last
// event it saw and reconnect. A comment line is sent every 15 s to keep
// proxies from closing an idle stream.
//
// The web UI (package ui) is served at / and /ui/ by the same listener; it
// reads only these routes, sending the token from the browser tab (see
// ui's doc for how). Every route, with whether it needs the token, is in
// one list in routes.go.
//
// Authentication: with a token configured, every request must carry
// "Authorization: Bearer <token>" (compared in constant time), else 401.
// The node refuses to start an HTTP listener that is not on loopback
// without a token.
package api
