// Fieldbook's service worker: the app shell from the cache, so the app starts with no network.
//
// The build (xtask/src/pwa.rs) writes dist/sw.js from this file, filling in VERSION (a hash of
// the shell's contents) and SHELL (every file index.html and the manifest reference, read from
// what trunk produced). A new build therefore means a new worker, which the browser finds on
// its own update checks and the app's.
//
// - install: every shell file goes into the cache `fieldbook-shell-VERSION`. Hashed files the
//   previous version already cached are copied from there instead of downloaded again. If any
//   file fails, the install fails, its partial cache is deleted and the old version keeps
//   serving.
// - The new version waits until the app asks it to take over (the "Reload to update" banner),
//   so a page never runs code from two builds; a first install takes over at once.
// - activate: only now, with the new shell complete, the old caches are deleted.
// - fetch: navigations get the cached index.html (the app routes on the client), shell files
//   come from the cache, the API (/api/) and everything else go to the network untouched.
// - the API (/api/) is routed past the worker where the browser supports it (see
//   apiBypassesWorker); elsewhere the fetch handler returns without answering it.
// - message: `skip-waiting` (the banner's tap) and `version` (Settings asks which version
//   serves this page; the answer goes back on the port that came with the message).

const VERSION = "%VERSION%";
const SHELL = [/* %SHELL% */];

const PREFIX = 'fieldbook-shell-';
const CACHE = PREFIX + VERSION;
const INDEX = '/index.html';
const SHELL_SET = new Set(SHELL);
const HASHED = /-[0-9a-f]{12,16}(?:_bg)?\.[a-z0-9]+$/;

self.addEventListener('install', (event) => {
  event.waitUntil(Promise.all([precache(), apiBypassesWorker(event)]));
});

// Where the browser can route requests before they reach a worker (Chromium's static routing),
// the API goes straight to the network: no worker start-up for a sync call, and a new version
// that was told to take over never waits behind the old worker's in-flight API requests (sync
// retries while offline kept restarting the old worker, and activation waited for it).
async function apiBypassesWorker(event) {
  if (typeof event.addRoutes !== 'function' || typeof URLPattern !== 'function') {
    return;
  }
  try {
    await event.addRoutes({
      condition: { urlPattern: new URLPattern({ pathname: '/api/*' }) },
      source: 'network',
    });
  } catch (error) {
    // The fetch handler below leaves the API alone anyway.
  }
}

async function precache() {
  const cache = await caches.open(CACHE);
  try {
    await Promise.all(SHELL.map(async (path) => {
      if (HASHED.test(path)) {
        // A hashed name never changes content: reuse the copy an older version cached.
        const kept = await caches.match(path);
        if (kept) {
          await cache.put(path, kept);
          return;
        }
      }
      const response = await fetch(new Request(path, { cache: 'no-cache' }));
      if (!response.ok) {
        throw new Error(`${path}: HTTP ${response.status}`);
      }
      await cache.put(path, response);
    }));
  } catch (error) {
    await caches.delete(CACHE);
    throw error;
  }
}

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names
      .filter((name) => name.startsWith(PREFIX) && name !== CACHE)
      .map((name) => caches.delete(name)));
    await self.clients.claim();
  })());
});

self.addEventListener('message', (event) => {
  const data = event.data || {};
  if (data.type === 'skip-waiting') {
    self.skipWaiting();
  } else if (data.type === 'version' && event.ports[0]) {
    event.ports[0].postMessage({ version: VERSION });
  }
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith('/api/')) {
    return;
  }
  if (request.mode === 'navigate') {
    event.respondWith(fromCache(INDEX, request));
  } else if (SHELL_SET.has(url.pathname)) {
    event.respondWith(fromCache(url.pathname, request));
  }
});

async function fromCache(path, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(path);
  return hit || fetch(request);
}
