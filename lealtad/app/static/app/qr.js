// The payment QR's countdown: the seconds left, from the fragment's data-expires (Unix time),
// in the words the server translated (data-left, data-expired). Without this script the
// fragment still says until when it is valid, and HTMX replaces it before then.
"use strict";
(function () {
  function tick() {
    document.querySelectorAll(".countdown[data-expires]").forEach(function (el) {
      const left = Math.round(Number(el.dataset.expires) - Date.now() / 1000);
      el.textContent = left > 0 ? el.dataset.left.replace("{seconds}", left) : el.dataset.expired;
      el.classList.toggle("expired", left <= 0);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
})();
