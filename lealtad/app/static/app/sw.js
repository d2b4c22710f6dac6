// The app's service worker (served at /app/sw.js with scope /app/). The shell and the QR page are
// kept for offline reading; every page is network-first, the kept copy only when offline.
"use strict";
const VERSION = /*VERSION*/"dev";
const CACHE = "lealtad-app-" + VERSION;
const SHELL = /*SHELL*/[];
const KEEP = new Set(["/app/", "/app/qr/"]);  // pages refreshed in the cache each visit
// Counts sign-outs: a page fetched before one is not kept after it (its copy would land after the
// forgetting and bring the customer's page back).
let signOuts = 0;

self.addEventListener("install", (event) => {
  // Static files first; the pages are kept on their first signed-in visit (a page fetched
  // here without the cookie would be the sign-in redirect).
  const statics = SHELL.filter((url) => !KEEP.has(url));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(statics)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("lealtad-app-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  // Signed out: forget the pages kept for this customer.
  if (event.data === "signed-out") {
    signOuts += 1;
    event.waitUntil(caches.open(CACHE).then((cache) => Promise.all([...KEEP].map((url) => cache.delete(url)))));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (!url.pathname.startsWith("/app/")) return;
  const before = signOuts;
  event.respondWith(
    fetch(request).then((response) => {
      if (KEEP.has(url.pathname) && response.ok && !response.redirected && !url.search) {
        const copy = response.clone();
        event.waitUntil(caches.open(CACHE).then((cache) => (before === signOuts ? cache.put(url.pathname, copy) : null)));
      }
      return response;
    }).catch(() =>
      caches.match(url.pathname).then((hit) => hit || (request.mode === "navigate" ? caches.match("/app/offline/") : Response.error()))
    )
  );
});
