/*!
 * Parley Web Messenger: the embeddable chat widget.
 *
 *   <script src="https://<parley host>/static/parley/messenger.js"></script>
 *   <script>Parley.init({appToken: "..."});</script>
 *
 * `window.Smooch` is the same object, with the Smooch Web SDK's calls:
 * init, login, logout, open, close, isOpened, sendMessage, getUser,
 * getConversation, updateUser, on/off, destroy.
 *
 * Plain JavaScript, no build step, nothing fetched from a third party (avatar
 * images may come from Gravatar). The API base URL is the origin this very
 * script was loaded from, so the widget works embedded on any site.
 *
 * Safety: every piece of data reaches the page through textContent or a
 * checked attribute (links and images only with http(s) URLs); never
 * innerHTML. Styles live in a shadow root, isolated from the host page.
 *
 * Protocol: REST (/v1/init, /v1/appusers/{id}/messages, /images) plus the
 * SDK websocket at /sdk/ws/ (docs/sdk-protocol.md).
 *
 * A userId needs the jwt your server signs for it when the app's
 * requireUserJwt setting is on (the default): without one, init and login
 * reject with an error whose `error` is the server's Smooch error body
 * ({code: "unauthorized", description}); anonymous users need no jwt.
 *
 * `authCode` (from GET /v1.1/appusers/{id}/authcode, your server's call)
 * brings this browser into that user's conversation instead, once: a
 * conversation started elsewhere continues here. Later calls need what
 * that user always needs (nothing more for an anonymous user; for a userId
 * under requireUserJwt, login with its jwt).
 */
