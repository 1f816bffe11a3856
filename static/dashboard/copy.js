/* Copy buttons on every dashboard page (base.html loads this file).
 *
 * A button with data-copy="<text>" copies that text; data-copy-from="<id>"
 * copies the text of that element (a snippet too long for an attribute).
 * The button says "Copied" for a moment; its width does not change
 * (dashboard.css), so nothing around it moves. The copy is announced in
 * the page's own #copy-status region where it has one (the live pages).
 */
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy failed"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  function textOf(button) {
    if (button.hasAttribute("data-copy")) return button.getAttribute("data-copy");
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    return source ? source.textContent.trim() : "";
  }

  /* A polite live region made on the first copy (not in every page's
   * markup, where it would be one more "status" on pages that have theirs);
   * the text is set a moment later, so the new region is announced. */
  function announce(text) {
    var own = document.getElementById("copy-status");
    if (own) { own.textContent = text; return; }
    var status = document.getElementById("copy-announce");
    if (!status) {
      status = document.createElement("span");
      status.id = "copy-announce";
      status.className = "visually-hidden";
      status.setAttribute("aria-live", "polite");
      document.body.appendChild(status);
    }
    status.textContent = "";
    setTimeout(function () { status.textContent = text; }, 100);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-from]");
    if (!button) return;
    var text = textOf(button);
    copyText(text).then(function () {
      button.textContent = "Copied";
      button.classList.add("copied");
      announce(button.hasAttribute("data-copy") ? "Copied " + text : "Copied");
      setTimeout(function () {
        button.textContent = "Copy";
        button.classList.remove("copied");
      }, 2500);
    }, function () {
      button.textContent = "Copy failed";
    });
  });
})();
