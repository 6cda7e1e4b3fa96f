// changedesk: small enhancements only; every page works without JavaScript.
// Loaded in the head, not deferred: the class below is set before the header is drawn.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // The main menu: on a phone the site's CSS folds it behind the "Menu" button, whose
  // aria-expanded says whether it is open (without JavaScript the menu is always open).
  function setMenu(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var menuButton = target.closest(".menu-button[aria-controls]");
    if (menuButton) {
      setMenu(menuButton, menuButton.getAttribute("aria-expanded") !== "true");
      return;
    }
    if (target.closest("[data-print]")) {
      window.print();
    }
    var danger = target.closest("button.danger[name=action]");
    if (danger && !window.confirm(danger.textContent.trim() + ": are you sure? This cannot be undone.")) {
      event.preventDefault();
    }
  });

  // Escape closes the open menu from the button or from inside it, back on the button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var button = document.querySelector(".menu-button[aria-expanded=true]");
    if (!button) return;
    var menu = document.getElementById(button.getAttribute("aria-controls"));
    if (document.activeElement === button || (menu && menu.contains(document.activeElement))) {
      setMenu(button, false);
      button.focus();
    }
  });

  // A table that scrolls sideways in its wrapper (.table-wrap) must be reachable from the
  // keyboard (a named region with tabindex="0"). Wrappers that can scroll on a phone have
  // that in their template; this marks any other while it scrolls (at an in-between width,
  // or a table that has grown), and unmarks it when it no longer does.
  function markScrollingTables() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      var scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !wrap.hasAttribute("tabindex")) {
        var caption = wrap.querySelector("caption");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table");
        wrap.setAttribute("data-marked", "");
      } else if (!scrolls && wrap.hasAttribute("data-marked")) {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
        wrap.removeAttribute("data-marked");
      }
    }
  }

  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(markScrollingTables, 150);
  });
  // Once laid out (again when the stylesheets in a page's body have come), and after htmx
  // swaps in new results (the change log's filters).
  document.addEventListener("DOMContentLoaded", markScrollingTables);
  window.addEventListener("load", markScrollingTables);
  document.addEventListener("htmx:afterSettle", markScrollingTables);
})();
