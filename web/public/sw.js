// Sealchat's service worker: it keeps the app shell (the page, its hashed scripts and styles,
// the icons) so the app opens without a network, and nothing else. Messages, keys, API answers
// and the socket never pass through its cache: requests to /api, /kms, /socket.io and
// /.well-known go straight to the network, untouched.

const CACHE = "sealchat-shell-v1";
const PAGE = "/index.html";
const STATIC = ["/favicon.svg", "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png", "/icons/icon-maskable-512.png"];
const NEVER = ["/api/", "/kms/", "/socket.io/", "/.well-known/", "/docs", "/openapi.json", "/healthz"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll([...STATIC]))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (NEVER.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === "navigate") {
    event.respondWith(page(request));
  } else if (url.pathname.startsWith("/assets/") || STATIC.includes(url.pathname)) {
    event.respondWith(asset(request));
  }
});

/** The page: from the network when it answers (kept for offline), else the kept copy. */
async function page(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && (response.headers.get("content-type") || "").startsWith("text/html")) {
      const html = await response.clone().text();
      await cache.put(PAGE, response.clone());
      await pruneAssets(cache, html);
    }
    return response;
  } catch (error) {
    const kept = await cache.match(PAGE);
    if (kept) return kept;
    throw error;
  }
}

/** Scripts, styles and icons: named by content hash (or fixed), so the kept copy is good. */
async function asset(request) {
  const cache = await caches.open(CACHE);
  const kept = await cache.match(request);
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

/** Forget hashed files the current page no longer names (an older build's). */
async function pruneAssets(cache, html) {
  const named = new Set(html.match(/\/assets\/[^"'\s)]+/g) || []);
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/assets/") && !named.has(path)) await cache.delete(request);
  }
}
