/* logpacker.js — browser errors to a logpacker node (served by the node at /logpacker.js).
 *
 *   <script src="https://logs.example.com/logpacker.js" data-token="SOURCE_TOKEN"
 *           data-release="web@1.4.2" data-app="shop"></script>
 *
 * Captures window.onerror, unhandledrejection and console.error with message, stack, page
 * URL, user agent and release tag, and sends them in batches (up to 20 events, or after 1 s)
 * to the node's POST /api/v1/ingest: fetch with keepalive (JSON; the token in a header, one
 * CORS preflight that the browser caches), and navigator.sendBeacon (text/plain, the token
 * in the query: no preflight) when the page is hidden or unloaded. The page's origin must be
 * in the node's [ingest] cors_origins. window.logpacker.log(level, message, fields) sends
 * events of your own; window.logpacker.flush() sends what is queued now.
 */
(function () {
  "use strict";
  if (window.logpacker) return;
  var me = document.currentScript;
  var ds = (me && me.dataset) || {};
  var base = me && me.src ? new URL(me.src, location.href).origin : location.origin;
  var endpoint = ds.endpoint || base + "/api/v1/ingest";
  var token = ds.token || "";
  var release = ds.release || "";
  var app = ds.app || location.hostname;
  var maxBatch = 20, delay = 1000, queue = [], timer = null, sending = false;
  var origError = console.error;

  function text(v) {
    if (v instanceof Error) return String(v);
    if (typeof v === "string") return v;
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }

  function push(kind, level, message, stack, extra) {
    var ev = {
      time: new Date().toISOString(), level: level, app: app, message: String(message).slice(0, 8192),
      kind: kind, url: location.href, user_agent: navigator.userAgent
    };
    if (stack) ev.stack = String(stack).slice(0, 16384);
    if (release) ev.release = release;
    if (extra) for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) ev[k] = extra[k];
    queue.push(ev);
    if (queue.length >= maxBatch) flush();
    else if (!timer) timer = setTimeout(flush, delay);
  }

  function flush(beacon) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!queue.length) return;
    var batch = queue.splice(0, queue.length);
    var body = JSON.stringify(batch);
    if (beacon && navigator.sendBeacon) {
      var url = endpoint + (token ? (endpoint.indexOf("?") < 0 ? "?" : "&") + "token=" + encodeURIComponent(token) : "");
      if (navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }))) return;
    }
    var headers = { "Content-Type": "application/json" };
    if (token) headers["X-Logpacker-Token"] = token;
    sending = true;
    try {
      fetch(endpoint, { method: "POST", body: body, headers: headers, keepalive: body.length < 60000, mode: "cors", credentials: "omit" })
        .catch(function () { /* the node is away: these events are lost, as a page's would be */ })
        .then(function () { sending = false; });
    } catch (e) { sending = false; }
  }

  window.addEventListener("error", function (e) {
    if (!e || e.message === undefined) return; // a resource failed to load: not a script error
    var err = e.error;
    push("error", "error", e.message, err && err.stack, { source: e.filename + ":" + e.lineno + ":" + e.colno });
  });
  window.addEventListener("unhandledrejection", function (e) {
    var r = e.reason;
    var msg = r instanceof Error ? String(r) : "Unhandled rejection: " + text(r);
    push("unhandledrejection", "error", msg, r && r.stack);
  });
  console.error = function () {
    var args = Array.prototype.slice.call(arguments);
    var stack = null;
    for (var i = 0; i < args.length; i++) if (args[i] instanceof Error) { stack = args[i].stack; break; }
    if (!stack) { try { stack = new Error(args.map(text).join(" ")).stack; } catch (e) {} }
    push("console.error", "error", args.map(text).join(" "), stack);
    return origError.apply(console, arguments);
  };
  document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden") flush(true); });
  window.addEventListener("pagehide", function () { flush(true); });

  window.logpacker = {
    log: function (level, message, fields) { push("log", level || "info", message, null, fields); },
    flush: function () { flush(false); },
    pending: function () { return queue.length + (sending ? 1 : 0); }
  };
})();
