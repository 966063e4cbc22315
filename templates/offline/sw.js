/*
 * The field app's service worker (served by geo_disputes/views/offline.py at /sw.js, scope "/").
 * App shell: static files (hashed names: cache first, they never change under one name; plain names
 * in development: network first) and the
 * field page, the intake form and the script catalogue (network first, within a few seconds; the kept
 * copy when there is no network or it hangs). Any other page opened with no network gets the kept
 * offline page (CONFIG.fallback: what works offline, in the user's language), not the browser's error page.
 * Everything else — the API above all — goes to the network untouched: offline data and the outbox live in IndexedDB, handled by js/offline.js.
 * A page can ask to keep what it loaded ("keep") or to forget the kept pages ("forget", at logout
 * or when another user logs in on this phone).
 */
"use strict";
var CONFIG = {{ config|safe }};
var SHELL = "gd-shell-" + CONFIG.version;
var PAGES = "gd-pages"; // the kept HTML is one user's: dropped at logout, not at a release
var NETWORK_WAIT_MS = 4000; // a weak line: the kept page after this long, the network's answer still kept

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(SHELL).then(function (cache) {
      return cache.addAll(CONFIG.shell);
    }).then(keepPages).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("gd-shell-") === 0 && name !== SHELL;
      }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(function () {
      return self.clients.claim();
    })
  );
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "keep" && Array.isArray(data.urls)) {
    event.waitUntil(keep(data.urls));
  } else if (data.type === "forget") {
    // Here, not in the page: the page is navigating away (logout) and could not finish the deletion.
    // `refill`: another user now uses this phone; keep the pages again as they see them.
    var forgotten = Promise.all([caches.delete(PAGES), data.user ? forgetPack(String(data.user)) : null]);
    event.waitUntil(data.refill ? forgotten.then(keepPages) : forgotten);
  }
});

// Background Sync (where the browser has it): the outbox is sent by an open page (js/offline.js), so wake them.
self.addEventListener("sync", function (event) {
  if (event.tag !== "gd-outbox") return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (clients) {
    clients.forEach(function (client) {
      client.postMessage({ type: "sync" });
    });
  }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf(CONFIG.static) === 0) {
    event.respondWith(CONFIG.hashed ? cacheFirst(request) : networkThenKept(request));
  } else if (CONFIG.pages.indexOf(url.pathname) !== -1) {
    event.respondWith(networkFirst(request, url.pathname));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(function () {
      return caches.open(PAGES).then(function (cache) {
        return cache.match(CONFIG.fallback);
      }).then(function (hit) {
        return hit || Response.error();
      });
    }));
  }
});

/* The pages as this user sees them (cookies go along); a redirect to the login page is not kept. */
function keepPages() {
  return caches.open(PAGES).then(function (cache) {
    return Promise.all(CONFIG.pages.concat([CONFIG.fallback]).map(function (url) {
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (keepable(response)) return cache.put(url, response);
      }).catch(function () {});
    }));
  });
}

/* Drop `user`'s kept area pack (js/offline.js's database; its drafts stay, keyed by user). */
function forgetPack(user) {
  return new Promise(function (resolve) {
    var open = indexedDB.open("gd-offline", 1);
    open.onupgradeneeded = function () {
      open.transaction.abort(); // no database yet: nothing to drop
    };
    open.onerror = function () {
      resolve();
    };
    open.onsuccess = function () {
      var tx = open.result.transaction("packs", "readwrite");
      tx.objectStore("packs").delete(user);
      tx.oncomplete = tx.onabort = tx.onerror = function () {
        open.result.close();
        resolve();
      };
    };
  });
}

function keepable(response) {
  return response && response.ok && !response.redirected && response.type === "basic";
}

function keep(urls) {
  return Promise.all(urls.map(function (href) {
    var url = new URL(href, self.location.origin);
    if (url.origin !== self.location.origin) return null;
    var page = CONFIG.pages.indexOf(url.pathname) !== -1;
    if (!page && url.pathname.indexOf(CONFIG.static) !== 0) return null;
    return caches.open(page ? PAGES : SHELL).then(function (cache) {
      var key = page ? url.pathname : url.href;
      return cache.match(key).then(function (hit) {
        if (hit && !page) return;
        return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
          if (keepable(response)) return cache.put(key, response);
        });
      });
    }).catch(function () {});
  }));
}

function cacheFirst(request) {
  return caches.open(SHELL).then(function (cache) {
    return cache.match(request, { ignoreSearch: false }).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (keepable(response)) cache.put(request, response.clone());
        return response;
      });
    });
  });
}

function networkThenKept(request) {
  return caches.open(SHELL).then(function (cache) {
    return fetch(request).then(function (response) {
      if (keepable(response)) cache.put(request, response.clone());
      return response;
    }).catch(function () {
      return cache.match(request).then(function (hit) {
        return hit || Response.error();
      });
    });
  });
}

function networkFirst(request, key) {
  return caches.open(PAGES).then(function (cache) {
    var network = fetch(request).then(function (response) {
      if (keepable(response)) cache.put(key, response.clone());
      return response;
    });
    var kept = function () {
      return cache.match(key).then(function (hit) {
        return hit || network;
      });
    };
    var timer = new Promise(function (resolve) {
      setTimeout(resolve, NETWORK_WAIT_MS);
    });
    return Promise.race([network, timer.then(kept)]).catch(kept);
  });
}
