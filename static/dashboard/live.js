/* Parley live dashboard.
 *
 * One websocket per page (/ws/dashboard/events/<appId>/) carries the app's
 * events as small JSON frames. The script never renders event text into
 * HTML: on the conversation page the frames of the open conversation carry
 * the server-rendered partial itself (`html`, rendered and escaped by
 * Django, dashboard/consumers.py), swapped in by id; elsewhere it refetches
 * the partials an event concerns. The few strings it shows itself
 * (status, typing, notifications) go through textContent.
 * After a dropped connection it reconnects with backoff and refetches the
 * page's partials (catch-up).
 */
(function () {
  "use strict";

  var root = document.getElementById("live-root");
  var statusEl = document.getElementById("live-status");

  // ------------------------------------------------------------ helpers

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function fetchFragment(url) {
    return fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.text();
    }).then(function (html) {
      var template = document.createElement("template");
      template.innerHTML = html;
      return template.content;
    });
  }

  function processed(el) {
    if (window.htmx && el && el.nodeType === 1) window.htmx.process(el);
    return el;
  }

  function setStatus(state, text) {
    if (!statusEl) return;
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // Copy buttons: static/dashboard/copy.js (every page loads it).

  // An avatar that cannot load (offline, blocked Gravatar) becomes an initial.
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (!img || img.tagName !== "IMG" || !img.classList.contains("avatar")) return;
    var initial = document.createElement("span");
    initial.className = "avatar avatar-initial";
    initial.setAttribute("aria-hidden", "true");
    initial.textContent = (img.getAttribute("data-initial") || "?").slice(0, 1).toUpperCase();
    img.replaceWith(initial);
  }, true);

  // ------------------------------------------------ browser notifications

  var notifyButton = document.getElementById("notify-toggle");
  var NOTIFY_KEY = "parley-notify";

  function notifyOn() {
    return "Notification" in window && Notification.permission === "granted" &&
      localStorage.getItem(NOTIFY_KEY) === "on";
  }

  function renderNotifyButton() {
    if (!notifyButton || !("Notification" in window)) return;
    notifyButton.hidden = false;
    var on = notifyOn();
    notifyButton.textContent = on ? "Disable notifications" : "Enable notifications";
    notifyButton.setAttribute("aria-pressed", on ? "true" : "false");
  }

  if (notifyButton) {
    notifyButton.addEventListener("click", function () {
      if (notifyOn()) {
        localStorage.setItem(NOTIFY_KEY, "off");
        renderNotifyButton();
        return;
      }
      Notification.requestPermission().then(function (permission) {
        localStorage.setItem(NOTIFY_KEY, permission === "granted" ? "on" : "off");
        renderNotifyButton();
      });
    });
    renderNotifyButton();
  }

  function notifyUserMessage(frame) {
    if (!notifyOn()) return;
    var viewing = page === "conversation" && root.dataset.userId === frame.appUserId && !document.hidden;
    if (viewing) return;
    var detail = frame.detail || {};
    var n = new Notification(detail.name ? "New message from " + detail.name : "New user message", {
      body: detail.text || frame.summary || "",
      tag: "parley-" + frame.appUserId,
    });
    n.onclick = function () {
      window.focus();
      window.location.href = "/apps/" + encodeURIComponent(appId) + "/users/" + encodeURIComponent(frame.appUserId) + "/";
    };
  }

  if (!root) return;
  var page = root.dataset.page;
  var appId = root.dataset.appId;

  // ---------------------------------------------------------- Log tab

  function logFirstPage() {
    var list = document.getElementById("log-list");
    return list && list.dataset.firstPage === "true";
  }

  function logTopId() {
    var first = document.querySelector("#log-rows > li[data-log-id]");
    return first ? parseInt(first.dataset.logId, 10) : 0;
  }

  var logFetching = false;
  var logAgain = false;
  function fetchNewLogRows() {
    if (!logFirstPage()) return;
    if (logFetching) { logAgain = true; return; }
    logFetching = true;
    var list = document.getElementById("log-list");
    var filters = list.dataset.filters;
    var url = root.dataset.logUrl + "?after=" + logTopId() + (filters ? "&" + filters : "");
    fetchFragment(url).then(function (fragment) {
      var rows = document.getElementById("log-rows");
      var items = Array.prototype.slice.call(fragment.querySelectorAll("li[data-log-id]"));
      items.reverse().forEach(function (li) {
        if (document.getElementById(li.id)) return;
        li.classList.add("fresh");
        rows.insertBefore(li, rows.firstChild);
        processed(li);
      });
      var empty = list.querySelector(".empty-log");
      if (empty && items.length) empty.remove();
    }).catch(function () {}).then(function () {
      logFetching = false;
      if (logAgain) { logAgain = false; fetchNewLogRows(); }
    });
  }

  function refreshLogList() {
    var list = document.getElementById("log-list");
    if (!list || !logFirstPage()) return;
    var filters = list.dataset.filters;
    fetchFragment(root.dataset.logUrl + (filters ? "?" + filters : "")).then(function (fragment) {
      var fresh = fragment.querySelector("#log-list");
      var current = document.getElementById("log-list");
      if (fresh && current) { current.replaceWith(fresh); processed(fresh); }
    }).catch(function () {});
  }

  // ---------------------------------------------------------- users list

  var refreshUsers = debounce(function () {
    var list = document.getElementById("user-list");
    if (!list || list.dataset.firstPage !== "true") return;
    var query = list.dataset.query;
    var url = root.dataset.listUrl + (query ? "?q=" + encodeURIComponent(query) : "");
    fetchFragment(url).then(function (fragment) {
      var fresh = fragment.querySelector("#user-list");
      var current = document.getElementById("user-list");
      if (fresh && current) { current.replaceWith(fresh); processed(fresh); }
    }).catch(function () {});
  }, 250);

  // -------------------------------------------------------- conversation

  var messagesUrl = root.dataset.messagesUrl;

  function newestReceived() {
    var items = document.querySelectorAll("#message-list > li[data-received]");
    var newest = 0;
    for (var i = 0; i < items.length; i++) newest = Math.max(newest, parseInt(items[i].dataset.received, 10));
    return newest;
  }

  function scrollToEnd() {
    var list = document.getElementById("message-list");
    if (list && list.lastElementChild) list.lastElementChild.scrollIntoView({ block: "nearest" });
  }

  var msgFetching = false;
  var msgAgain = false;
  function fetchNewMessages() {
    if (msgFetching) { msgAgain = true; return; }
    msgFetching = true;
    var newest = newestReceived();
    var url = newest ? messagesUrl + "?after=" + (newest - 1) : messagesUrl;
    fetchFragment(url).then(function (fragment) {
      var list = document.getElementById("message-list");
      if (!newest) {
        var fresh = fragment.querySelector("#message-list");
        if (fresh) { list.replaceWith(fresh); processed(fresh); }
      } else {
        fragment.querySelectorAll("li.msg").forEach(function (li) {
          var existing = document.getElementById(li.id);
          if (existing) existing.replaceWith(li); else list.appendChild(li);
          processed(li);
        });
        var empty = list.querySelector("li.empty");
        if (empty) empty.remove();
      }
      scrollToEnd();
    }).catch(function () {}).then(function () {
      msgFetching = false;
      if (msgAgain) { msgAgain = false; fetchNewMessages(); }
    });
  }

  var pendingMessages = {};
  function refreshMessage(messageId) {
    if (!messageId || !document.getElementById("m-" + messageId)) return;
    if (pendingMessages[messageId]) { pendingMessages[messageId] = "again"; return; }
    pendingMessages[messageId] = "busy";
    fetchFragment(messagesUrl + encodeURIComponent(messageId) + "/").then(function (fragment) {
      var fresh = fragment.querySelector("li.msg");
      var current = document.getElementById("m-" + messageId);
      if (fresh && current) {
        var open = current.querySelector("details[open]");
        if (open) { var d = fresh.querySelector("details"); if (d) d.open = true; }
        current.replaceWith(fresh);
        processed(fresh);
      }
    }).catch(function () {}).then(function () {
      var again = pendingMessages[messageId] === "again";
      delete pendingMessages[messageId];
      if (again) refreshMessage(messageId);
    });
  }

  function refreshConversation() {
    fetchFragment(messagesUrl).then(function (fragment) {
      var fresh = fragment.querySelector("#message-list");
      var current = document.getElementById("message-list");
      if (fresh && current) { current.replaceWith(fresh); processed(fresh); scrollToEnd(); }
    }).catch(function () {});
  }

  var typingEl = document.getElementById("typing-indicator");
  var typingTimer = null;
  function showUserTyping(on) {
    if (!typingEl) return;
    clearTimeout(typingTimer);
    typingEl.textContent = on ? "The user is typing…" : "";
    // A lost typing:stop must not leave the indicator on forever.
    if (on) typingTimer = setTimeout(function () { typingEl.textContent = ""; }, 15000);
  }

  // Business typing from the composer: start on the first keystroke, stop
  // after a pause, when the text is cleared or the page is left; never after
  // sending (a new business message ends typing on the user's side).
  var TYPING_PAUSE_MS = 3000;
  var typingUrl = root.dataset.typingUrl;
  var isTyping = false;
  var pauseTimer = null;

  function composerValue(name) {
    var form = document.getElementById("composer-form");
    var field = form && form.elements[name];
    return field ? field.value : "";
  }

  function postTyping(action, beacon) {
    // The composer names its conversation's typing URL (the inbox swaps
    // conversations in and out under one page).
    var form = document.getElementById("composer-form");
    var url = (form && form.dataset.typingUrl) || typingUrl;
    if (!url) return;
    var body = new FormData();
    body.append("action", action);
    body.append("csrfmiddlewaretoken", csrfToken());
    body.append("name", composerValue("name"));
    body.append("email", composerValue("email"));
    if (beacon && navigator.sendBeacon) {
      navigator.sendBeacon(url, body);
      return;
    }
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken() } }).catch(function () {});
  }

  function stopTyping(beacon) {
    clearTimeout(pauseTimer);
    if (!isTyping) return;
    isTyping = false;
    postTyping("typing:stop", beacon);
  }

  if (page === "conversation" || page === "inbox") {
    document.addEventListener("input", function (event) {
      var target = event.target;
      if (!target.matches || !target.matches("#composer-form textarea[data-typing]")) return;
      // A private note is the team's: the user never sees anyone typing it.
      var mode = target.form && target.form.querySelector("input[name=mode]:checked");
      if (mode && mode.value === "note") { stopTyping(false); return; }
      if (!target.value.trim()) { stopTyping(false); return; }
      if (!isTyping) { isTyping = true; postTyping("typing:start"); }
      clearTimeout(pauseTimer);
      pauseTimer = setTimeout(function () { stopTyping(false); }, TYPING_PAUSE_MS);
    });
    document.addEventListener("submit", function (event) {
      if (event.target.id === "composer-form") {
        // Sending ends typing on the user's side: no typing:stop.
        clearTimeout(pauseTimer);
        isTyping = false;
      }
    }, true);
    window.addEventListener("pagehide", function () { stopTyping(true); });
    if (page === "conversation") scrollToEnd();
  }

  // The composer's own behaviour (Enter, paste, `/`, counter, the type's
  // fields) is static/dashboard/composer.js.

  // A fragment the socket rendered (dashboard/consumers.py) for the open
  // conversation: each top-level <li> replaces the element with its id,
  // or joins the end of the list. An open delivery detail stays open.
  function swapFragment(html) {
    var list = document.getElementById("message-list");
    if (!list) return false;
    var template = document.createElement("template");
    template.innerHTML = html;
    var items = Array.prototype.slice.call(template.content.children).filter(function (el) {
      return el.tagName === "LI" && el.id;
    });
    if (!items.length) return false;
    items.forEach(function (li) {
      var current = document.getElementById(li.id);
      if (current) {
        if (current.querySelector("details[open]")) {
          var d = li.querySelector("details"); if (d) d.open = true;
        }
        current.replaceWith(li);
      } else {
        list.appendChild(li);
        var empty = list.querySelector("li.empty");
        if (empty) empty.remove();
      }
      processed(li);
    });
    scrollToEnd();
    return true;
  }

  // --------------------------------------------------------- the socket

  function handle(frame) {
    if (frame.type !== "event") return;
    // The hook for other page scripts (static/dashboard/inbox.js): every
    // event frame, as it came, on the document.
    document.dispatchEvent(new CustomEvent("parley:frame", { detail: frame }));
    var kind = frame.kind || "";
    var detail = frame.detail || {};
    if (kind === "message:appUser") notifyUserMessage(frame);
    if (page === "log" && frame.logId) fetchNewLogRows();
    // The list shows activity, unread counts, channels and profiles.
    if (page === "users" && frame.appUserId && /^(message:|appUser:|conversation:|link:|merge:)/.test(kind)) {
      refreshUsers();
    }
    if (page === "conversation" && frame.appUserId === root.dataset.userId) {
      if (kind === "message:appUser") showUserTyping(false);
      // The socket carried the rendered part: no request.
      if (frame.html && swapFragment(frame.html)) return;
      if (kind.indexOf("message:") === 0) {
        if (kind === "message:appUser") showUserTyping(false);
        fetchNewMessages();
      } else if (kind.indexOf("delivery:") === 0 || kind === "failover") {
        refreshMessage(detail.messageId);
        if (!document.getElementById("m-" + detail.messageId)) fetchNewMessages();
      } else if (kind === "typing:appUser") {
        showUserTyping(detail.state === "start");
      } else if (kind === "merge:appUser") {
        refreshConversation();
      }
    }
  }

  function catchUp() {
    document.dispatchEvent(new CustomEvent("parley:catchup"));
    if (page === "log") refreshLogList();
    if (page === "users") refreshUsers();
    if (page === "conversation") refreshConversation();
  }

  var socket = null;
  var delay = 1000;
  var MAX_DELAY = 30000;
  var dropped = false;

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath);
    socket.onopen = function () {
      delay = 1000;
    };
    socket.onmessage = function (message) {
      var frame;
      try { frame = JSON.parse(message.data); } catch (e) { return; }
      if (frame.type === "ready") {
        if (page === "conversation") {
          socket.send(JSON.stringify({ type: "watch", appUserId: root.dataset.userId }));
        }
        setStatus("live", "Live");
        root.dataset.live = "true";
        if (dropped) { dropped = false; catchUp(); }
        return;
      }
      handle(frame);
    };
    socket.onclose = function () {
      root.dataset.live = "false";
      dropped = true;
      var wait = Math.round(delay * (0.75 + Math.random() * 0.5));
      setStatus("reconnecting", "Offline: reconnecting in " + Math.ceil(wait / 1000) + " s…");
      setTimeout(connect, wait);
      delay = Math.min(delay * 2, MAX_DELAY);
    };
  }

  // A page restored from the back/forward cache missed events: catch up.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) catchUp();
  });

  // For tests and debugging: drop the socket as a network failure would.
  // framesAsEvents: every frame is also a `parley:frame` event on document
  // (the inbox and the Overview listen to it instead of opening sockets).
  window.parleyLive = { drop: function () { if (socket) socket.close(); }, framesAsEvents: true };
  connect();
})();
