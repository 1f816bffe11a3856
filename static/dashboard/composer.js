/* The conversation page's composer (templates/dashboard/live/conversation.html).
 *
 * - Enter sends, Shift+Enter adds a line (as chat apps do); IME composition
 *   is left alone.
 * - A pasted image becomes the form's file (the server stores it like
 *   POST /appusers/{id}/images), so paste and upload are one path.
 * - `/` at the start opens the canned replies; typing filters them, Enter
 *   or a click inserts one (its id rides in the hidden `template` field, so
 *   its buttons go along).
 * - The counter counts the text in UTF-16 code units (a JavaScript string's
 *   length, as the platforms and messaging.integrations.fallback.utf16_length
 *   count) against the text limit of the channel the message goes to.
 * - Only the chosen type's fields are shown and enabled: a disabled field is
 *   not submitted, so nothing stale goes with another type.
 * - Note mode marks the composer as private and says so on the button.
 * Every listener is delegated from `document`: htmx swaps the composer out
 * after each send.
 */
(function () {
  "use strict";

  function form() { return document.getElementById("composer-form"); }
  function textarea() { var f = form(); return f && f.elements.text; }

  // ------------------------------------------------------------ type fields

  function syncTypeFields() {
    var f = form();
    if (!f || !f.elements.type) return;
    var type = f.elements.type.value;
    f.querySelectorAll("[data-for-types]").forEach(function (el) {
      var on = el.getAttribute("data-for-types").split(" ").indexOf(type) !== -1;
      el.hidden = !on;
      el.querySelectorAll("input, select, textarea").forEach(function (field) { field.disabled = !on; });
    });
  }

  // ----------------------------------------------------------------- mode

  function syncMode() {
    var f = form();
    if (!f) return;
    var checked = f.querySelector("input[name=mode]:checked");
    var note = checked && checked.value === "note";
    var composer = document.getElementById("composer");
    if (composer) composer.classList.toggle("note-mode", note);
    var send = document.getElementById("composer-send");
    if (send) send.textContent = note ? "Add note" : "Send";
    // A note is text only: the message's own fields sit out (disabled, so
    // not submitted).
    f.querySelectorAll(".composer-attach, .row-form, details.repeat, [data-for-types]").forEach(function (el) {
      // The sender stays as it is: the next reply is still theirs.
      if (el.classList.contains("sender") || el.closest(".sender")) return;
      el.classList.toggle("sits-out", note);
      el.querySelectorAll("input, select, textarea").forEach(function (field) { field.disabled = note; });
    });
    if (!note) syncTypeFields();
    updateCounter();
  }

  // -------------------------------------------------------------- counter

  function parseMap(raw, sep) {
    var map = {};
    (raw || "").split(sep).forEach(function (pair) {
      var i = pair.indexOf("=");
      if (i > 0) map[pair.slice(0, i)] = pair.slice(i + 1);
    });
    return map;
  }

  function updateCounter() {
    var counter = document.getElementById("composer-counter");
    var area = textarea();
    var f = form();
    if (!counter || !area || !f) return;
    var used = area.value.length;  // UTF-16 code units
    var checked = f.querySelector("input[name=mode]:checked");
    if (checked && checked.value === "note") {
      counter.textContent = used ? used + " characters · note, not sent" : "";
      counter.dataset.over = "false";
      return;
    }
    var choice = (f.elements.destination && f.elements.destination.value) || "auto";
    var limit = parseInt(parseMap(counter.dataset.limits, ",")[choice] || "0", 10);
    var name = parseMap(counter.dataset.names, "|")[choice] || "";
    if (!limit) {
      counter.textContent = used ? used + " characters" : "";
      counter.dataset.over = "false";
      return;
    }
    var over = used > limit;
    counter.dataset.over = over ? "true" : "false";
    counter.textContent = used.toLocaleString() + " / " + limit.toLocaleString() + (name ? " (" + name + ")" : "") +
      (over ? ": goes as " + Math.ceil(used / limit) + " messages" : "");
  }

  // -------------------------------------------------------- canned replies

  var picker = function () { return document.getElementById("canned-picker"); };

  function options() {
    var p = picker();
    return p ? Array.prototype.slice.call(p.querySelectorAll("li[data-template-id]")) : [];
  }

  function visibleOptions() { return options().filter(function (li) { return !li.hidden; }); }

  function filterPicker(query) {
    var q = (query || "").toLowerCase();
    var first = true;
    options().forEach(function (li) {
      var hit = !q || li.dataset.name.indexOf(q) !== -1 || (li.dataset.text || "").toLowerCase().indexOf(q) !== -1;
      li.hidden = !hit;
      li.setAttribute("aria-selected", hit && first ? "true" : "false");
      if (hit) first = false;
    });
  }

  function openPicker(query) {
    var p = picker();
    if (!p) return;
    p.hidden = false;
    filterPicker(query);
  }

  function closePicker() {
    var p = picker();
    if (p) p.hidden = true;
  }

  function pickerOpen() { var p = picker(); return p && !p.hidden; }

  function selected() {
    return visibleOptions().filter(function (li) { return li.getAttribute("aria-selected") === "true"; })[0];
  }

  function moveSelection(step) {
    var list = visibleOptions();
    if (!list.length) return;
    var i = list.indexOf(selected());
    var next = list[(i + step + list.length) % list.length];
    list.forEach(function (li) { li.setAttribute("aria-selected", li === next ? "true" : "false"); });
    next.scrollIntoView({ block: "nearest" });
  }

  function insertCanned(li) {
    var area = textarea();
    var f = form();
    if (!li || !area || !f) return;
    area.value = li.dataset.text || "";
    if (f.elements.template) f.elements.template.value = li.dataset.templateId;
    closePicker();
    area.focus();
    area.setSelectionRange(area.value.length, area.value.length);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // --------------------------------------------------------------- events

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target.matches) return;
    var inComposer = target.matches("#composer-form textarea[name=text]");
    var inSearch = target.id === "canned-search";
    if (!inComposer && !inSearch) return;
    if (pickerOpen()) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        moveSelection(event.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.key === "Escape") { event.preventDefault(); closePicker(); textarea().focus(); return; }
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        insertCanned(selected());
        return;
      }
    }
    if (inComposer && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      var f = form();
      if (f.requestSubmit) f.requestSubmit(); else f.submit();
    }
  });

  document.addEventListener("input", function (event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("#composer-form textarea[name=text]")) {
      var value = target.value;
      if (value.charAt(0) === "/" && value.indexOf("\n") === -1) openPicker(value.slice(1));
      else closePicker();
      var notice = document.querySelector("#composer .notice");
      if (notice) notice.remove();  // no stale "Sent." while writing the next one
      if (!value) { var f = form(); if (f && f.elements.template) f.elements.template.value = ""; }
      updateCounter();
    } else if (target.id === "canned-search") {
      filterPicker(target.value);
    }
  });

  document.addEventListener("click", function (event) {
    var li = event.target.closest && event.target.closest("#canned-options li[data-template-id]");
    if (li) insertCanned(li);
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) return;
    if (target.matches("#composer-form select[name=type]")) syncTypeFields();
    if (target.matches("#composer-form input[name=mode]")) syncMode();
    if (target.matches("#composer-form select[name=destination]")) updateCounter();
    if (target.matches("#composer-form input[type=file]")) {
      var status = document.getElementById("paste-status");
      if (status) status.textContent = target.files.length ? "Image attached: " + target.files[0].name : "";
    }
  });

  document.addEventListener("paste", function (event) {
    if (!event.target.closest || !event.target.closest("#composer-form")) return;
    var items = (event.clipboardData && event.clipboardData.files) || [];
    var image = Array.prototype.filter.call(items, function (file) { return /^image\//.test(file.type); })[0];
    var input = form() && form().querySelector("input[type=file][name=image]");
    if (!image || !input || typeof DataTransfer === "undefined") return;
    event.preventDefault();
    var transfer = new DataTransfer();
    transfer.items.add(new File([image], image.name || "pasted-image.png", { type: image.type }));
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  function fadeNotices() {
    document.querySelectorAll("#composer .notice[data-fades]").forEach(function (notice) {
      setTimeout(function () { notice.remove(); }, 5000);
    });
  }

  // Once per composer: htmx replaces the whole composer after each send
  // (its settle event's target is not always the new element), so a fresh
  // one is recognised by its missing mark.
  function setUp() {
    var f = form();
    if (!f || f.dataset.ready) return false;
    f.dataset.ready = "true";
    syncMode();
    fadeNotices();
    return true;
  }

  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    // After the composer's own send it is ready for the next reply; a
    // composer swapped in with a conversation (the inbox) leaves focus
    // where the page put it.
    if (setUp() && target && target.id === "composer") {
      var area = textarea();
      if (area) area.focus();
    }
  });
  setUp();
})();
