// The agent page's service worker (scope /agent): the page, its scripts, the map's roads and
// today's route stay on the phone, so the page reloads with no connection at all. The route
// is the network's when it answers and the last copy otherwise, and only on the day it is
// for: a copy of yesterday's route is never shown (and is deleted). Outcomes are not its
// business: the page queues them and sends each exactly once (agent.js).
"use strict";

const CACHE = "doorstep-agent-v1";
const ROUTE = "/api/v1/me/route";
const ME = "/api/v1/me";
const SHELL = [
  "/agent",
  "/static/app.css",
  "/static/common.js",
  "/static/maps.js",
  "/static/agent.js",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
];

/** The day it is now in `timezone`, by the server's clock as last seen: phones' clocks are
 *  often wrong, so the copy's own `now` plus the time elapsed on the phone since. */
function dayNow(copy, cachedAt) {
  const serverNow = Date.parse(copy.now) + (Date.now() - cachedAt);
  return new Intl.DateTimeFormat("en-CA", { timeZone: copy.timezone }).format(new Date(serverNow));
}

/** Keep `response` as the copy of `key`: only a real answer, never a sign-in page that a
 *  redirect led to. */
async function put(cache, key, response) {
  if (response.ok && !response.redirected) await cache.put(key, response.clone());
  return response;
}

/** Keep a copy of today's route, with when it was taken. */
async function keepRoute(cache, response) {
  if (!response.ok) return response;
  const body = await response.clone().json();
  const headers = new Headers(response.headers);
  headers.set("X-Doorstep-Cached-At", String(Date.now()));
  await cache.put(ROUTE, new Response(JSON.stringify(body), { status: 200, headers }));
  return response;
}

/** The copy of the route, if it is still for today; a stale copy is deleted. */
async function routeCopy(cache) {
  const cached = await cache.match(ROUTE);
  if (!cached) return null;
  const copy = await cached.json();
  const cachedAt = Number(cached.headers.get("X-Doorstep-Cached-At") || 0);
  if (copy.day !== dayNow(copy, cachedAt)) {
    await cache.delete(ROUTE);
    return null;
  }
  copy.offline_copy_at = new Date(cachedAt).toISOString();
  return new Response(JSON.stringify(copy), {
    status: 200, headers: { "Content-Type": "application/json" },
  });
}

async function warm() {
  const cache = await caches.open(CACHE);
  await Promise.all(SHELL.map((url) => fetch(url, { credentials: "same-origin" })
    .then((response) => put(cache, url, response)).catch(() => null)));
  await fetch(ME, { credentials: "same-origin" }).then((r) => put(cache, ME, r)).catch(() => null);
  const route = await fetch(ROUTE, { credentials: "same-origin" }).catch(() => null);
  if (route && route.ok) {
    await keepRoute(cache, route.clone());
    const { region } = await route.json();
    const basemap = `/api/v1/regions/${encodeURIComponent(region)}/basemap.geojson`;
    await fetch(basemap, { credentials: "same-origin" })
      .then((r) => put(cache, basemap, r)).catch(() => null);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(warm().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await routeCopy(await caches.open(CACHE)); // drops a copy from another day
    await self.clients.claim();
  })());
});

/** The network first; its answer kept; the copy when the network fails. */
async function networkFirst(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.status === 401) await caches.delete(CACHE); // signed out: forget it all
    else if (key === ROUTE) await keepRoute(cache, response.clone());
    else await put(cache, key, response);
    return response;
  } catch (error) {
    const copy = key === ROUTE ? await routeCopy(cache) : await cache.match(key);
    if (copy) return copy;
    throw error;
  }
}

/** The copy at once, refreshed from the network behind it (library files, the roads). */
async function cacheFirst(request, key) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key);
  const fresh = fetch(request).then((response) => put(cache, key, response)).catch(() => null);
  return cached || (await fresh) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin) return; // tiles: the browser's own cache
  if (event.request.method !== "GET") {
    if (url.pathname === "/logout") event.waitUntil(caches.delete(CACHE));
    return; // outcomes go through the page's queue, never a cache
  }
  if (event.request.mode === "navigate" && url.pathname === "/agent") {
    event.respondWith(networkFirst(event.request, "/agent"));
  } else if (url.pathname === ROUTE || url.pathname === ME) {
    event.respondWith(networkFirst(event.request, url.pathname));
  } else if (url.pathname.startsWith("/static/") || url.pathname.endsWith("/basemap.geojson")) {
    event.respondWith(cacheFirst(event.request, url.pathname));
  }
});