(() => {
  "use strict";

  if (window.Parley && window.Parley.__parleyMessenger) return; // loaded twice

  const SCRIPT = document.currentScript;
  const VERSION = "1.0.0";
  const PREFIX = "Parley:";

  /** The Parley base URL: where this script was served from, minus /static/... */
  function defaultBaseUrl() {
    const src = SCRIPT && SCRIPT.src;
    if (!src) return window.location.origin;
    const url = new URL(src, window.location.href);
    const at = url.pathname.lastIndexOf("/static/");
    return url.origin + (at > 0 ? url.pathname.slice(0, at) : "");
  }

  // ------------------------------------------------------------ helpers

  const store = {
    get(key) {
      try {
        const raw = window.localStorage.getItem(key);
        return raw ? JSON.parse(raw) : null;
      } catch (e) {
        return null;
      }
    },
    set(key, value) {
      try {
        window.localStorage.setItem(key, JSON.stringify(value));
      } catch (e) {
        /* storage full or blocked: the widget still works for this page */
      }
    },
    remove(key) {
      try {
        window.localStorage.removeItem(key);
      } catch (e) {
        /* ignore */
      }
    },
  };

  function randomId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID().replace(/-/g, "");
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** An absolute http(s) URL, or null: javascript:, data:, relative... are refused. */
  function safeUrl(value) {
    if (typeof value !== "string" || !value.trim()) return null;
    let url;
    try {
      url = new URL(value.trim());
    } catch (e) {
      return null;
    }
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  }

  function isColor(value) {
    return typeof value === "string" && /^#[0-9a-fA-F]{6}$/.test(value);
  }

  /** Build an element. `attrs` keys are literals of this file; values are
   *  set with setAttribute / textContent only. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") el.className = value;
        else if (key === "text") el.textContent = String(value);
        else if (key.startsWith("on") && typeof value === "function") {
          el.addEventListener(key.slice(2), value);
        } else el.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  /** The widget's stylesheet in its shadow root. A constructed stylesheet
   * where the browser has them: a host page's content security policy
   * (style-src without 'unsafe-inline', as Parley's own demo page has) does
   * not govern it, where it blocks a <style> element. */
  function adoptStyles(root) {
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(h("style", { text: STYLES }));
    }
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  const ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z",
    close: "M6 6l12 12M18 6L6 18",
    send: "M3 20l18-8L3 4v6l12 2-12 2z",
    image: "M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15.5 9.5a1.5 1.5 0 1 0 0-.01",
    menu: "M4 6h16M4 12h16M4 18h16",
  };

  function icon(name) {
    const svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    svg.classList.add("pm-icon", "pm-icon-" + name);
    return svg;
  }

  /** Text with its http(s) URLs as links; everything else literal text. */
  function linkify(text) {
    const out = document.createDocumentFragment();
    const pattern = /https?:\/\/[^\s<>"']+/g;
    let last = 0;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) out.append(document.createTextNode(text.slice(last, match.index)));
      let raw = match[0];
      const trailing = /[.,;:!?)\]]+$/.exec(raw);
      if (trailing) raw = raw.slice(0, -trailing[0].length);
      const href = safeUrl(raw);
      out.append(
        href
          ? h("a", { href, target: "_blank", rel: "noopener noreferrer", text: raw })
          : document.createTextNode(raw)
      );
      last = match.index + raw.length;
      pattern.lastIndex = last;
    }
    if (last < text.length) out.append(document.createTextNode(text.slice(last)));
    return out;
  }

  function formatAmount(amount, currency) {
    if (typeof amount !== "number") return "";
    try {
      return new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: (currency || "usd").toUpperCase(),
      }).format(amount / 100);
    } catch (e) {
      return (amount / 100).toFixed(2);
    }
  }

  /** Black or white, whichever reads better on this #rrggbb background. */
  function readableOn(hex) {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    return (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) ? "#111" : "#fff";
  }

  function initials(name) {
    const parts = String(name || "?").trim().split(/\s+/).slice(0, 2);
    return parts.map((p) => p.charAt(0).toUpperCase()).join("") || "?";
  }

  class ApiError extends Error {
    constructor(status, body) {
      const error = (body && body.error) || {};
      super(error.description || `HTTP ${status}`);
      this.name = "ParleyApiError";
      this.status = status;
      this.code = error.code || "http_" + status;
      // The Smooch error body as the server sent it, so a rejected init or
      // login can be handled like a REST client would: `err.error.code`.
      this.error = { code: this.code, description: error.description || this.message };
    }
  }

  // ------------------------------------------------------------ styles

  const STYLES = `
:host { all: initial; }
:host { --pm-accent: #1f4fb5; --pm-accent-fg: #fff; --pm-fg: #1d232a; --pm-muted: #56606c;
  --pm-bg: #fff; --pm-line: #d9dee5; --pm-bubble: #eef1f5; --pm-focus: #f4b400; }
* { box-sizing: border-box; }
.pm-root { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--pm-fg); }
.pm-visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
button, input, textarea { font: inherit; color: inherit; }
:focus-visible { outline: 3px solid var(--pm-focus); outline-offset: 2px; }
.pm-icon { width: 22px; height: 22px; fill: none; stroke: currentColor; stroke-width: 2;
  stroke-linecap: round; stroke-linejoin: round; }
.pm-icon-chat, .pm-icon-send { fill: currentColor; stroke: none; }
.pm-launcher { position: relative; width: 60px; height: 60px; border-radius: 50%; border: 0;
  background: var(--pm-accent); color: var(--pm-accent-fg); cursor: pointer; display: grid;
  place-items: center; box-shadow: 0 4px 14px rgba(0,0,0,.25); margin-left: auto; padding: 0; }
.pm-launcher .pm-icon { width: 28px; height: 28px; }
.pm-launcher img { width: 60px; height: 60px; border-radius: 50%; object-fit: cover; }
.pm-badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #c62828; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 22px; text-align: center; border: 2px solid #fff; }
.pm-panel { width: 370px; height: min(620px, calc(100vh - 110px)); background: var(--pm-bg);
  border-radius: 14px; box-shadow: 0 8px 30px rgba(0,0,0,.28); display: flex; flex-direction: column;
  overflow: hidden; margin-bottom: 14px; }
.pm-panel[hidden] { display: none; }
.pm-header { display: flex; align-items: center; gap: 10px; padding: 12px 12px 12px 16px;
  background: var(--pm-accent); color: var(--pm-accent-fg); }
.pm-header img { width: 36px; height: 36px; border-radius: 50%; object-fit: cover; background: #fff; }
.pm-header-text { flex: 1; min-width: 0; }
.pm-title { font-size: 16px; font-weight: 700; margin: 0; overflow-wrap: anywhere; }
.pm-subtitle { font-size: 13px; margin: 0; opacity: .92; overflow-wrap: anywhere; }
.pm-close { border: 0; background: transparent; color: inherit; cursor: pointer; padding: 8px;
  border-radius: 8px; display: grid; place-items: center; }
.pm-close:hover { background: rgba(255,255,255,.16); }
.pm-status { font-size: 13px; padding: 4px 12px; background: #fff4d6; color: #5b4300; }
.pm-status:empty { display: none; }
.pm-log { flex: 1; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 8px;
  overscroll-behavior: contain; }
.pm-greeting { align-self: center; text-align: center; color: var(--pm-muted); font-size: 14px;
  margin: 4px 12px 8px; overflow-wrap: anywhere; white-space: pre-wrap; }
.pm-more { align-self: center; border: 1px solid var(--pm-line); background: #fff; border-radius: 999px;
  padding: 4px 12px; font-size: 13px; cursor: pointer; }
.pm-more[hidden] { display: none; }
.pm-msg { display: flex; flex-direction: column; max-width: 85%; }
.pm-msg.pm-appUser { align-self: flex-end; align-items: flex-end; }
.pm-msg.pm-appMaker { align-self: flex-start; align-items: flex-start; }
.pm-author { display: flex; align-items: center; gap: 6px; font-size: 12px; color: var(--pm-muted);
  margin: 4px 0 2px; }
.pm-avatar { width: 24px; height: 24px; border-radius: 50%; object-fit: cover; flex: none;
  background: #c8d0da; color: #1d232a; font-size: 11px; font-weight: 700; display: grid; place-items: center; }
.pm-bubble { padding: 8px 12px; border-radius: 16px; background: var(--pm-bubble); white-space: pre-wrap;
  overflow-wrap: anywhere; max-width: 100%; }
.pm-appUser .pm-bubble { background: var(--pm-accent); color: var(--pm-accent-fg); }
.pm-appUser .pm-bubble a { color: inherit; }
.pm-bubble img.pm-image { display: block; max-width: 100%; max-height: 260px; border-radius: 10px; }
.pm-bubble.pm-media { padding: 4px; background: transparent; }
.pm-caption { padding: 4px 8px 2px; }
.pm-actions { display: flex; flex-direction: column; gap: 4px; margin-top: 4px; width: 100%; }
.pm-btn { display: block; text-align: center; border: 1px solid var(--pm-accent); color: var(--pm-accent);
  background: #fff; border-radius: 10px; padding: 6px 12px; cursor: pointer; text-decoration: none;
  font-size: 14px; overflow-wrap: anywhere; }
.pm-btn:hover { background: #f3f6fb; }
.pm-btn.pm-disabled { border-color: var(--pm-line); color: var(--pm-muted); cursor: not-allowed; }
.pm-carousel { display: flex; gap: 8px; overflow-x: auto; list-style: none; margin: 0; padding: 2px 2px 8px;
  max-width: 100%; scroll-snap-type: x mandatory; }
.pm-msg.pm-wide { max-width: 100%; width: 100%; }
.pm-card { flex: 0 0 220px; scroll-snap-align: start; border: 1px solid var(--pm-line); border-radius: 12px;
  overflow: hidden; background: #fff; display: flex; flex-direction: column; }
.pm-card img { width: 100%; height: 120px; object-fit: cover; display: block; }
.pm-card-body { padding: 8px 10px; flex: 1; }
.pm-card-title { font-weight: 700; margin: 0 0 2px; overflow-wrap: anywhere; }
.pm-card-desc { font-size: 13px; color: var(--pm-muted); margin: 0; overflow-wrap: anywhere; white-space: pre-wrap; }
.pm-card .pm-actions { padding: 0 8px 8px; margin: 0; width: auto; }
.pm-list { list-style: none; margin: 0; padding: 0; border: 1px solid var(--pm-line); border-radius: 12px;
  overflow: hidden; background: #fff; width: 100%; }
.pm-list > li { display: flex; gap: 8px; padding: 8px 10px; border-top: 1px solid var(--pm-line); align-items: flex-start; }
.pm-list > li:first-child { border-top: 0; }
.pm-list img { width: 56px; height: 56px; border-radius: 8px; object-fit: cover; flex: none; }
.pm-list .pm-card-body { padding: 0; }
.pm-list .pm-actions { flex-direction: row; flex-wrap: wrap; }
.pm-pending .pm-bubble { opacity: .72; }
.pm-state { font-size: 12px; color: var(--pm-muted); margin-top: 2px; display: flex; gap: 6px; align-items: center; }
.pm-state.pm-failed { color: #b3261e; }
.pm-retry { border: 0; background: none; color: #b3261e; text-decoration: underline; cursor: pointer; padding: 0; font-size: 12px; }
.pm-typing { font-size: 13px; color: var(--pm-muted); padding: 0 14px 4px; min-height: 0; display: flex; align-items: center; gap: 6px; }
.pm-typing[hidden] { display: none; }
.pm-dots { display: inline-flex; gap: 3px; }
.pm-dots i { width: 6px; height: 6px; border-radius: 50%; background: var(--pm-muted); animation: pm-blink 1.2s infinite; }
.pm-dots i:nth-child(2) { animation-delay: .2s; } .pm-dots i:nth-child(3) { animation-delay: .4s; }
@keyframes pm-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
@media (prefers-reduced-motion: reduce) { .pm-dots i { animation: none; } }
.pm-replies { display: flex; flex-wrap: wrap; gap: 6px; justify-content: flex-end; padding: 4px 12px; }
.pm-replies:empty { display: none; }
.pm-reply { border: 1px solid var(--pm-accent); color: var(--pm-accent); background: #fff; border-radius: 999px;
  padding: 5px 12px; cursor: pointer; display: inline-flex; gap: 6px; align-items: center; font-size: 14px; }
.pm-reply img { width: 18px; height: 18px; border-radius: 50%; }
.pm-menu { display: flex; flex-direction: column; gap: 4px; padding: 8px 12px; border-top: 1px solid var(--pm-line); }
.pm-menu[hidden] { display: none; }
.pm-menu-item { text-align: left; border: 1px solid var(--pm-line); background: #fff; color: var(--pm-accent);
  border-radius: 10px; padding: 8px 12px; cursor: pointer; text-decoration: none; font-size: 14px;
  overflow-wrap: anywhere; }
.pm-menu-item:hover { background: #f3f6fb; }
.pm-composer { display: flex; align-items: flex-end; gap: 6px; padding: 8px; border-top: 1px solid var(--pm-line); }
.pm-input { flex: 1; resize: none; border: 1px solid #8e99a8; border-radius: 18px; padding: 8px 12px;
  max-height: 120px; min-height: 40px; line-height: 1.4; background: #fff; }
.pm-tool { border: 0; background: transparent; color: var(--pm-accent); width: 40px; height: 40px;
  border-radius: 50%; cursor: pointer; display: grid; place-items: center; flex: none; padding: 0; }
.pm-tool:hover { background: #f0f3f8; }
.pm-send { background: var(--pm-accent); color: var(--pm-accent-fg); }
.pm-send:hover { background: var(--pm-accent); filter: brightness(1.1); }
.pm-file { display: none; }
@media (max-width: 480px) {
  .pm-root { right: 12px; bottom: 12px; }
  .pm-root.pm-open { inset: 0; }
  .pm-root.pm-open .pm-launcher { display: none; }
  .pm-panel { position: fixed; inset: 0; width: 100vw; height: 100%; border-radius: 0; margin: 0; }
}
`;

  // ------------------------------------------------------------ the widget

  // Events for on(): ready, destroy, message, message:received, message:sent,
  // unreadCount, typing:start, typing:stop, widget:opened, widget:closed,
  // connected, disconnected.
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
  const HEARTBEAT_MS = 25000;
  const DEAD_AFTER_MS = 60000;
  const ORPHAN_AFTER_MS = 90000; // a tab that stopped refreshing its queue entries

  const handlers = new Map(); // event -> Set(handler); survives destroy/init

  function emit(event, ...args) {
    for (const handler of handlers.get(event) || []) {
      try {
        handler(...args);
      } catch (error) {
        console.error(PREFIX, `a "${event}" handler failed`, error);
      }
    }
  }

  class Messenger {
    constructor(options) {
      this.options = options;
      this.appToken = options.appToken;
      this.base = (options.apiBaseUrl || defaultBaseUrl()).replace(/\/+$/, "");
      this.jwt = options.jwt || null;
      this.userId = options.userId || null;
      this.authCode = typeof options.authCode === "string" && options.authCode ? options.authCode : null;
      this.identityKey = `parley:${this.appToken}`;
      this.queueKey = `parley:${this.appToken}:queue`;
      const identity = store.get(this.identityKey) || {};
      this.clientId = typeof identity.clientId === "string" ? identity.clientId : randomId();
      this.app = null;
      this.user = null;
      this.messages = []; // server messages, oldest first
      this.byId = new Map();
      this.pending = new Map(); // ref -> {ref, frame, state, el, file?}
      this.delivered = new Set();
      this.unreadCount = 0;
      this.appMakerLastRead = 0;
      this.hasOlder = false;
      this.loadingOlder = false;
      this.opened = false;
      this.ws = null;
      this.connected = false; // authenticated and caught up
      this.attempt = 0;
      this.stopped = false;
      this.reinitInFlight = null;
      this.timers = new Set();
      this.lastFrameAt = 0;
      this.typingTimer = null;
      this.userTyping = false;
      this.onVisibility = () => {
        if (document.visibilityState === "visible") {
          if (!this.ws) this.connectNow();
          this.maybeRead();
        }
      };
      this.onOnline = () => this.connectNow();
      this.onOffline = () => {
        if (this.ws) this.ws.close();
      };
      this.onPageHide = () => this.saveQueue({ release: true });
      this.tabId = randomId();
    }

    // -- REST ---------------------------------------------------------

    headers(json) {
      const headers = { "app-token": this.appToken };
      if (this.jwt) headers.authorization = "Bearer " + this.jwt;
      if (json) headers["content-type"] = "application/json";
      return headers;
    }

    async request(method, path, body) {
      const init = { method, headers: this.headers(body !== undefined && !(body instanceof FormData)) };
      if (body instanceof FormData) init.body = body;
      else if (body !== undefined) init.body = JSON.stringify(body);
      const response = await fetch(this.base + path, init);
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      if (!response.ok) throw new ApiError(response.status, data);
      return data || {};
    }

    userPath(suffix) {
      return `/v1/appusers/${encodeURIComponent(this.user._id)}${suffix || ""}`;
    }

    // -- start / stop -------------------------------------------------

    async start() {
      const body = {
        device: {
          id: this.clientId,
          platform: "web",
          info: {
            sdkVersion: VERSION,
            currentUrl: window.location.href.slice(0, 1000),
            currentTitle: (document.title || "").slice(0, 200),
            browserLanguage: navigator.language || "",
            userAgent: (navigator.userAgent || "").slice(0, 500),
          },
        },
      };
      if (this.userId) body.userId = this.userId;
      else if (this.authCode) body.authCode = this.authCode;
      this.authCode = null; // spent by this init, whatever it answers
      let data;
      try {
        data = await this.request("POST", "/v1/init", body);
      } catch (error) {
        if (error instanceof ApiError && error.status === 403) {
          console.error(
            PREFIX,
            `init refused: ${error.message}. Add ${window.location.origin} to the app's ` +
              "allowed origins (Parley dashboard > app > Web Messenger) to embed the widget here."
          );
        } else if (error instanceof ApiError && error.status === 401 && this.userId && !this.jwt) {
          console.error(PREFIX, `init refused: ${error.message} Pass the jwt your server signs for this userId.`);
        } else if (error instanceof ApiError && error.status === 401) {
          console.error(PREFIX, `init refused: ${error.message} Check the appToken (and jwt).`);
        } else {
          console.error(PREFIX, "init failed:", error.message || error);
        }
        throw error;
      }
      if (this.stopped) throw new Error("destroyed");
      this.app = data.app || {};
      this.user = data.appUser;
      store.set(this.identityKey, { clientId: this.clientId, appUserId: this.user._id });
      this.render();
      await this.loadHistory();
      if (this.stopped) throw new Error("destroyed");
      this.restoreQueue();
      document.addEventListener("visibilitychange", this.onVisibility);
      window.addEventListener("online", this.onOnline);
      window.addEventListener("offline", this.onOffline);
      window.addEventListener("pagehide", this.onPageHide);
      // Keep this tab's queue entries marked as ours while they wait.
      this.queueTimer = setInterval(() => this.pending.size && this.saveQueue(), ORPHAN_AFTER_MS / 3);
      this.connect();
    }

    stop() {
      if (this.user && !this.stopped) this.saveQueue({ release: true });
      this.stopped = true;
      clearInterval(this.queueTimer);
      this.connected = false;
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      clearTimeout(this.typingTimer);
      clearInterval(this.heartbeat);
      if (this.ws) {
        this.ws.onclose = null;
        this.ws.close(1000);
        this.ws = null;
      }
      document.removeEventListener("visibilitychange", this.onVisibility);
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
      window.removeEventListener("pagehide", this.onPageHide);
      if (this.host) this.host.remove();
      this.host = null;
    }

    later(fn, ms) {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        fn();
      }, ms);
      this.timers.add(timer);
      return timer;
    }

    // -- history ------------------------------------------------------

    async loadHistory() {
      // init's appUser says whether a conversation exists (Smooch's
      // conversationStarted); without one the API rightly answers 404, so
      // the widget does not ask.
      if (this.user && this.user.conversationStarted === false) return;
      let data;
      try {
        data = await this.request("GET", this.userPath("/messages"));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return; // no conversation yet
        console.warn(PREFIX, "could not load the conversation:", error.message);
        return;
      }
      this.unreadCount = (data.conversation && data.conversation.unreadCount) || 0;
      this.hasOlder = Boolean(data.previous);
      for (const message of data.messages || []) this.addMessage(message, { history: true });
      this.updateMore();
      this.updateBadge();
      this.renderQuickReplies();
      this.scrollToEnd();
    }

    async loadOlder() {
      if (!this.hasOlder || this.loadingOlder || !this.messages.length) return;
      this.loadingOlder = true;
      this.log.setAttribute("aria-busy", "true");
      const before = this.messages[0].received;
      const oldHeight = this.log.scrollHeight;
      const oldTop = this.log.scrollTop;
      try {
        const data = await this.request("GET", this.userPath(`/messages?before=${before}`));
        this.hasOlder = Boolean(data.previous);
        for (const message of data.messages || []) this.addMessage(message, { history: true });
        this.log.scrollTop = this.log.scrollHeight - oldHeight + oldTop;
      } catch (error) {
        console.warn(PREFIX, "could not load older messages:", error.message);
      } finally {
        this.loadingOlder = false;
        this.log.removeAttribute("aria-busy");
        this.updateMore();
      }
    }

    // -- websocket ----------------------------------------------------

    wsUrl() {
      return this.base.replace(/^http/, "ws") + "/sdk/ws/";
    }

    connect() {
      if (this.stopped || this.ws) return;
      let ws;
      try {
        ws = new WebSocket(this.wsUrl());
      } catch (error) {
        this.scheduleReconnect();
        return;
      }
      this.ws = ws;
      this.setStatus(this.attempt ? "Reconnecting…" : "");
      ws.onopen = () => {
        const auth = {
          type: "auth",
          appToken: this.appToken,
          appUserId: this.user._id,
          clientId: this.clientId,
        };
        if (this.jwt) auth.jwt = this.jwt;
        const since = this.newestReceived();
        if (since) auth.since = since;
        this.sendFrame(auth, true);
      };
      ws.onmessage = (event) => {
        this.lastFrameAt = Date.now();
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        if (frame && typeof frame.type === "string") this.onFrame(frame);
      };
      ws.onclose = (event) => {
        if (this.ws !== ws) return;
        this.ws = null;
        const wasConnected = this.connected;
        this.connected = false;
        clearInterval(this.heartbeat);
        for (const entry of this.pending.values()) entry.inFlight = false;
        this.hideTyping();
        this.refreshPending();
        if (wasConnected) emit("disconnected");
        if (this.stopped) return;
        if (event.code === 4001 || event.code === 4004) {
          this.reinit();
          return;
        }
        // 1012: the server is restarting (docs/sdk-protocol.md); another
        // process takes over, so start again from the shortest wait.
        if (event.code === 1012) this.attempt = 0;
        this.setStatus("Reconnecting…");
        this.scheduleReconnect();
      };
    }

    scheduleReconnect() {
      if (this.stopped || this.reconnectTimer) return;
      const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt += 1;
      const delay = base / 2 + Math.random() * (base / 2);
      this.reconnectTimer = this.later(() => {
        this.reconnectTimer = null;
        this.connect();
      }, delay);
    }

    /** Try at once (back online, tab visible again). */
    connectNow() {
      if (this.stopped || this.ws) return;
      if (this.reconnectTimer) {
        clearTimeout(this.reconnectTimer);
        this.timers.delete(this.reconnectTimer);
        this.reconnectTimer = null;
      }
      this.connect();
    }

    /** The server refused the socket (user gone, credentials changed):
     *  start over with /v1/init once, then reconnect. */
    async reinit() {
      if (this.reinitInFlight) return;
      this.setStatus("Reconnecting…");
      this.reinitInFlight = (async () => {
        try {
          const data = await this.request("POST", "/v1/init", {
            device: { id: this.clientId, platform: "web" },
            ...(this.userId ? { userId: this.userId } : {}),
          });
          if (data.appUser._id !== this.user._id) {
            this.user = data.appUser;
            store.set(this.identityKey, { clientId: this.clientId, appUserId: this.user._id });
            this.clearConversation();
          }
          this.scheduleReconnect();
        } catch (error) {
          console.error(PREFIX, "the messenger could not reconnect:", error.message || error);
          this.setStatus("Disconnected.");
        } finally {
          this.reinitInFlight = null;
        }
      })();
    }

    sendFrame(frame, force) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN || (!force && !this.connected)) return false;
      this.ws.send(JSON.stringify(frame));
      return true;
    }

    onFrame(frame) {
      switch (frame.type) {
        case "ready":
          return this.onReady(frame);
        case "message":
          if (frame.message) this.addMessage(frame.message, { live: true });
          return;
        case "ack":
          return this.onAck(frame);
        case "typing":
          if (frame.role === "appMaker") {
            if (frame.state === "start") this.showTyping(frame);
            else this.hideTyping();
          }
          return;
        case "read":
          if (frame.role === "appMaker" && typeof frame.at === "number") {
            this.appMakerLastRead = Math.max(this.appMakerLastRead, frame.at);
            this.updateStates();
          }
          return;
        case "error":
          return this.onError(frame);
        case "pong":
          if (this.syncing) {
            this.syncing = false;
            this.connected = true;
            this.setStatus("");
            this.flushQueue();
            this.refreshPending();
            this.maybeRead();
            emit("connected");
          }
          return;
        default:
      }
    }

    onReady(frame) {
      this.attempt = 0;
      if (frame.appUser) this.user = frame.appUser;
      if (frame.conversation && typeof frame.conversation.appMakerLastRead === "number") {
        this.appMakerLastRead = Math.max(this.appMakerLastRead, frame.conversation.appMakerLastRead);
        this.updateStates();
      }
      if (frame.conversation && typeof frame.conversation.unreadCount === "number") {
        this.unreadCount = frame.conversation.unreadCount;
        this.updateBadge();
      }
      // Catch-up messages come right after `ready`; the server answers a ping
      // after them, so the queue is flushed knowing what already arrived.
      this.syncing = true;
      this.sendFrame({ type: "ping" }, true);
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(() => {
        if (!this.ws) return;
        if (Date.now() - this.lastFrameAt > DEAD_AFTER_MS) {
          this.ws.close();
          return;
        }
        this.sendFrame({ type: "ping" }, true);
      }, HEARTBEAT_MS);
    }

    onAck(frame) {
      if (!this.pending.has(frame.ref)) return;
      if (frame.message) this.addMessage(frame.message, { ref: frame.ref });
      this.settlePending(frame.ref, frame.message);
    }

    /** A pending frame is done: drop its placeholder, resolve its promise. */
    settlePending(ref, message) {
      const entry = this.pending.get(ref);
      if (!entry) return;
      this.pending.delete(ref);
      if (entry.el) entry.el.remove();
      this.saveQueue();
      if (message) emit("message:sent", message);
      if (entry.resolve) entry.resolve(message);
    }

    refreshPending() {
      for (const entry of this.pending.values()) this.renderPendingState(entry);
    }

    onError(frame) {
      const entry = frame.ref !== undefined ? this.pending.get(frame.ref) : null;
      if (entry) {
        entry.state = "failed";
        entry.inFlight = false;
        entry.error = frame.description;
        this.saveQueue();
        this.renderPendingState(entry);
        if (entry.reject) entry.reject(new Error(frame.description || frame.code));
        entry.resolve = entry.reject = null;
        return;
      }
      console.error(PREFIX, `the server refused a frame: ${frame.code}: ${frame.description || ""}`);
    }

    // -- the outgoing queue (persisted; idempotent through `ref`) ---------

    /** The queue in localStorage holds every tab's unsent messages, each
     *  marked with its owner tab. A tab rewrites only its own entries; it
     *  adopts those of a tab that unloaded (owner cleared on pagehide) or
     *  went quiet (crashed), so a message is sent by one tab only. */
    saveQueue({ release = false } = {}) {
      if (!this.user) return;
      const now = Date.now();
      const others = (store.get(this.queueKey) || []).filter((e) => e && e.owner !== this.tabId);
      for (const entry of this.pending.values()) {
        if (entry.frame && entry.persist && entry.state !== "failed") {
          others.push({
            ref: entry.ref, frame: entry.frame, at: entry.at, appUserId: this.user._id,
            owner: release ? null : this.tabId, seen: now,
          });
        }
      }
      if (others.length) store.set(this.queueKey, others);
      else store.remove(this.queueKey);
    }

    restoreQueue() {
      const saved = store.get(this.queueKey) || [];
      const staleBefore = Date.now() - ORPHAN_AFTER_MS;
      for (const e of saved) {
        if (!e || e.appUserId !== this.user._id || !e.frame || this.pending.has(e.ref)) continue;
        if (e.owner && e.owner !== this.tabId && e.seen > staleBefore) continue; // another live tab's
        const entry = { ref: e.ref, frame: e.frame, at: e.at, state: "sending", persist: true };
        this.pending.set(e.ref, entry);
        this.renderPending(entry);
      }
      // Adopted entries are rewritten as this tab's; the rest stay as they were.
      const mine = new Set(this.pending.keys());
      store.set(this.queueKey, saved.filter((e) => e && !mine.has(e.ref)));
      this.saveQueue();
    }

    enqueue(frame, { persist = true, label } = {}) {
      const ref = frame.ref || randomId();
      frame.ref = ref;
      const entry = { ref, frame, at: Date.now() / 1000, state: "sending", persist, label };
      const promise = new Promise((resolve, reject) => {
        entry.resolve = resolve;
        entry.reject = reject;
      });
      this.pending.set(ref, entry);
      if (frame.type === "message") this.renderPending(entry);
      this.saveQueue();
      this.flushQueue();
      return promise;
    }

    flushQueue() {
      if (!this.connected) return;
      for (const entry of this.pending.values()) {
        if (!entry.frame || entry.inFlight || entry.state === "failed") continue;
        // Sent again even when it was stored before the connection dropped
        // (ack lost): the server knows its `ref` and acks the stored message.
        if (this.sendFrame(entry.frame)) entry.inFlight = true;
      }
      this.saveQueue();
    }

    retry(entry) {
      entry.state = "sending";
      entry.error = null;
      if (entry.file) {
        this.renderPendingState(entry);
        this.upload(entry);
        return;
      }
      entry.persist = true;
      this.renderPendingState(entry);
      this.saveQueue();
      this.flushQueue();
    }

    // -- messages -----------------------------------------------------

    newestReceived() {
      let newest = 0;
      for (const m of this.messages) if (m.received > newest) newest = m.received;
      return newest;
    }

    addMessage(message, { live = false, history = false, ref = null } = {}) {
      if (!message || typeof message._id !== "string") return;
      if (ref && this.pending.has(ref)) this.settlePending(ref, message);
      if (this.byId.has(message._id)) return;
      // Sorted by `received` (history pages arrive older first).
      let index = this.messages.length;
      while (index > 0 && this.messages[index - 1].received > message.received) index -= 1;
      this.messages.splice(index, 0, message);
      this.byId.set(message._id, message);
      const el = this.renderMessage(message);
      const next = this.messages[index + 1];
      const nextEl = next ? this.log.querySelector(`[data-id="${CSS.escape(next._id)}"]`) : null;
      if (nextEl) this.log.insertBefore(el, nextEl);
      else this.log.insertBefore(el, this.firstPendingEl());
      this.refreshAuthorLines(index);

      if (message.role === "appMaker") {
        this.hideTyping();
        if (!this.delivered.has(message._id) && !history) {
          this.delivered.add(message._id);
          this.sendFrame({ type: "delivered", messageId: message._id }, true);
        }
        if (live) {
          if (!this.isSeen() && !this.syncing) {
            this.unreadCount += 1;
            this.updateBadge();
          }
          emit("message:received", message);
        }
      }
      emit("message", message);
      if (!history || index === this.messages.length - 1) this.renderQuickReplies();
      if (!history) {
        this.scrollToEnd();
        this.maybeRead();
      }
    }

    firstPendingEl() {
      for (const entry of this.pending.values()) if (entry.el && entry.el.isConnected) return entry.el;
      return null;
    }

    clearConversation() {
      this.messages = [];
      this.byId.clear();
      for (const entry of this.pending.values()) {
        if (entry.el) entry.el.remove();
        if (entry.reject) entry.reject(new Error("logged out"));
      }
      this.pending.clear();
      this.delivered.clear();
      this.unreadCount = 0;
      this.appMakerLastRead = 0;
      this.hasOlder = false;
      if (this.log) {
        for (const el of Array.from(this.log.querySelectorAll(".pm-msg"))) el.remove();
      }
      this.renderQuickReplies();
      this.updateMore();
      this.updateBadge();
    }

    isSeen() {
      return this.opened && document.visibilityState === "visible";
    }

    /** Tell the server the user saw the conversation (delivery -> read). */
    maybeRead() {
      if (!this.isSeen() || !this.connected) return;
      const hasUnread =
        this.unreadCount > 0 ||
        this.messages.some((m) => m.role === "appMaker" && !m.__readSent);
      if (!hasUnread) return;
      if (this.sendFrame({ type: "read" })) {
        for (const m of this.messages) if (m.role === "appMaker") m.__readSent = true;
        this.unreadCount = 0;
        this.updateBadge();
      }
    }

    // -- public actions -----------------------------------------------

    sendMessage(message) {
      let body = typeof message === "string" ? { type: "text", text: message } : { ...message };
      if (!body.type) body.type = "text";
      if (body.type === "text" && !(typeof body.text === "string" && body.text.trim())) {
        return Promise.reject(new Error("A text message needs text."));
      }
      // The frame's `ref` makes it idempotent on the server (re-sent after a
      // lost ack, it is not stored twice); it never shows in the message.
      return this.enqueue({ type: "message", ref: randomId(), message: body });
    }

    sendPostback(action) {
      const frame = { type: "postback", action: { payload: action.payload } };
      if (action._id) frame.action._id = action._id;
      if (action.text) frame.action.text = action.text;
      return this.enqueue(frame, { persist: false });
    }

    sendLocation(button) {
      if (!navigator.geolocation) {
        this.setStatus("Location is not available in this browser.");
        return;
      }
      if (button) button.disabled = true;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          if (button) button.disabled = false;
          this.sendMessage({
            type: "location",
            coordinates: { lat: position.coords.latitude, long: position.coords.longitude },
          });
          this.clearQuickReplies();
        },
        (error) => {
          if (button) button.disabled = false;
          this.setStatus("Could not get your location" + (error && error.message ? `: ${error.message}` : "."));
        },
        { timeout: 15000 }
      );
    }

    uploadImage(file) {
      if (!file) return;
      if (!/^image\//.test(file.type)) {
        this.setStatus("Only images can be sent.");
        return;
      }
      const ref = randomId();
      const entry = { ref, file, state: "sending", label: `Image: ${file.name}`, persist: false };
      entry.promise = new Promise((resolve, reject) => {
        entry.resolve = resolve;
        entry.reject = reject;
      });
      entry.promise.catch(() => {});
      this.pending.set(ref, entry);
      this.renderPending(entry);
      this.upload(entry);
      return entry.promise;
    }

    async upload(entry) {
      const form = new FormData();
      form.append("role", "appUser");
      form.append("source", entry.file, entry.file.name || "image");
      try {
        const data = await this.request("POST", this.userPath("/images"), form);
        if (data.message) this.addMessage(data.message);
        this.settlePending(entry.ref, data.message);
      } catch (error) {
        entry.state = "failed";
        entry.error = error.message;
        this.renderPendingState(entry);
      }
    }

    async updateUser(props) {
      const allowed = ["givenName", "surname", "email", "signedUpAt", "properties"];
      const body = {};
      for (const key of allowed) if (props && props[key] !== undefined) body[key] = props[key];
      const data = await this.request("PUT", this.userPath(), body);
      if (data.appUser) this.user = data.appUser;
      return this.user;
    }

    // -- rendering ----------------------------------------------------

    render() {
      if (this.host) return;
      const widget = this.app || {};
      const name = widget.name || "Chat";
      this.host = h("div", { id: "parley-messenger", "data-parley": VERSION });
      const root = this.host.attachShadow({ mode: "open" });
      this.shadow = root;
      adoptStyles(root);
      if (isColor(widget.accentColor)) {
        this.host.style.setProperty("--pm-accent", widget.accentColor);
        this.host.style.setProperty("--pm-accent-fg", readableOn(widget.accentColor));
      }
      const iconUrl = safeUrl(widget.iconUrl);

      this.titleEl = h("h2", { class: "pm-title", id: "pm-title", text: name });
      this.statusEl = h("div", { class: "pm-status", role: "status" });
      this.moreBtn = h("button", {
        type: "button",
        class: "pm-more",
        hidden: true,
        text: "Load earlier messages",
        onclick: () => this.loadOlder(),
      });
      this.log = h(
        "div",
        {
          class: "pm-log",
          role: "log",
          "aria-live": "polite",
          "aria-relevant": "additions",
          "aria-label": "Conversation",
          tabindex: "0",
        },
        this.moreBtn,
        widget.greeting ? h("p", { class: "pm-greeting", text: widget.greeting }) : null
      );
      this.log.addEventListener("scroll", () => {
        if (this.log.scrollTop < 40) this.loadOlder();
      });
      this.typingEl = h("div", { class: "pm-typing", hidden: true, role: "status" });
      this.repliesEl = h("div", { class: "pm-replies", role: "group", "aria-label": "Quick replies" });
      this.input = h("textarea", {
        class: "pm-input",
        id: "pm-input",
        rows: "1",
        placeholder: "Type a message…",
        "aria-label": "Type a message",
        maxlength: "10000",
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submitComposer();
        }
      });
      this.input.addEventListener("input", () => this.onUserTyping());
      this.fileInput = h("input", {
        type: "file",
        class: "pm-file",
        accept: "image/*",
        tabindex: "-1",
        "aria-hidden": "true",
      });
      this.fileInput.addEventListener("change", () => {
        const file = this.fileInput.files && this.fileInput.files[0];
        this.fileInput.value = "";
        this.uploadImage(file);
      });
      // The app's persistent menu (GET /v1/menu), behind a button in the
      // composer: link items open their page, postback items send a
      // postback as a postback button does.
      this.menuEl = this.renderMenu(widget.menu);
      this.menuBtn = this.menuEl
        ? h(
            "button",
            {
              type: "button",
              class: "pm-tool pm-menu-toggle",
              "aria-label": (widget.menu && widget.menu.name) || "Menu",
              title: (widget.menu && widget.menu.name) || "Menu",
              "aria-haspopup": "true",
              "aria-expanded": "false",
              "aria-controls": "pm-menu",
              onclick: () => this.toggleMenu(),
            },
            icon("menu")
          )
        : null;
      const form = h(
        "form",
        { class: "pm-composer", onsubmit: (event) => (event.preventDefault(), this.submitComposer()) },
        this.menuBtn,
        h(
          "button",
          {
            type: "button",
            class: "pm-tool pm-attach",
            "aria-label": "Send an image",
            title: "Send an image",
            onclick: () => this.fileInput.click(),
          },
          icon("image")
        ),
        this.fileInput,
        this.input,
        h("button", { type: "submit", class: "pm-tool pm-send", "aria-label": "Send", title: "Send" }, icon("send"))
      );
      this.panel = h(
        "div",
        {
          class: "pm-panel",
          id: "pm-panel",
          role: "dialog",
          "aria-modal": "false",
          "aria-labelledby": "pm-title",
          hidden: true,
        },
        h(
          "div",
          { class: "pm-header" },
          // An icon that cannot load is left out, never shown broken.
          iconUrl ? h("img", { src: iconUrl, alt: "", onerror: (event) => event.target.remove() }) : null,
          h(
            "div",
            { class: "pm-header-text" },
            this.titleEl,
            h("p", { class: "pm-subtitle", text: "We usually reply in a few minutes" })
          ),
          h(
            "button",
            { type: "button", class: "pm-close", "aria-label": "Close chat", onclick: () => this.close() },
            icon("close")
          )
        ),
        this.statusEl,
        this.log,
        this.typingEl,
        this.repliesEl,
        this.menuEl,
        form
      );
      this.panel.addEventListener("keydown", (event) => {
        if (event.key === "Escape") {
          event.stopPropagation();
          this.close();
        }
      });
      this.badge = h("span", { class: "pm-badge", hidden: true, "aria-hidden": "true" });
      this.launcherLabel = `Open chat with ${name}`;
      this.launcher = h(
        "button",
        {
          type: "button",
          class: "pm-launcher",
          "aria-label": this.launcherLabel,
          "aria-expanded": "false",
          "aria-controls": "pm-panel",
          onclick: () => (this.opened ? this.close() : this.open()),
        },
        iconUrl ? h("img", { src: iconUrl, alt: "", onerror: (event) => event.target.replaceWith(icon("chat")) }) : icon("chat"),
        this.badge
      );
      this.rootEl = h("div", { class: "pm-root" }, this.panel, this.launcher);
      root.append(this.rootEl);
      (document.body || document.documentElement).append(this.host);
    }

    open() {
      if (!this.panel || this.opened) return;
      this.opened = true;
      this.panel.hidden = false;
      this.rootEl.classList.add("pm-open");
      this.launcher.setAttribute("aria-expanded", "true");
      this.launcher.setAttribute("aria-label", "Minimize chat");
      this.scrollToEnd();
      this.input.focus();
      this.maybeRead();
      emit("widget:opened");
    }

    close() {
      if (!this.panel || !this.opened) return;
      this.opened = false;
      this.panel.hidden = true;
      this.rootEl.classList.remove("pm-open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.updateBadge();
      this.launcher.focus();
      emit("widget:closed");
    }

    submitComposer() {
      const text = this.input.value;
      if (!text.trim()) return;
      this.input.value = "";
      this.stopUserTyping();
      this.sendMessage(text).catch(() => {});
    }

    onUserTyping() {
      if (!this.userTyping && this.input.value.trim()) {
        this.userTyping = true;
        this.sendFrame({ type: "typing", state: "start" });
      }
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.stopUserTyping(), 5000);
    }

    stopUserTyping() {
      clearTimeout(this.typingTimer);
      if (this.userTyping) {
        this.userTyping = false;
        this.sendFrame({ type: "typing", state: "stop" });
      }
    }

    setStatus(text) {
      if (this.statusEl && this.statusEl.textContent !== text) this.statusEl.textContent = text;
    }

    updateBadge() {
      if (!this.badge) return;
      const count = this.unreadCount;
      this.badge.hidden = count <= 0;
      this.badge.textContent = count > 99 ? "99+" : String(count);
      if (!this.opened) {
        this.launcher.setAttribute(
          "aria-label",
          count > 0 ? `${this.launcherLabel} (${count} unread)` : this.launcherLabel
        );
      }
      emit("unreadCount", count);
    }

    updateMore() {
      if (this.moreBtn) this.moreBtn.hidden = !this.hasOlder;
    }

    scrollToEnd() {
      if (this.log) this.log.scrollTop = this.log.scrollHeight;
    }

    showTyping(frame) {
      const who = (typeof frame.name === "string" && frame.name) || (this.app && this.app.name) || "";
      this.typingEl.replaceChildren(
        this.avatar(who, frame.avatarUrl),
        h("span", { text: who ? `${who} is typing` : "Typing" }),
        h("span", { class: "pm-dots", "aria-hidden": "true" }, h("i"), h("i"), h("i"))
      );
      this.typingEl.hidden = false;
      emit("typing:start", { name: who, avatarUrl: safeUrl(frame.avatarUrl) || undefined });
      clearTimeout(this.typingExpiry);
      this.typingExpiry = setTimeout(() => this.hideTyping(), 30000);
    }

    hideTyping() {
      if (!this.typingEl || this.typingEl.hidden) return;
      clearTimeout(this.typingExpiry);
      this.typingEl.hidden = true;
      this.typingEl.replaceChildren();
      emit("typing:stop");
    }

    avatar(name, url) {
      const src = safeUrl(url) || safeUrl(this.app && this.app.iconUrl);
      const initial = () => h("span", { class: "pm-avatar pm-initials", "aria-hidden": "true", text: initials(name) });
      if (!src) return initial();
      // An avatar that cannot load (Gravatar unreachable, a dead link)
      // becomes the initials, never a broken image.
      const img = h("img", { class: "pm-avatar", src, alt: "" });
      img.addEventListener("error", () => img.replaceWith(initial()), { once: true });
      return img;
    }

    authorName(message) {
      return message.name || (this.app && this.app.name) || "";
    }

    /** Show the business author's name and avatar on the first message of
     *  a run (a new author, or after a user message). */
    refreshAuthorLines(index) {
      for (const i of [index, index + 1]) {
        const message = this.messages[i];
        if (!message || message.role !== "appMaker") continue;
        const el = this.log.querySelector(`[data-id="${CSS.escape(message._id)}"]`);
        if (!el) continue;
        const prev = this.messages[i - 1];
        const first = !prev || prev.role !== "appMaker" || this.authorName(prev) !== this.authorName(message);
        const line = el.querySelector(".pm-author");
        line.hidden = !first;
      }
    }

    renderMessage(message) {
      const role = message.role === "appUser" ? "appUser" : "appMaker";
      const wide = message.type === "carousel" || message.type === "list";
      const el = h("div", {
        class: `pm-msg pm-${role}${wide ? " pm-wide" : ""}`,
        "data-id": message._id,
        "data-type": message.type,
      });
      const when = typeof message.received === "number" ? new Date(message.received * 1000) : null;
      if (role === "appMaker") {
        const name = this.authorName(message);
        el.append(
          h("div", { class: "pm-author" }, this.avatar(name, message.avatarUrl), h("span", { class: "pm-name", text: name }))
        );
      } else {
        el.append(h("span", { class: "pm-visually-hidden", text: "You:" }));
      }
      el.append(...this.renderContent(message));
      if (role === "appUser") {
        const state = h("div", { class: "pm-state" });
        el.append(state);
        this.renderServerState(message, state);
      }
      if (when) el.setAttribute("title", when.toLocaleString());
      return el;
    }

    renderContent(message) {
      const parts = [];
      const text = typeof message.text === "string" ? message.text : "";
      const actions = Array.isArray(message.actions) ? message.actions : [];
      const items = Array.isArray(message.items) ? message.items : [];
      switch (message.type) {
        case "image": {
          const src = safeUrl(message.mediaUrl);
          const bubble = h("div", { class: "pm-bubble pm-media" });
          if (src) {
            bubble.append(
              h(
                "a",
                { href: src, target: "_blank", rel: "noopener noreferrer", "aria-label": "Open image" },
                h("img", { class: "pm-image", src, alt: text && text !== message.mediaUrl ? text : "Image" })
              )
            );
          }
          if (text && text !== message.mediaUrl) bubble.append(h("div", { class: "pm-caption" }, linkify(text)));
          parts.push(bubble);
          break;
        }
        case "carousel": {
          if (text) parts.push(h("div", { class: "pm-bubble" }, linkify(text)));
          const list = h("ul", { class: "pm-carousel", "aria-label": "Carousel", role: "list" });
          for (const item of items) list.append(this.renderItem(item, "li", "pm-card"));
          parts.push(list);
          break;
        }
        case "list": {
          if (text) parts.push(h("div", { class: "pm-bubble" }, linkify(text)));
          const list = h("ul", { class: "pm-list", "aria-label": "List", role: "list" });
          for (const item of items) list.append(this.renderItem(item, "li", "pm-list-item"));
          parts.push(list);
          break;
        }
        case "location": {
          const c = message.coordinates || {};
          const bubble = h("div", { class: "pm-bubble" });
          if (typeof c.lat === "number" && typeof c.long === "number" && !text) {
            const href = `https://maps.google.com/maps?q=${c.lat},${c.long}`;
            bubble.append(h("a", { href, target: "_blank", rel: "noopener noreferrer", text: "Location shared" }));
          } else bubble.append(linkify(text || "Location shared"));
          parts.push(bubble);
          break;
        }
        default:
          if (text || !actions.length) parts.push(h("div", { class: "pm-bubble" }, linkify(text)));
      }
      const buttons = actions.filter((a) => a && a.type !== "reply" && a.type !== "locationRequest");
      if (buttons.length) parts.push(this.renderActions(buttons, { title: "", text: "" }));
      return parts;
    }

    renderItem(item, tag, cls) {
      const el = h(tag, { class: cls });
      const src = safeUrl(item && item.mediaUrl);
      if (src) el.append(h("img", { src, alt: "" }));
      const body = h("div", { class: "pm-card-body" });
      body.append(h("p", { class: "pm-card-title", text: (item && item.title) || "" }));
      if (item && item.description) body.append(h("p", { class: "pm-card-desc", text: item.description }));
      const actions = Array.isArray(item && item.actions) ? item.actions : [];
      if (tag === "li" && cls === "pm-list-item" && actions.length) body.append(this.renderActions(actions, item));
      el.append(body);
      if (cls === "pm-card" && actions.length) el.append(this.renderActions(actions, item));
      return el;
    }

    renderActions(actions, context) {
      const box = h("div", { class: "pm-actions" });
      for (const action of actions) {
        if (!action || typeof action !== "object") continue;
        const label = typeof action.text === "string" && action.text ? action.text : "";
        switch (action.type) {
          case "postback":
            box.append(
              h("button", {
                type: "button",
                class: "pm-btn",
                text: label || "Select",
                onclick: () => this.sendPostback(action).catch(() => {}),
              })
            );
            break;
          case "share":
            box.append(
              h("button", {
                type: "button",
                class: "pm-btn",
                text: label || "Share",
                onclick: () => this.share(context, actions),
              })
            );
            break;
          case "buy": {
            const amount = formatAmount(action.amount, action.currency);
            const text = amount ? `${label || "Buy"} (${amount})` : label || "Buy";
            box.append(this.linkButton(action.uri, text));
            break;
          }
          default:
            // link, webview and anything newer: a link when it is http(s).
            box.append(this.linkButton(action.uri, label || "Open"));
        }
      }
      return box;
    }

    renderMenu(menu) {
      const items = menu && Array.isArray(menu.items) ? menu.items : [];
      const list = h("div", { class: "pm-menu", id: "pm-menu", role: "menu", "aria-label": menu && menu.name || "Menu", hidden: true });
      for (const item of items) {
        if (!item || typeof item.text !== "string" || !item.text) continue;
        if (item.type === "postback" && typeof item.payload === "string") {
          list.append(
            h("button", {
              type: "button",
              class: "pm-menu-item",
              role: "menuitem",
              text: item.text,
              onclick: () => {
                this.toggleMenu(false);
                this.sendPostback(item).catch(() => {});
              },
            })
          );
        } else if (item.type === "link" && safeUrl(item.uri)) {
          list.append(
            h("a", {
              class: "pm-menu-item",
              role: "menuitem",
              href: safeUrl(item.uri),
              target: "_blank",
              rel: "noopener noreferrer",
              text: item.text,
              onclick: () => this.toggleMenu(false),
            })
          );
        }
      }
      return list.childNodes.length ? list : null;
    }

    toggleMenu(show) {
      if (!this.menuEl) return;
      const open = show === undefined ? this.menuEl.hidden : show;
      this.menuEl.hidden = !open;
      this.menuBtn.setAttribute("aria-expanded", String(open));
    }

    linkButton(uri, text) {
      const href = safeUrl(uri);
      if (!href) return h("span", { class: "pm-btn pm-disabled", "aria-disabled": "true", text });
      return h("a", { class: "pm-btn", href, target: "_blank", rel: "noopener noreferrer", text });
    }

    share(item, actions) {
      const link = (actions || []).map((a) => safeUrl(a && a.uri)).find(Boolean) || safeUrl(item && item.mediaUrl);
      const data = { title: (item && item.title) || "", text: (item && item.description) || "" };
      if (link) data.url = link;
      if (navigator.share) {
        navigator.share(data).catch(() => {});
      } else if (link && navigator.clipboard) {
        navigator.clipboard.writeText(link).then(
          () => this.setStatus("Link copied."),
          () => {}
        );
      }
    }

    /** Reply and locationRequest actions of the last message, as chips. */
    renderQuickReplies() {
      if (!this.repliesEl) return;
      this.repliesEl.replaceChildren();
      const last = this.messages[this.messages.length - 1];
      if (!last || last.role !== "appMaker" || !Array.isArray(last.actions)) return;
      for (const action of last.actions) {
        if (!action || (action.type !== "reply" && action.type !== "locationRequest")) continue;
        const label = (typeof action.text === "string" && action.text) || "Reply";
        const iconSrc = safeUrl(action.iconUrl);
        const button = h(
          "button",
          { type: "button", class: "pm-reply" },
          iconSrc ? h("img", { src: iconSrc, alt: "" }) : null,
          h("span", { text: label })
        );
        if (action.type === "reply") {
          button.addEventListener("click", () => {
            this.clearQuickReplies();
            this.sendMessage({ type: "text", text: label, payload: action.payload }).catch(() => {});
            this.input.focus();
          });
        } else {
          button.addEventListener("click", () => this.sendLocation(button));
        }
        this.repliesEl.append(button);
      }
    }

    clearQuickReplies() {
      if (this.repliesEl) this.repliesEl.replaceChildren();
    }

    renderPending(entry) {
      const body = entry.frame ? entry.frame.message : null;
      const message = body
        ? { ...body, _id: "pending-" + entry.ref, role: "appUser" }
        : { type: "text", text: entry.label || "", _id: "pending-" + entry.ref, role: "appUser" };
      const el = h("div", { class: "pm-msg pm-appUser pm-pending", "data-ref": entry.ref });
      el.append(...this.renderContent(message));
      entry.stateEl = h("div", { class: "pm-state" });
      el.append(entry.stateEl);
      entry.el = el;
      this.log.append(el);
      this.renderPendingState(entry);
      this.scrollToEnd();
    }

    renderPendingState(entry) {
      if (!entry.stateEl) return;
      if (entry.state === "failed") {
        entry.stateEl.className = "pm-state pm-failed";
        entry.stateEl.replaceChildren(
          h("span", { text: "Not delivered." }),
          h("button", { type: "button", class: "pm-retry", text: "Retry", onclick: () => this.retry(entry) })
        );
      } else {
        entry.stateEl.className = "pm-state";
        entry.stateEl.textContent = this.connected || entry.file ? "Sending…" : "Waiting for network…";
      }
    }

    renderServerState(message, stateEl) {
      const read = this.appMakerLastRead && message.received <= this.appMakerLastRead;
      stateEl.textContent = read ? "Read" : "Sent";
    }

    /** Refresh sent/read marks and pending labels (connection changes, reads). */
    updateStates() {
      if (!this.log) return;
      for (const el of this.log.querySelectorAll(".pm-msg.pm-appUser[data-id]")) {
        const message = this.byId.get(el.getAttribute("data-id"));
        const stateEl = el.querySelector(".pm-state");
        if (message && stateEl) this.renderServerState(message, stateEl);
      }
    }

    conversation() {
      return {
        _id: this.user ? this.user._id : undefined,
        unreadCount: this.unreadCount,
        messages: this.messages.map((m) => {
          const copy = { ...m };
          delete copy.__readSent;
          return copy;
        }),
      };
    }
  }

  // ------------------------------------------------------------ public API

  let current = null;
  let lastOptions = null;

  function requireInit() {
    if (!current || !current.user) throw new Error(`${PREFIX} call init() first.`);
    return current;
  }

  function on(event, handler) {
    if (typeof handler !== "function") return;
    if (!handlers.has(event)) handlers.set(event, new Set());
    handlers.get(event).add(handler);
  }

  function off(event, handler) {
    if (event === undefined) handlers.clear();
    else if (handler === undefined) handlers.delete(event);
    else if (handlers.has(event)) handlers.get(event).delete(handler);
  }

  async function init(options) {
    if (!options || typeof options.appToken !== "string" || !options.appToken) {
      const error = new Error(`${PREFIX} init needs {appToken}.`);
      console.error(error.message);
      throw error;
    }
    if (current) destroy();
    lastOptions = { ...options };
    // Single use: login, logout and a later init never send it again.
    delete lastOptions.authCode;
    const messenger = new Messenger({ ...lastOptions, authCode: options.authCode });
    current = messenger;
    try {
      await messenger.start();
    } catch (error) {
      if (current === messenger) {
        messenger.stop();
        current = null;
      }
      throw error;
    }
    if (current !== messenger) throw new Error(`${PREFIX} init superseded.`);
    emit("ready", messenger.user);
    return messenger.user;
  }

  function destroy() {
    if (!current) return;
    const messenger = current;
    current = null;
    messenger.stop();
    emit("destroy");
  }

  async function login(userId, jwt) {
    if (typeof userId !== "string" || !userId) throw new Error(`${PREFIX} login needs a userId.`);
    const options = { ...(lastOptions || {}), userId, jwt: jwt || undefined };
    const wasOpen = current && current.opened;
    const user = await init(options);
    if (wasOpen) current.open();
    return user;
  }

  async function logout() {
    if (!lastOptions) return;
    const appToken = lastOptions.appToken;
    const wasOpen = current && current.opened;
    if (current) {
      current.clearConversation();
      store.remove(current.queueKey);
    }
    const identity = store.get(`parley:${appToken}`) || {};
    store.set(`parley:${appToken}`, { clientId: identity.clientId });
    const options = { ...lastOptions };
    delete options.userId;
    delete options.jwt;
    const user = await init(options);
    if (wasOpen) current.open();
    return user;
  }

  const Parley = {
    __parleyMessenger: true,
    VERSION,
    init,
    login,
    logout,
    destroy,
    on,
    off,
    open() {
      if (current) current.open();
    },
    close() {
      if (current) current.close();
    },
    isOpened() {
      return Boolean(current && current.opened);
    },
    sendMessage(message) {
      return requireInit().sendMessage(message);
    },
    getUser() {
      return current && current.user ? { ...current.user } : undefined;
    },
    getConversation() {
      return current && current.user ? current.conversation() : undefined;
    },
    updateUser(props) {
      return requireInit().updateUser(props);
    },
    markAllAsRead() {
      if (current) current.maybeRead();
    },
    startTyping() {
      if (current) current.sendFrame({ type: "typing", state: "start" });
    },
    stopTyping() {
      if (current) current.sendFrame({ type: "typing", state: "stop" });
    },
  };

  window.Parley = Parley;
  window.Smooch = Parley;
})();
