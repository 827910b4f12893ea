// Ticks the breach-notice countdowns the server rendered (issue 15 §5; art. 21.11's 48 hours).
// Without this script the server's text stays as it was rendered; with it, the text follows the
// clock, in the page's language (the wording comes from the element's data attributes).
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function render(el) {
    var deadline = Date.parse(el.getAttribute("data-countdown-deadline"));
    if (isNaN(deadline)) { return; }
    var left = Math.round((deadline - Date.now()) / 1000);
    var total = Math.floor(Math.abs(left) / 60);
    var time = el.getAttribute("data-countdown-time")
      .replace("%(hours)s", String(Math.floor(total / 60)))
      .replace("%(minutes)02d", pad(total % 60));
    var wording = el.getAttribute(left >= 0 ? "data-countdown-left" : "data-countdown-overdue");
    el.textContent = wording.replace("%(time)s", time);
  }
  function tick() {
    var els = document.querySelectorAll("[data-countdown-deadline]");
    for (var i = 0; i < els.length; i++) { render(els[i]); }
  }
  tick();
  window.setInterval(tick, 15000);
}());
