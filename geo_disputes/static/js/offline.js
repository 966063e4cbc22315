/*
 * Offline capture for grid workers (issue 17): the field page and the intake form work with no signal.
 *
 * - The service worker (/sw.js) keeps the app shell; this script registers it and tells it which files
 *   the page loaded, so the next opening works with no network.
 * - The offline area pack (/api/offline-pack/: the worker's own villages — outlines, grids, parcels with
 *   code and land use, no holders) is kept in IndexedDB per user, refreshed with If-None-Match when online,
 *   its size shown against a budget; above the budget none is kept. `GDOffline.lookup(lon, lat)` answers
 *   village, grid and parcels from it by ray casting (WGS84, as the phone's GPS gives it).
 * - The outbox: an intake form sent with no network becomes a draft in IndexedDB {key (a UUID made here),
 *   user, fields in the API's shape, photos as Blobs, state waiting/sending/synced/refused, answer/reason}.
 *   It syncs by itself — on load, on the `online` event, every 30 s while drafts wait (and a Background
 *   Sync tag where there is one, never relied on): POST /api/cases/ with `Idempotency-Key: <key>`, so a
 *   retry or a second tab never registers twice; then each photo to the attachments API, skipped when the
 *   case already holds a file with its SHA-256. The answer (reference, tier, unit) replaces the draft; a
 *   4xx refusal is final and shown with its reason (nothing is deleted); a network error or a 5xx waits.
 *   Routing and linking happen on the server only.
 * - Everything is keyed by the logged-in user; at logout (any page with the menu) the kept pages and the
 *   user's pack are dropped, and another user's drafts are never shown or sent.
 * Text from the server or the worker reaches the page through textContent only.
 */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) {
    return s;
  };
  var DB_NAME = "gd-offline";
  var RETRY_MS = 30000;
  var configNode = document.getElementById("offline");
  var config = configNode ? readConfig(configNode.dataset) : null;
  var GDOffline = (window.GDOffline = window.GDOffline || {});
  GDOffline.config = config;

  // --- IndexedDB ---------------------------------------------------------------------------------

  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var open = indexedDB.open(DB_NAME, 1);
        open.onupgradeneeded = function () {
          var d = open.result;
          d.createObjectStore("packs", { keyPath: "user" });
          var outbox = d.createObjectStore("outbox", { keyPath: "key" });
          outbox.createIndex("user", "user");
        };
        open.onsuccess = function () {
          resolve(open.result);
        };
        open.onerror = function () {
          reject(open.error);
        };
      });
    }
    return dbPromise;
  }

  function tx(store, mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store, mode);
        var result;
        Promise.resolve(work(t.objectStore(store))).then(function (r) {
          result = r;
        });
        t.oncomplete = function () {
          resolve(result);
        };
        t.onerror = t.onabort = function () {
          reject(t.error);
        };
      });
    });
  }

  function req(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }

  function getOne(store, key) {
    return tx(store, "readonly", function (s) {
      return req(s.get(key));
    });
  }

  function putOne(store, value) {
    return tx(store, "readwrite", function (s) {
      s.put(value);
    });
  }

  // --- the area pack -----------------------------------------------------------------------------

  GDOffline.pack = null;

  function loadPack() {
    return getOne("packs", config.user).then(function (kept) {
      GDOffline.pack = kept || null;
      return GDOffline.pack;
    });
  }

  /* Ask for the pack (If-None-Match when one is kept); keep it if it fits the budget. */
  GDOffline.refreshPack = function () {
    if (!navigator.onLine || !config.pack) return Promise.resolve(GDOffline.pack); // no scope: no pack by default
    var headers = { Accept: "application/json" };
    if (GDOffline.pack && GDOffline.pack.etag) headers["If-None-Match"] = GDOffline.pack.etag;
    return fetch(config.pack, { credentials: "same-origin", headers: headers })
      .then(function (response) {
        if (response.status === 304) {
          GDOffline.pack.checked = new Date().toISOString();
          return putOne("packs", GDOffline.pack).then(function () {
            return GDOffline.pack;
          });
        }
        if (!response.ok) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            packNote(gettext("离线数据未下载：") + problem(body), true);
            return GDOffline.pack;
          });
        }
        return response.text().then(function (text) {
          var size = new Blob([text]).size;
          if (size > config.budget) {
            packNote(gettext("离线数据 ") + kb(size) + gettext(" 超过上限 ") + kb(config.budget) + gettext("，未保存"), true);
            return GDOffline.pack;
          }
          var pack = { user: config.user, etag: response.headers.get("ETag"), size: size, checked: new Date().toISOString(), data: JSON.parse(text) };
          return putOne("packs", pack).then(function () {
            GDOffline.pack = pack;
            return pack;
          });
        });
      })
      .catch(function () {
        return GDOffline.pack;
      })
      .then(function (pack) {
        showPack();
        return pack;
      });
  };

  function showPack() {
    var pack = GDOffline.pack;
    if (!pack) return packNote(gettext("本机尚无离线数据（联网打开本页即下载本村边界）"), false);
    var d = pack.data;
    var names = d.villages.features.map(function (f) {
      return f.properties.name;
    });
    packNote(
      gettext("离线数据：") + names.join("、") + " · " + d.grids.features.length + gettext(" 个网格 · ") +
        d.parcels.features.length + gettext(" 块地块 · ") + kb(pack.size) + " / " + kb(config.budget) +
        gettext(" · 更新于 ") + new Date(pack.checked).toLocaleString(),
      false
    );
  }

  function packNote(text, isError) {
    var node = document.getElementById("offline-pack");
    if (!node) return;
    node.textContent = text;
    node.className = isError ? "hint error" : "hint";
  }

  function kb(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  /* Where a WGS84 point lies by the kept pack: {village, grid, parcels, features} or null without a pack. */
  GDOffline.lookup = function (lon, lat) {
    var pack = GDOffline.pack;
    if (!pack) return null;
    var d = pack.data;
    var hit = function (fc) {
      return fc.features.filter(function (f) {
        return containsPoint(f.geometry, lon, lat);
      });
    };
    var villages = hit(d.villages);
    var grids = hit(d.grids);
    var parcels = hit(d.parcels);
    return {
      point: { lon: lon, lat: lat },
      village: villages[0] || null,
      grid: grids[0] || null,
      parcels: parcels,
      inPack: villages.length > 0,
    };
  };

  /* Ray casting: a point is inside a polygon when a ray from it crosses the outer ring an odd number of
     times and no hole holds it. (Multi)Polygon GeoJSON only, as the pack holds. */
  function containsPoint(geometry, x, y) {
    if (!geometry) return false;
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    return polygons.some(function (rings) {
      if (!rings.length || !inRing(rings[0], x, y)) return false;
      for (var i = 1; i < rings.length; i++) if (inRing(rings[i], x, y)) return false;
      return true;
    });
  }
  GDOffline.containsPoint = containsPoint;

  function inRing(ring, x, y) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  // --- the outbox --------------------------------------------------------------------------------

  /* A new draft from the API-shaped `fields` and the chosen `files` (File objects, kept as Blobs). */
  GDOffline.saveDraft = function (fields, files) {
    var draft = {
      key: crypto.randomUUID(),
      user: config.user,
      created: new Date().toISOString(),
      fields: fields,
      photos: (files || []).map(function (file) {
        return { name: file.name, type: file.type, blob: file, sent: false };
      }),
      state: "waiting",
      answer: null,
      reason: "",
    };
    return putOne("outbox", draft).then(function () {
      renderOutbox();
      if ("serviceWorker" in navigator && window.SyncManager) {
        navigator.serviceWorker.ready.then(function (reg) {
          return reg.sync.register("gd-outbox");
        }).catch(function () {});
      }
      GDOffline.sync();
      return draft;
    });
  };

  GDOffline.drafts = function () {
    return tx("outbox", "readonly", function (s) {
      return req(s.index("user").getAll(config.user));
    }).then(function (rows) {
      return (rows || []).sort(function (a, b) {
        return a.created < b.created ? -1 : 1;
      });
    });
  };

  var syncing = null;
  var again = false; // asked while sending (a draft saved meanwhile): one more round after this one
  /* Send every waiting draft of this user, one after another; resolves when done. */
  GDOffline.sync = function () {
    if (syncing) {
      again = true;
      return syncing;
    }
    if (!navigator.onLine) return Promise.resolve();
    // One tab at a time sends this user's outbox (a second tab would upload the same photo twice).
    var exclusive = navigator.locks
      ? function (work) {
          return navigator.locks.request("gd-outbox-" + config.user, work);
        }
      : function (work) {
          return work();
        };
    syncing = exclusive(function () {
      return GDOffline.drafts().then(function (drafts) {
        return drafts.reduce(function (chain, draft) {
          if (draft.state !== "waiting" && draft.state !== "sending") return chain;
          return chain.then(function () {
            return send(draft);
          });
        }, Promise.resolve());
      });
    })
      .catch(function () {})
      .then(function () {
        syncing = null;
        if (again) {
          again = false;
          return GDOffline.sync();
        }
        return renderOutbox();
      });
    return syncing;
  };

  function send(draft) {
    draft.state = "sending";
    return putOne("outbox", draft)
      .then(renderOutbox)
      .then(function () {
        if (draft.answer) return draft.answer; // registered before a photo failed: only the photos are left
        return fetch(config.cases, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "Idempotency-Key": draft.key, "X-CSRFToken": csrfToken() },
          body: JSON.stringify(draft.fields),
        }).then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (body) {
            if (response.status === 201 || response.status === 200) {
              draft.answer = {
                reference: body.reference,
                tier: body.tier_label || body.tier || "",
                unit: body.unit ? body.unit.name || body.unit.code || "" : "",
                visible: body.visible !== false,
              };
              return putOne("outbox", draft).then(function () {
                return draft.answer;
              });
            }
            if (response.status === 401 || (response.status === 403 && /credentials|CSRF|认证/i.test(body.detail || ""))) {
              throw { login: true }; // the session ended while offline: not a refusal, sent after the next login
            }
            if (response.status >= 400 && response.status < 500) throw { refused: problem(body) || String(response.status) };
            throw { retry: true };
          });
        });
      })
      .then(function (answer) {
        return sendPhotos(draft, answer);
      })
      .then(function () {
        draft.state = "synced";
        draft.reason = "";
        return putOne("outbox", draft);
      })
      .catch(function (error) {
        if (error && error.refused) {
          draft.state = draft.answer ? "synced" : "refused";
          draft.reason = error.refused;
        } else if (error && error.login) {
          draft.state = "waiting";
          draft.reason = gettext("登录已过期：请重新登录，之后自动发送");
        } else {
          draft.state = "waiting"; // a network error or a 5xx: tried again later
          later();
        }
        return putOne("outbox", draft);
      });
  }

  /* Each photo not yet sent: skipped when the case already holds a file with its SHA-256 (a retry after a
     lost answer), else uploaded. A refused photo is noted, not retried (the case itself stands). */
  function sendPhotos(draft, answer) {
    var pending = draft.photos.filter(function (p) {
      return !p.sent;
    });
    if (!pending.length || !answer.visible) return Promise.resolve();
    var url = config.attachments.replace("__ref__", encodeURIComponent(answer.reference));
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw response.status >= 500 ? { retry: true } : { refused: gettext("照片未能上传") };
        return response.json();
      })
      .then(function (body) {
        var held = new Set((body.attachments || []).map(function (a) {
          return a.sha256;
        }));
        return pending.reduce(function (chain, photo) {
          return chain.then(function () {
            return sha256(photo.blob).then(function (digest) {
              if (held.has(digest)) return digest;
              var form = new FormData();
              form.append("file", photo.blob, photo.name || "photo.jpg");
              return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }, body: form }).then(function (response) {
                if (response.status >= 500) throw { retry: true };
                if (!response.ok) {
                  return response.json().catch(function () { return {}; }).then(function (b) {
                    photo.problem = problem(b);
                  });
                }
              });
            }).then(function () {
              photo.sent = true;
              return putOne("outbox", draft);
            });
          });
        }, Promise.resolve());
      });
  }

  function sha256(blob) {
    return blob.arrayBuffer().then(function (buffer) {
      return crypto.subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    });
  }

  var retryTimer = null;
  function later() {
    if (retryTimer) return;
    retryTimer = setTimeout(function () {
      retryTimer = null;
      GDOffline.sync();
    }, RETRY_MS);
  }

  var STATES = { waiting: gettext("待发送"), sending: gettext("发送中"), synced: gettext("已登记"), refused: gettext("被拒绝") };

  function renderOutbox() {
    var box = document.getElementById("outbox");
    if (!box) return Promise.resolve();
    return GDOffline.drafts().then(function (drafts) {
      var list = box.querySelector("ul");
      list.replaceChildren();
      box.hidden = !drafts.length;
      drafts.forEach(function (draft) {
        var item = document.createElement("li");
        item.className = "draft " + draft.state;
        item.dataset.key = draft.key;
        item.dataset.state = draft.state;
        var head = document.createElement("strong");
        head.textContent = STATES[draft.state] || draft.state;
        item.appendChild(head);
        item.appendChild(document.createTextNode(" " + new Date(draft.created).toLocaleString() + " · " + (draft.fields.description || "").slice(0, 40)));
        var more = document.createElement("div");
        if (draft.answer) {
          var link = document.createElement("a");
          link.textContent = draft.answer.reference;
          link.href = config.caseDetail.replace("__ref__", encodeURIComponent(draft.answer.reference));
          more.appendChild(link);
          more.appendChild(document.createTextNode(" · " + [draft.answer.tier, draft.answer.unit].filter(Boolean).join(" · ")));
        }
        if (draft.reason) more.appendChild(document.createTextNode((draft.answer ? " · " : "") + draft.reason));
        var unsent = draft.photos.filter(function (p) { return !p.sent; }).length;
        var problems = draft.photos.filter(function (p) { return p.problem; }).map(function (p) { return p.name + ": " + p.problem; });
        more.appendChild(document.createTextNode(
          " · " + gettext("照片 ") + draft.photos.length + (unsent ? gettext("（未传 ") + unsent + gettext("）") : "") + (problems.length ? " · " + problems.join("；") : "")
        ));
        item.appendChild(more);
        list.appendChild(item);
      });
      var waiting = drafts.filter(function (d) { return d.state === "waiting" || d.state === "sending"; }).length;
      box.querySelector(".outbox-summary").textContent = waiting
        ? gettext("待发送 ") + waiting + gettext(" 件") + (navigator.onLine ? "" : gettext("（无网络，联网后自动发送）"))
        : gettext("全部已处理");
    });
  }
  GDOffline.renderOutbox = renderOutbox;

  // --- the intake form: offline, a submission becomes a draft ---------------------------------------

  function intakeForm() {
    var form = document.querySelector("form.case-form");
    if (!form) return;
    // The kept page carries no prefill: a link from the field page's offline answer passes the point in the query.
    var query = new URLSearchParams(location.search);
    ["lon", "lat", "datum", "parcel_code"].forEach(function (name) {
      var field = form.elements[name];
      if (field && !field.value && query.get(name)) field.value = query.get(name);
    });
    form.addEventListener("submit", function (event) {
      if (navigator.onLine && !GDOffline.forceOutbox) return; // online: the form registers at once, as before
      event.preventDefault();
      var files = [];
      form.querySelectorAll("input[type=file][name=photos]").forEach(function (input) {
        Array.prototype.forEach.call(input.files || [], function (file) {
          files.push(file);
        });
      });
      GDOffline.saveDraft(intakeFields(form), files).then(function () {
        var note = document.getElementById("outbox-saved");
        if (note) {
          note.hidden = false;
          note.textContent = gettext("无网络：已存入待发送，联网后自动登记。");
        }
        form.reset();
        form.elements.description.value = "";
        window.scrollTo(0, 0);
      });
    });
  }

  /* The intake form's fields in the shape POST /api/cases/ takes (blanks left out: the server's defaults). */
  function intakeFields(form) {
    var e = form.elements;
    var text = function (name) {
      return e[name] ? String(e[name].value || "").trim() : "";
    };
    var fields = {
      category: text("category"),
      channel: text("channel"),
      kind: text("kind") || "claim",
      description: text("description"),
      datum: text("datum") || "wgs84",
      // Told with no signal: received then, not when the phone found a network (the clocks run from it).
      received_at: new Date().toISOString(),
    };
    [["lon", "lon"], ["lat", "lat"], ["accuracy_m", "accuracy_m"]].forEach(function (pair) {
      var value = parseFloat(text(pair[0]));
      if (isFinite(value)) fields[pair[1]] = value;
    });
    ["parcel_code", "procedure", "forwarded_by", "above_banner", "accused_unit"].forEach(function (name) {
      if (text(name)) fields[name] = text(name);
    });
    var households = parseInt(text("households_affected"), 10);
    if (isFinite(households)) fields.households_affected = households;
    var group = parseInt(text("group"), 10);
    if (isFinite(group)) fields.group = group;
    if (e.legacy && e.legacy.checked) fields.legacy = true;
    fields.departments = Array.prototype.filter.call(form.querySelectorAll("input[name=departments]"), function (box) {
      return box.checked;
    }).map(function (box) {
      return box.value;
    });
    var persons = text("accused_persons");
    if (persons) {
      fields.accused_persons = persons.split(/\n+/).filter(Boolean).map(function (line) {
        var parts = line.split(/[,，]/).map(function (s) { return s.trim(); });
        var person = { name: parts[0] };
        if (parts[1]) person.position = parts[1];
        if (parts[2]) person.unit = parts[2];
        if (parts[3]) person.user = parts[3];
        return person;
      });
    }
    fields.petitioners = [];
    form.querySelectorAll("tr.petitioner-row").forEach(function (row) {
      var value = function (suffix) {
        var input = row.querySelector("[name$='-" + suffix + "']");
        return input ? (input.type === "checkbox" ? input.checked : String(input.value || "").trim()) : "";
      };
      if (!value("name") && !value("phone") && !value("id_number")) return;
      var person = { name: value("name"), phone: value("phone"), id_number: value("id_number") };
      if (value("representative")) person.representative = true;
      fields.petitioners.push(person);
    });
    return fields;
  }

  // --- helpers, start-up ---------------------------------------------------------------------------

  function readConfig(data) {
    return {
      user: data.user,
      pack: data.pack,
      budget: parseInt(data.budget, 10),
      cases: data.cases,
      attachments: data.attachments,
      caseDetail: data.caseDetail,
      sw: data.sw,
      staticUrl: data.static,
      catalogue: data.catalogue,
    };
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  /* A refusal's reason from a DRF error body: "field: message" for the first field, or `detail`. */
  function problem(body) {
    if (!body || typeof body !== "object") return "";
    if (body.detail) return String(body.detail);
    var names = Object.keys(body);
    if (!names.length) return "";
    var value = body[names[0]];
    return names[0] + ": " + (Array.isArray(value) ? value.join(" ") : typeof value === "object" ? JSON.stringify(value) : String(value));
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register(config.sw, { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      // Keep what this page loaded (folium's scripts and styles included) and the page itself.
      var urls = performance.getEntriesByType("resource").map(function (entry) {
        return entry.name;
      }).filter(function (name) {
        return new URL(name).origin === location.origin && new URL(name).pathname.indexOf(config.staticUrl) === 0;
      });
      if (!navigator.serviceWorker.controller) urls.push(location.pathname, config.catalogue); // else kept as loaded
      (registration.active || navigator.serviceWorker.controller).postMessage({ type: "keep", urls: urls });
      GDOffline.workerReady = true;
    }).catch(function () {});
  }

  /* Another user on this phone: the kept pages are theirs, drop them (the drafts stay keyed by user). */
  function checkUser() {
    var last = localStorage.getItem("gd-offline-user");
    if (last && last !== config.user && navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget", user: last, refill: true });
    }
    localStorage.setItem("gd-offline-user", config.user);
  }

  function start() {
    if (!config || !window.indexedDB) return;
    checkUser();
    registerWorker();
    intakeForm();
    GDOffline.ready = loadPack()
      .then(function () {
        showPack();
        return GDOffline.refreshPack();
      })
      .then(function () {
        return renderOutbox();
      })
      .then(function () {
        return GDOffline.sync();
      });
    window.addEventListener("online", function () {
      GDOffline.refreshPack();
      GDOffline.sync();
    });
    window.addEventListener("offline", renderOutbox);
    if (navigator.serviceWorker) {
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "sync") GDOffline.sync();
      });
    }
  }

  start();
})();
