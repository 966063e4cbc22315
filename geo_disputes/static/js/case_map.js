/*
 * Small maps of the case pages, from the vendored Leaflet and our own layer API only (no tiles,
 * no outside request: the village boundaries are the base).
 *  - intake (#intake-map): villages by bounding box; a click fills lon/lat (WGS84) and asks
 *    /api/locate/ where that is; typed coordinates in any datum are located the same way.
 *  - case page (#case-map): the case point, its village and the parcels around it.
 *  - intake petitioners: an "add a row" button for the formset.
 * Text from the database goes into the page with textContent, never as HTML.
 */
(function () {
  "use strict";
  // The page's language from Django's JavaScript catalogue (/jsi18n/); the Chinese text itself without it.
  var gettext = window.gettext || function (s) {
    return s;
  };

  var BANNER_VIEW = { center: [39.8, 110.8], zoom: 9 };
  var VILLAGE_STYLE = { color: "#555", weight: 1, fillColor: "#8b1a1a", fillOpacity: 0.04 };
  var HOME_VILLAGE_STYLE = { color: "#8b1a1a", weight: 2, fillColor: "#8b1a1a", fillOpacity: 0.08 };
  var PARCEL_STYLE = { color: "#2b8a3e", weight: 1, fillOpacity: 0.05 };
  var CASE_PARCEL_STYLE = { color: "#2b8a3e", weight: 3, fillColor: "#2b8a3e", fillOpacity: 0.25 };
  var POINT_STYLE = { radius: 7, color: "#fff", weight: 2, fillColor: "#c92a2a", fillOpacity: 1 };

  function config(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function text(tag, value) {
    var node = document.createElement(tag);
    node.textContent = value === undefined || value === null ? "" : String(value);
    return node;
  }

  function withQuery(url, query) {
    var params = new URLSearchParams();
    Object.keys(query).forEach(function (key) {
      if (query[key] !== undefined && query[key] !== null && query[key] !== "") params.set(key, query[key]);
    });
    return url + (url.indexOf("?") < 0 ? "?" : "&") + params.toString();
  }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (r) {
      return r
        .json()
        .catch(function () {
          return null;
        })
        .then(function (body) {
          return { status: r.status, body: body };
        });
    });
  }

  function clamp(value, low, high) {
    return Math.max(low, Math.min(high, value));
  }

  function bboxOf(bounds) {
    return [
      clamp(bounds.getWest(), -180, 179.99),
      clamp(bounds.getSouth(), -90, 89.99),
      clamp(bounds.getEast(), -179.99, 180),
      clamp(bounds.getNorth(), -89.99, 90),
    ]
      .map(function (v) {
        return v.toFixed(5);
      })
      .join(",");
  }

  function newMap(node, view) {
    var map = L.map(node, { zoomControl: true, attributionControl: false, maxZoom: 19 });
    map.setView(view.center, view.zoom);
    return map;
  }

  /* A GeoJSON layer refilled from `url` for the visible box whenever the map moves. */
  function bboxLayer(map, url, options) {
    var layer = L.geoJSON(null, options).addTo(map);
    var seq = 0;
    function load() {
      var mine = ++seq;
      getJSON(withQuery(url, { bbox: bboxOf(map.getBounds()), page_size: 2000 })).then(function (res) {
        if (mine !== seq || res.status !== 200 || !res.body) return;
        layer.clearLayers();
        layer.addData(res.body);
      }, function () {
        // No network: the villages kept on the phone for offline capture (js/offline.js), if any.
        var pack = window.GDOffline && window.GDOffline.pack;
        if (mine !== seq || !pack || !options.offlineVillages) return;
        layer.clearLayers();
        layer.addData(pack.data.villages);
      });
    }
    map.on("moveend", load);
    load();
    return layer;
  }

  function nameTooltip(feature, layer) {
    var p = feature.properties || {};
    layer.bindTooltip(text("span", (p.name || "") + " " + (p.code || "")), { sticky: true });
  }

  /* Intake: click or type a point, see which village it is in. */
  function intake() {
    var node = document.getElementById("intake-map");
    var cfg = config("intake-map-config");
    var say = function (key) {
      return (cfg && cfg.text && cfg.text[key]) || key;
    };
    if (!node || !cfg || !window.L) return;
    var form = node.closest("form");
    var lon = form.elements.lon;
    var lat = form.elements.lat;
    var datum = form.elements.datum;
    var where = document.getElementById("intake-where");
    var map = newMap(node, BANNER_VIEW);
    bboxLayer(map, cfg.villages, { style: VILLAGE_STYLE, onEachFeature: nameTooltip, offlineVillages: true });
    var marker = null;

    function place(latlng) {
      if (marker) marker.setLatLng(latlng);
      else marker = L.circleMarker(latlng, POINT_STYLE).addTo(map);
    }

    function locate(move) {
      var x = parseFloat(lon.value);
      var y = parseFloat(lat.value);
      if (!isFinite(x) || !isFinite(y)) return;
      where.textContent = "…";
      getJSON(withQuery(cfg.locate, { lon: x, lat: y, datum: datum.value })).then(function (res) {
        if (res.status !== 200 || !res.body) {
          var detail = res.body && (res.body.detail || res.body.lon || res.body.lat || res.body.datum);
          where.textContent = "⚠ " + (detail ? window.GDOneLanguage(String(detail), cfg.english) : say("cannot"));
          where.className = "where error";
          return;
        }
        var loc = res.body;
        var latlng = [loc.point.lat, loc.point.lon];
        place(latlng);
        if (move) map.setView(latlng, Math.max(map.getZoom(), 13), { animate: false });
        var parts = [];
        if (loc.village) parts.push(loc.village.name);
        if (loc.township) parts.push(loc.township.name);
        if (loc.grid) parts.push(loc.grid.name + "(" + say("grid_worker") + " " + (loc.grid.worker.name || "—") + ")");
        if (loc.mining_areas && loc.mining_areas.length) {
          var m = loc.mining_areas[0];
          parts.push(m.name + " " + say(m.relation === "inside" ? "inside" : "zone"));
        }
        if (loc.datum === "gcj02") {
          parts.push(say("converted") + " " + loc.point.lon.toFixed(6) + ", " + loc.point.lat.toFixed(6));
        }
        where.textContent = say("where") + ": " + parts.join(" · ");
        where.className = "where";
      }, function () {
        offlineWhere(x, y);
      });
    }

    /* No network: the village and grid from the pack kept on the phone; the server places and routes
       the case when the outbox sends it (js/offline.js). GCJ-02 is converted there too. */
    function offlineWhere(x, y) {
      var offline = window.GDOffline;
      var hit = offline && offline.pack && datum.value !== "gcj02" ? offline.lookup(x, y) : null;
      if (datum.value !== "gcj02") place([y, x]);
      var parts = [];
      if (hit && hit.village) parts.push(hit.village.properties.name);
      if (hit && hit.grid) parts.push(hit.grid.properties.name);
      if (hit && hit.parcels.length) parts.push(hit.parcels[0].properties.code);
      where.textContent = say("where") + ": " + (parts.length ? parts.join(" · ") : "—") + " " + say("offline");
      where.className = "where";
    }

    map.on("click", function (e) {
      lon.value = e.latlng.lng.toFixed(7);
      lat.value = e.latlng.lat.toFixed(7);
      datum.value = "wgs84"; // the map is drawn in WGS84
      place(e.latlng);
      locate(false);
    });
    [lon, lat, datum].forEach(function (input) {
      input.addEventListener("change", function () {
        locate(true);
      });
    });
    if (lon.value && lat.value) locate(true);
  }

  /* Case page: the point, its village and the parcels nearby (the case's own parcels stand out). */
  function casePage() {
    var node = document.getElementById("case-map");
    var cfg = config("case-map-config");
    if (!node || !cfg || !window.L) return;
    var latlng = [cfg.point[1], cfg.point[0]];
    var map = newMap(node, { center: latlng, zoom: 15 });
    var own = {};
    (cfg.parcels || []).forEach(function (code) {
      own[code] = true;
    });
    bboxLayer(map, cfg.villages, {
      style: function (f) {
        return f.properties && f.properties.code === cfg.village ? HOME_VILLAGE_STYLE : VILLAGE_STYLE;
      },
      onEachFeature: nameTooltip,
    });
    bboxLayer(map, cfg.parcelsLayer, {
      style: function (f) {
        return own[f.properties && f.properties.code] ? CASE_PARCEL_STYLE : PARCEL_STYLE;
      },
      onEachFeature: nameTooltip,
    });
    L.circleMarker(latlng, POINT_STYLE).addTo(map).bindTooltip(text("span", gettext("事项位置")));
  }

  /* Intake petitioners: clone the formset's empty row, up to the formset's maximum. */
  function petitionerRows() {
    var button = document.getElementById("add-petitioner");
    var template = document.getElementById("petitioner-template");
    var body = document.getElementById("petitioner-rows");
    if (!button || !template || !body) return;
    var total = document.getElementById("id_petitioners-TOTAL_FORMS");
    var max = parseInt(document.getElementById("id_petitioners-MAX_NUM_FORMS").value, 10);
    button.hidden = false;
    button.addEventListener("click", function () {
      var n = parseInt(total.value, 10);
      if (n >= max) return;
      var row = template.content.firstElementChild.cloneNode(true);
      row.querySelectorAll("input").forEach(function (input) {
        ["name", "id"].forEach(function (attr) {
          var value = input.getAttribute(attr);
          if (value) input.setAttribute(attr, value.replace("__prefix__", String(n)));
        });
      });
      body.appendChild(row);
      total.value = String(n + 1);
      button.disabled = n + 1 >= max;
      row.querySelector("input").focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    intake();
    casePage();
    petitionerRows();
  });
})();
