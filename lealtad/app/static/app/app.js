// The app's shell: registers the service worker; on the signed-out page, tells it to forget
// the kept pages. No inline scripts anywhere (CSP): behaviour lives here.
"use strict";
(function () {
  if (!("serviceWorker" in navigator)) return;
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).then(function (reg) {
      if (document.body.hasAttribute("data-signed-out")) {
        const worker = reg.active || reg.waiting || reg.installing;
        if (worker) worker.postMessage("signed-out");
      }
    }).catch(function () { /* no worker: the app still works online */ });
  });
})();
