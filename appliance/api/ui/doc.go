// Package ui is the node's web UI: a few static files (HTML, CSS, plain
// JavaScript; no build step, nothing loaded from another site) embedded in
// the binary with go:embed and served by the HTTP listener at / (the page)
// and /ui/ (its script, style sheet and icon). Every route is listed in
// appliance/api/routes.go.
//
// The UI reads only the REST API, with the same requests an operator would
// make with curl: /api/v1/events (the result list, cursor paging),
// /api/v1/hits (the histogram), /api/v1/facets (top host, app, severity and
// tags), /api/v1/events/stream (the live tail), /api/v1/status and
// /api/v1/cluster (the cluster page). Its state lives in the URL's query
// (view, q, from/to or range, severity, host, app, tag, cursor), so a link
// opens the same view.
//
// Token. The files themselves are served without the token: they are the
// same in every copy of logpacker and hold no data, and a browser cannot
// put an Authorization header on the request for a page it navigates to.
// Everything the UI shows comes from /api/, which needs the token when
// [api] token is set, exactly as for any other client. On a 401 the page
// asks for the token, keeps it in sessionStorage (this tab only, gone when
// it closes; never in the URL, which is meant to be shared, nor in a
// cookie, so no other site can make the browser use it) and sends it as
// "Authorization: Bearer <token>" on every fetch. The live tail cannot use
// EventSource, which sets no headers: it reads the server-sent events with
// fetch and a stream reader instead, so the stream is authenticated like
// every other request.
//
// Log messages are untrusted input: the script puts them into the page as
// text only (textContent, never innerHTML), and the page is served with a
// Content-Security-Policy that allows scripts, styles and connections to
// this origin only, so a message cannot run code in an operator's browser.
//
// Files are served with an ETag (a hash of the content) and
// "Cache-Control: no-cache": a browser revalidates and gets 304 until the
// binary is upgraded. They are gzipped (once, at start) for a browser that
// accepts it: about 60 KiB in all, under 20 KiB gzipped.
//
// The live tail's "search them" link (events skipped while paused) opens a
// search from the first skipped event on; the stream gets events as the
// store takes them, a search once the store's next checkpoint (within its
// flush interval, a second by default) made them searchable.
package ui
