/* The Overview, live: after the app's events (a message, a delivery
 * state, a failover, a webhook failing) it fetches the server-rendered
 * #overview-figures part again and swaps it in, at most once a second.
 *
 * Frames: live.js owns the dashboard socket. When it hands its frames on
 * (a `parley:frame` event on document, announced by
 * window.parleyLive.framesAsEvents), this file uses them and opens nothing.
 * Until then it opens a socket of its own to the same path (#live-root's
 * data-ws-path), with the same backoff and a catch-up fetch after a drop.
 */
(function () {
  "use strict";

  var root = document.getElementById("live-root");
  if (!root || root.dataset.page !== "overview") return;

  var MIN_INTERVAL_MS = 1000;
  var pending = null;
  var lastFetch = 0;
  var inFlight = false;

  function swapFigures(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("overview-figures");
    var current = document.getElementById("overview-figures");
    if (!fresh || !current) return;
    current.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
  }

  function refresh() {
    pending = null;
    if (inFlight) { schedule(); return; }
    inFlight = true;
    lastFetch = Date.now();
    fetch(root.dataset.overviewUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(swapFigures)
      .catch(function () {})
      .then(function () { inFlight = false; });
  }

  function schedule() {
    if (pending) return;
    var wait = Math.max(0, MIN_INTERVAL_MS - (Date.now() - lastFetch));
    pending = setTimeout(refresh, wait);
  }

  function onFrame(frame) {
    if (!frame || frame.type !== "event") return;
    // Typing and reads change no figure.
    if (/^(typing:|conversation:read)/.test(frame.kind || "")) return;
    schedule();
  }

  function ownSocket() {
    var delay = 1000;
    var dropped = false;
    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + root.dataset.wsPath);
      socket.onmessage = function (message) {
        var frame;
        try { frame = JSON.parse(message.data); } catch (e) { return; }
        if (frame.type === "ready") {
          delay = 1000;
          if (dropped) { dropped = false; schedule(); }
          return;
        }
        onFrame(frame);
      };
      socket.onclose = function () {
        dropped = true;
        setTimeout(connect, Math.round(delay * (0.75 + Math.random() * 0.5)));
        delay = Math.min(delay * 2, 30000);
      };
    }
    connect();
  }

  document.addEventListener("parley:frame", function (event) { onFrame(event.detail); });
  // Deferred scripts have all run by now: live.js has said whether it
  // hands its frames on.
  document.addEventListener("DOMContentLoaded", function () {
    if (!(window.parleyLive && window.parleyLive.framesAsEvents)) ownSocket();
  });
})();
