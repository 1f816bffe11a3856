/* Parley inbox (templates/dashboard/inbox/inbox.html).
 *
 * Navigation is htmx's (real hrefs, hx-get + hx-push-url); this script adds
 * what htmx attributes cannot say without inline handlers (CSP):
 * - live: static/dashboard/live.js dispatches every socket frame as a
 *   `parley:frame` event on the document (and `parley:catchup` after a
 *   reconnect); the list (views, counts, rows) is refetched from the
 *   server, debounced, and so are the open conversation's messages and its
 *   controls when the frame concerns it. Nothing from a frame is rendered.
 * - the selected row follows the pane, and focus moves to the thread;
 * - keys outside text fields: j/k next/previous conversation, e resolve,
 *   a assign to me, / search, ? the keys dialog.
 */
(function () {
  "use strict";

  if (!document.getElementById("inbox-body") || !window.htmx) return;
  var htmx = window.htmx;

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function withPart(url, part) {
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "part=" + part;
  }

  function pane() { return document.getElementById("inbox-pane"); }

  function selectedId() {
    var p = pane();
    return p ? p.dataset.userId : "";
  }

  // ------------------------------------------------------------- live

  // The page's own URL (htmx keeps it current) says the view, the search
  // and the selection, so the refetched list marks the same row.
  var refreshList = debounce(function () {
    if (!document.getElementById("inbox-list")) return;
    htmx.ajax("GET", withPart(location.pathname + location.search, "inbox-list"),
      { target: "#inbox-list", swap: "outerHTML" });
  }, 250);

  var refreshControls = debounce(function () {
    var p = pane();
    if (!p || !p.dataset.here || !document.getElementById("inbox-controls")) return;
    // An open disclosure or a half-typed snooze time is the agent's: keep it.
    var more = document.querySelector("#inbox-controls details[open]");
    if (more) return;
    htmx.ajax("GET", withPart(p.dataset.here, "inbox-controls"),
      { target: "#inbox-controls", swap: "outerHTML" });
  }, 250);

  var refreshThread = debounce(function () {
    var p = pane();
    if (!p || !p.dataset.messagesUrl || !document.getElementById("message-list")) return;
    htmx.ajax("GET", p.dataset.messagesUrl, { target: "#message-list", swap: "outerHTML" }).then(function () {
      var list = document.getElementById("message-list");
      if (list && list.lastElementChild) list.lastElementChild.scrollIntoView({ block: "nearest" });
    });
  }, 200);

  var LIST_KINDS = /^(message:|conversation:|appUser:|merge:|link:)/;
  var THREAD_KINDS = /^(message:|delivery:|failover|merge:|note:|postback)/;

  document.addEventListener("parley:frame", function (event) {
    var frame = event.detail || {};
    var kind = frame.kind || "";
    if (frame.appUserId && LIST_KINDS.test(kind)) refreshList();
    if (!frame.appUserId || frame.appUserId !== selectedId()) return;
    if (kind === "conversation:status" || kind === "conversation:assigned") refreshControls();
    if (THREAD_KINDS.test(kind)) refreshThread();
  });
  document.addEventListener("parley:catchup", function () {
    refreshList();
    refreshControls();
    refreshThread();
  });

  // -------------------------------------------------- selection, focus

  function markSelected() {
    var id = selectedId();
    document.querySelectorAll("#inbox-rows > li").forEach(function (li) {
      var on = li.dataset.userId === id;
      li.classList.toggle("is-selected", on);
      var link = li.querySelector("a");
      if (link) {
        if (on) link.setAttribute("aria-current", "true"); else link.removeAttribute("aria-current");
      }
    });
  }

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "inbox-pane" || (event.detail.elt && event.detail.elt.id === "inbox-pane")) {
      markSelected();
      var thread = document.getElementById("inbox-thread");
      if (thread) thread.focus({ preventScroll: true });
    }
    if (target.id === "inbox-list") markSelected();
  });

  // ----------------------------------------------------------- keys

  var dialog = document.getElementById("inbox-keys");
  var opener = document.getElementById("inbox-keys-open");

  function showKeys() {
    if (dialog && !dialog.open) dialog.showModal();
  }
  if (opener) opener.addEventListener("click", showKeys);

  function typingInField(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]"));
  }

  function move(step) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#inbox-rows > li"));
    if (!rows.length) return;
    var id = selectedId();
    var at = -1;
    rows.forEach(function (li, i) { if (li.dataset.userId === id) at = i; });
    var next = at === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, at + step));
    if (next === at) return;
    var link = rows[next].querySelector("a");
    if (link) {
      link.scrollIntoView({ block: "nearest" });
      htmx.process(link);  // a just-refreshed list may not have settled: see press()
      link.click();
    }
  }

  // htmx processes swapped-in content only when it settles (20 ms later):
  // a key pressed in between would submit the form natively (a full page
  // load), so the form is processed first (a no-op once htmx has done it).
  function press(selector) {
    var button = document.querySelector(selector);
    if (!button || button.disabled) return;
    if (button.form) htmx.process(button.form);
    button.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typingInField(event.target) || (dialog && dialog.open)) return;
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "e": press("#inbox-controls [data-key=e]"); break;
      case "a": press("#inbox-controls [data-key=a]"); break;
      case "/": {
        var search = document.getElementById("inbox-search");
        if (search) { search.focus(); search.select(); }
        break;
      }
      case "?": showKeys(); break;
      default: return;
    }
    event.preventDefault();
  });
})();
