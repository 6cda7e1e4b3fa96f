// changedesk: small enhancements only; every page works without JavaScript.
document.addEventListener("click", function (event) {
  var target = event.target;
  if (!(target instanceof Element)) return;
  if (target.closest("[data-print]")) {
    window.print();
  }
  var danger = target.closest("button.danger[name=action]");
  if (danger && !window.confirm(danger.textContent.trim() + ": are you sure? This cannot be undone.")) {
    event.preventDefault();
  }
});
