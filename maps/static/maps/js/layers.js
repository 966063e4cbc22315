/*
 * Fills the layer groups folium drew with features from our JSON API, by bounding box as the
 * user pans (maps/builders.py says which layer comes from where). Every string that came from
 * the database or the user is put into the page with textContent, never as HTML: a parcel or
 * village called "<script>…" shows as those characters.
 */
(function () {
  "use strict";
  // The page's language from Django's JavaScript catalogue (/jsi18n/); the Chinese text itself without it.
  var gettext = window.gettext || function (s) {
    return s;
  };

  var GD = (window.GeoDisputesMaps = window.GeoDisputesMaps || {});
  GD.pages = GD.pages || {};

  var MAX_FEATURES = 10000; // per layer and view; the API pages at most 5000 at a time
  var PAGE_SIZE = 5000;

  /* Called by the folium-rendered script once the map and its empty groups exist. */
  GD.mount = function (map, config, groups) {
    var ctx = { map: map, config: config, groups: groups, layers: {}, userMoved: false };
    GD.current = ctx;
    L.control.scale({ imperial: false }).addTo(map); // metres only (folium's own control adds miles and feet)
    localiseControls(map);
    GD.legend(map, config.legend);
    GD.fitLegends(map);
    var note = zoomNote(map);
    // The first view: the link's #map=… (Back from a case page returns here), else the user's own area; set
    // before the layers exist, so tiled layers ask only for the tiles of this view.
    if (!restoreView(ctx) && config.home) {
      ctx.fitting = true;
      map.fitBounds(config.home, { padding: [10, 10], animate: false });
      ctx.fitting = false;
      ctx.userMoved = true;
    }
    config.layers.forEach(function (spec) {
      ctx.layers[spec.key] = new Loader(ctx, spec, groups[spec.key]);
    });
    ctx.refresh = function () {
      return refresh(ctx, note);
    };
    // The page's own hook runs first, so filters taken from the link apply to the first requests.
    if (GD.pages[config.page]) GD.pages[config.page](ctx);
    var timer = null;
    map.on("moveend overlayadd overlayremove", function () {
      rememberView(ctx);
    });
    map.on("moveend", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        refresh(ctx, note);
      }, 150);
    });
    map.on("dragstart zoomstart", function () {
      if (!ctx.fitting) ctx.userMoved = true; // the first view follows the data until the user moves
    });
    map.on("overlayadd", function () {
      refresh(ctx, note);
    });
    refresh(ctx, note);
    return ctx;
  };

  /* The view in the address: #map=<zoom>/<lat>/<lon>&layers=<shown overlay keys>. Replaced, never
     pushed: Back leaves the map page, and coming back to it restores zoom, centre and layers. */
  function rememberView(ctx) {
    if (!window.history || !window.history.replaceState) return;
    var map = ctx.map;
    var c = map.getCenter();
    var shown = Object.keys(ctx.groups).filter(function (key) {
      return key !== "result" && map.hasLayer(ctx.groups[key]);
    });
    var hash = "#map=" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5) + "&layers=" + shown.join(",");
    window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search + hash);
  }

  /* Apply a #map=… view from the address; true when there was one. */
  function restoreView(ctx) {
    var params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    var parts = (params.get("map") || "").split("/").map(Number);
    if (parts.length !== 3 || !parts.every(isFinite)) return false;
    if (params.has("layers")) {
      var shown = params.get("layers").split(",");
      Object.keys(ctx.groups).forEach(function (key) {
        if (key === "result") return;
        var group = ctx.groups[key];
        if (shown.indexOf(key) >= 0) ctx.map.addLayer(group);
        else ctx.map.removeLayer(group);
      });
    }
    ctx.map.setView([parts[1], parts[2]], parts[0], { animate: false });
    ctx.userMoved = true;
    return true;
  }
  GD.rememberView = rememberView;

  /* Leaflet's own controls speak English ("Zoom in", "Zoom out", "Layers"): folium made them before this
     script runs (and the full-screen button sits inside the zoom control), so their buttons are retitled in
     place (setting zoomInTitle on the built control would change nothing). */
  function localiseControls(map) {
    var container = map.getContainer();
    function retitle(selector, title) {
      var node = container.querySelector(selector);
      if (!node) return;
      node.title = title;
      node.setAttribute("aria-label", title);
    }
    retitle(".leaflet-control-zoom-in", gettext("放大"));
    retitle(".leaflet-control-zoom-out", gettext("缩小"));
    retitle(".leaflet-control-layers-toggle", gettext("图层"));
  }

  /* A legend never grows above the map's top edge nor over the controls at the top (zoom, layers
     button): each .gd-legend in a bottom corner gets at most the height between its own foot and the
     lowest top control above it, and scrolls inside beyond that. Kept so as the map, the corner's
     other controls or the legend's own content change size. */
  GD.fitLegends = function (map) {
    var container = map.getContainer();
    function fit() {
      var mapBox = container.getBoundingClientRect();
      var tops = Array.prototype.slice.call(container.querySelectorAll(".leaflet-top .leaflet-control"));
      ["left", "right"].forEach(function (side) {
        var corner = container.querySelector(".leaflet-bottom.leaflet-" + side);
        if (!corner) return;
        // Bottom-most first: a legend's foot moves when those below it change.
        var legends = Array.prototype.slice.call(corner.querySelectorAll(".gd-legend")).reverse();
        legends.forEach(function (box) {
          var own = box.getBoundingClientRect();
          var ceiling = mapBox.top;
          tops.forEach(function (control) {
            var r = control.getBoundingClientRect();
            if (r.width && r.left < own.right && r.right > own.left) ceiling = Math.max(ceiling, r.bottom);
          });
          var room = Math.max(48, Math.floor(own.bottom - ceiling - 8));
          box.style.maxHeight = room + "px";
          box.style.overflowY = "auto";
        });
      });
    }
    var scheduled = false;
    function later() {
      if (scheduled) return;
      scheduled = true;
      window.requestAnimationFrame(function () {
        scheduled = false;
        fit();
      });
    }
    map.on("resize layeradd layerremove overlayadd overlayremove", later);
    window.addEventListener("resize", later);
    if (window.ResizeObserver) {
      var observer = new ResizeObserver(later);
      container.querySelectorAll(".leaflet-bottom").forEach(function (corner) {
        observer.observe(corner);
      });
    }
    // Legends added or refilled later (the planner's) are measured again.
    if (window.MutationObserver) {
      new MutationObserver(later).observe(container.querySelector(".leaflet-control-container") || container, {
        childList: true,
        subtree: true,
        attributes: true,
        attributeFilter: ["open", "hidden", "class"],
      });
    }
    later();
    return fit;
  };

  /* A phone-sized screen (the site's one breakpoint, as css and menu.js): legends start folded there. */
  GD.narrow = function () {
    return window.matchMedia("(max-width: 720px)").matches;
  };

  /* A legend control (inside the map, so it stays visible in full screen); folded on a phone,
     where open it would hide much of a small map. */
  GD.legend = function (map, rows) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("details", "gd-legend" + (rows.length > 8 ? " compact" : ""));
      box.open = !GD.narrow();
      box.appendChild(el("summary", "title", gettext("图例")));
      var list = el("div", "rows");
      box.appendChild(list);
      rows.forEach(function (row) {
        var line = el("div");
        var swatch = el("i");
        swatch.style.borderColor = row.style.color || "#333";
        swatch.style.background = row.style.fill === false ? "transparent" : row.style.fillColor || "transparent";
        if (row.style.dashArray) swatch.style.borderStyle = "dashed";
        line.appendChild(swatch);
        line.appendChild(document.createTextNode(row.label));
        list.appendChild(line);
      });
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
    return control;
  };

  /* Small DOM helpers shared by the page scripts: text only, never HTML. */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  GD.el = el;

  /* A <dl> of label/value rows; rows whose value is empty are left out. */
  GD.definitionList = function (rows) {
    var dl = el("dl");
    rows.forEach(function (row) {
      if (row[1] === undefined || row[1] === null || row[1] === "") return;
      dl.appendChild(el("dt", null, row[0]));
      var dd = el("dd");
      if (row[1] instanceof Node) dd.appendChild(row[1]);
      else dd.textContent = String(row[1]);
      dl.appendChild(dd);
    });
    return dl;
  };

  /* GET JSON from our API; resolves to {status, body} (body null when not JSON). */
  GD.getJSON = function (url, signal) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal: signal }).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (body) {
            return { status: response.status, body: body };
          });
      }
    );
  };

  /* The values of a filter form, blanks left out (what every layer request of the page carries). */
  GD.formValues = function (form) {
    var values = {};
    Array.prototype.forEach.call(form.elements, function (field) {
      if (field.name && field.value !== "") values[field.name] = field.value;
    });
    return values;
  };

  GD.withQuery = function (url, query) {
    var params = new URLSearchParams();
    Object.keys(query).forEach(function (key) {
      if (query[key] !== undefined && query[key] !== null && query[key] !== "") params.set(key, query[key]);
    });
    var text = params.toString();
    return text ? url + (url.indexOf("?") < 0 ? "?" : "&") + text : url;
  };

  /* A case's popup: reference (a link to the case page), what, where it stands, summary. */
  GD.casePopup = function (props, config) {
    var labels = config.labels;
    var box = el("div", "gd-popup gd-case");
    var link = el("a", null, props.reference);
    link.href = config.api.case.replace("__ref__", encodeURIComponent(props.reference));
    box.appendChild(el("strong")).appendChild(link);
    box.appendChild(
      GD.definitionList([
        [gettext("类别"), props.category_label || labels.category[props.category] || props.category],
        [gettext("状态"), props.status_label || labels.status[props.status] || props.status],
        [gettext("层级"), props.tier_label || labels.tier[props.tier] || props.tier],
        [gettext("责任单位"), props.unit_name],
        [gettext("登记"), String(props.received_at || "").slice(0, 10)],
        [gettext("期限"), props.next_due],
        [gettext("涉矿"), props.mining_relation ? (props.mining_relation === "inside" ? gettext("矿区内 · ") : gettext("影响区内 · ")) + props.mining_area_code : ""],
      ])
    );
    if (props.summary) box.appendChild(el("p", "summary", props.summary));
    return box;
  };

  /* One line about a case for tooltips and lists: reference · status · tier. */
  GD.caseLine = function (props, config) {
    var labels = config.labels;
    return [
      props.reference,
      props.category_label || labels.category[props.category],
      props.status_label || labels.status[props.status],
      props.tier_label || labels.tier[props.tier],
    ]
      .filter(function (part) {
        return part;
      })
      .join(" · ");
  };

  GD.tooltipText = function (key, props, config) {
    if (key === "cases") return GD.caseLine(props, config);
    return props.name || props.code || "";
  };

  /* The popup of a feature of layer `key`, as a DOM element. */
  GD.popupFor = function (key, props, config) {
    if (key === "cases") return GD.casePopup(props, config);
    var labels = config.labels;
    var box = el("div", "gd-popup");
    box.appendChild(el("strong", null, props.name || props.code || ""));
    var rows = [[gettext("代码"), props.code]];
    if (key === "townships") rows.push([gettext("类型"), labels.township_kind[props.kind] || props.kind]);
    if (key === "villages") rows.push([gettext("类型"), labels.village_kind[props.kind] || props.kind], [gettext("所属乡镇"), props.township_code]);
    if (key === "grids") rows.push([gettext("所属村"), props.village_code], [gettext("户数"), props.households], [gettext("人口"), props.population]);
    if (key === "parcels" || key === "mining-parcels") {
      rows.push(
        [gettext("地类"), labels.land_use[props.land_use] || props.land_use],
        [gettext("面积（亩）"), props.area_mu],
        [gettext("承包合同号"), props.contract_no]
      );
      if (props.mining_relation) {
        rows.push([gettext("涉矿"), (props.mining_relation === "inside" ? gettext("矿区内 · ") : gettext("影响区内 · ")) + (props.mining_area_code || "")]);
      }
    }
    if (key === "mining-areas" || key === "mining-zones") {
      rows.push(
        [gettext("经营主体"), props.operator],
        [gettext("采矿许可证"), props.licence_no],
        [gettext("开采方式"), labels.mine_kind[props.kind] || props.kind],
        [gettext("影响区缓冲（米）"), props.influence_buffer_m]
      );
    }
    box.appendChild(GD.definitionList(rows));
    return box;
  };

  GD.styleFor = function (spec, config) {
    return function (feature) {
      var style = Object.assign({}, spec.style);
      var use = feature.properties && feature.properties.land_use;
      if (use && config.landUseColours[use]) style.fillColor = config.landUseColours[use];
      var status = spec.points && feature.properties && feature.properties.status;
      if (status && config.statusColours[status]) style.fillColor = config.statusColours[status];
      if (feature.properties && feature.properties.mining_relation === "influence_zone") style.dashArray = "4 3";
      return style;
    };
  };

  /* One layer: which features are drawn (by id), and fetching the ones for the current view. */
  function Loader(ctx, spec, group) {
    this.ctx = ctx;
    this.spec = spec;
    this.group = group;
    this.drawn = new Map();
    this.loadedOnce = false;
    this.pending = null;
    this.total = 0;
    this.meta = null; // the first page's members other than the features (counts, parameters)
    this.filters = {}; // the page's filters, added to every request of this layer
    this.held = false; // a page holds a layer until it has set the filters (see reload)
    var self = this;
    this.geojson = L.geoJSON(null, {
      style: GD.styleFor(spec, ctx.config),
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: spec.style.radius || 6 });
      },
      onEachFeature: function (feature, layer) {
        var props = feature.properties || {};
        self.drawn.set(String(feature.id), layer);
        layer.bindTooltip(function () {
          return el("span", null, self.tooltip ? self.tooltip(props) : GD.tooltipText(spec.key, props, ctx.config));
        }, { sticky: true });
        if (spec.popups) {
          layer.bindPopup(function () {
            return self.popup ? self.popup(props, feature) : GD.popupFor(spec.key, props, ctx.config);
          });
        }
        layer.on("click", function (event) {
          if (self.onFeatureClick) self.onFeatureClick(feature, layer, event);
        });
      },
    }).addTo(group);
    if (spec.tiles) this.tiles = tileLayer(this, ctx.config.layers.indexOf(spec));
  }

  /* Vector tiles drawn 512 px wide: the tile of zoom z − 1 fills a 512 px square at zoom z (its 4096 units
     are as fine at either size), so a view needs a quarter of the requests of 256 px tiles (20 → 6 per layer
     on a 1280 × 800 map; on a one-worker server each costs a round trip). */
  var HalfZoomTiles = L.VectorGrid && L.VectorGrid.Protobuf
    ? L.VectorGrid.Protobuf.extend({
        _getVectorTilePromise: function (coords) {
          var up = L.point(coords.x, coords.y);
          up.z = coords.z - 1;
          return L.VectorGrid.Protobuf.prototype._getVectorTilePromise.call(this, up);
        },
      })
    : null;

  /* A layer's outlines as vector tiles (Leaflet.VectorGrid, SVG): styled by the loader's style with the
     feature's tile properties, plus its row when the layer has rows (village rates joined by code); a click
     opens the same popup as a GeoJSON feature's, built from text nodes. */
  function tileLayer(loader, order) {
    var spec = loader.spec;
    var ctx = loader.ctx;
    var styles = {};
    styles[spec.tiles.split("/")[2]] = function (properties) {
      return tileStyle(loader, properties);
    };
    var layer = new HalfZoomTiles(spec.tiles, {
      rendererFactory: L.svg.tile, // the canvas renderer calls L.DomEvent.fakeStop, gone in Leaflet 1.8+
      vectorTileLayerStyles: styles,
      interactive: spec.popups,
      getFeatureId: function (feature) {
        return String(feature.properties.code);
      },
      tileSize: 512,
      maxNativeZoom: 15,
      zIndex: 10 + order,
      fetchOptions: { credentials: "same-origin" },
    }).addTo(loader.group);
    layer.on("click", function (event) {
      var props = joined(loader, event.layer.properties || {});
      var feature = { id: props.code, properties: props };
      var content = loader.popup ? loader.popup(props, feature) : GD.popupFor(spec.key, props, ctx.config);
      L.popup().setLatLng(event.latlng).setContent(content).openOn(ctx.map);
    });
    return layer;
  }

  function joined(loader, properties) {
    var row = loader.drawn.get(String(properties.code));
    return row ? Object.assign({}, properties, row.feature.properties) : properties;
  }

  function tileStyle(loader, properties) {
    var style = loader.geojson.options.style({ properties: joined(loader, properties) });
    return Object.assign({ fill: style.fill !== false }, style);
  }

  Loader.prototype.count = function () {
    return this.drawn.size;
  };

  Loader.prototype.clear = function () {
    var tiles = this.tiles;
    this.geojson.clearLayers();
    if (tiles) {
      this.drawn.forEach(function (row, code) {
        tiles.resetFeatureStyle(code);
      });
    }
    this.drawn.clear();
  };

  /* New filters: forget what is drawn and fetch again (now if the layer is shown, else when it is). */
  Loader.prototype.reload = function (filters) {
    this.held = false;
    if (this.pending) this.pending.abort();
    this.pending = null;
    this.filters = Object.assign({}, filters || {});
    this.loadedOnce = false;
    this.meta = null;
    this.clear();
    return this.refresh();
  };

  Loader.prototype.query = function (extra) {
    return Object.assign({}, this.spec.query || {}, this.filters, extra || {});
  };

  Loader.prototype.refresh = function () {
    var map = this.ctx.map;
    if (this.held || !map.hasLayer(this.group)) return Promise.resolve();
    if (this.tiles && !this.spec.rows) {
      this.loadedOnce = true; // the tiles are the whole layer; Leaflet fetches them as the view needs
      return Promise.resolve();
    }
    if (!this.spec.by_bbox) {
      if (this.loadedOnce) return Promise.resolve();
      this.loadedOnce = true;
      return this.fetchAll(GD.withQuery(this.spec.url, this.query()), true);
    }
    if (map.getZoom() < this.spec.min_zoom) {
      if (this.pending) this.pending.abort();
      this.clear();
      return Promise.resolve();
    }
    var bbox = GD.viewBbox(map);
    return this.fetchAll(GD.withQuery(this.spec.url, this.query({ bbox: bbox, page_size: PAGE_SIZE })), false);
  };

  /* Follow `next` links; then draw what is new and drop what left the view. */
  Loader.prototype.fetchAll = function (url, whole) {
    var self = this;
    if (this.pending) this.pending.abort();
    var controller = new AbortController();
    this.pending = controller;
    var features = [];
    function page(next) {
      return GD.getJSON(next, controller.signal).then(function (answer) {
        if (answer.status !== 200 || !answer.body) {
          if (self.onRefused && !controller.signal.aborted) {
            self.pending = null;
            self.onRefused(answer);
            return null;
          }
          throw new Error("HTTP " + answer.status + " " + next);
        }
        if (!self.meta) {
          self.meta = Object.assign({}, answer.body);
          delete self.meta.features;
        }
        features = features.concat(answer.body.features || rowsAsFeatures(answer.body[self.spec.rows]));
        self.total = answer.body.count || features.length;
        if (answer.body.next && features.length < MAX_FEATURES) return page(sameOrigin(answer.body.next));
        return features;
      });
    }
    return page(url)
      .then(function (all) {
        if (controller.signal.aborted || all === null) return;
        self.pending = null;
        self.draw(all, whole);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        self.pending = null;
        console.warn("layer " + self.spec.key + ": " + error.message);
      });
  };

  /* Attribute rows (no geometry) in the shape of features: id and properties, joined to tiles by code. */
  function rowsAsFeatures(rows) {
    return (rows || []).map(function (row) {
      return { id: row.code, properties: row };
    });
  }

  Loader.prototype.draw = function (features, whole) {
    var self = this;
    if (this.tiles) return this.drawRows(features);
    var keep = new Set();
    var fresh = features.filter(function (feature) {
      var id = String(feature.id);
      var isNew = !keep.has(id) && !self.drawn.has(id);
      keep.add(id);
      return isNew;
    });
    if (fresh.length) this.geojson.addData({ type: "FeatureCollection", features: fresh });
    if (!whole) {
      this.drawn.forEach(function (layer, id) {
        if (!keep.has(id)) {
          self.geojson.removeLayer(layer);
          self.drawn.delete(id);
        }
      });
    }
    if (this.spec.fit && !this.ctx.userMoved && this.drawn.size) {
      this.ctx.fitting = true;
      // Not animated: a zoom animation still running would undo a lookup's move when it ends.
      this.ctx.map.fitBounds(this.geojson.getBounds(), { padding: [10, 10], animate: false });
      this.ctx.fitting = false;
    }
    if (fresh.length) restack(this.ctx);
    if (this.drawnAt === undefined) this.drawnAt = performance.now(); // ms since navigation, for measurements
    if (this.onDrawn) this.onDrawn();
  };

  /* A tiled layer's rows: kept by code (drawn), and every feature already on a tile styled again with its row. */
  Loader.prototype.drawRows = function (features) {
    var self = this;
    features.forEach(function (feature) {
      self.drawn.set(String(feature.id), { feature: feature });
    });
    if (this.onDrawn) this.onDrawn(); // first: the page's style may depend on all rows (class breaks)
    this.drawn.forEach(function (row, code) {
      self.tiles.setFeatureStyle(code, tileStyle(self, { code: code }));
    });
    if (this.drawnAt === undefined) this.drawnAt = performance.now();
  };

  /* Draw layers bottom to top in the page's order (on one canvas, the last drawn takes the click). */
  function restack(ctx) {
    ctx.config.layers.forEach(function (spec) {
      ctx.layers[spec.key].geojson.bringToFront();
    });
    if (ctx.groups.result) ctx.groups.result.bringToFront();
  }

  /* `next` links are absolute (built by the server from the request); keep only path + query. */
  function sameOrigin(link) {
    var url = new URL(link, window.location.href);
    return url.pathname + url.search;
  }
  GD.sameOrigin = sameOrigin;

  /* The map's visible box as the API's `bbox` (minlon,minlat,maxlon,maxlat, clamped to WGS84). */
  GD.viewBbox = function (map) {
    var b = map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
      .map(function (v, i) {
        var limit = i % 2 === 0 ? 180 : 90;
        return Math.max(-limit, Math.min(limit, v)).toFixed(6);
      })
      .join(",");
  };

  /* The half of a service's "中文 / English" message in the page's language (js/bilingual.js, loaded first);
     one argument only, so that `.map(GD.oneLanguage)` never passes an index as the language. */
  GD.oneLanguage = function (message) {
    return window.GDOneLanguage(message);
  };

  /* An API refusal as one line, in the page's language: `detail`, else each field with its message
     (`bare`: the messages only, for a refusal the user did not cause by a field they can see). */
  GD.problem = function (answer, bare) {
    var body = answer.body || {};
    if (body.detail) return GD.oneLanguage(body.detail);
    var text = Object.keys(body)
      .map(function (key) {
        var said = [].concat(body[key]).map(GD.oneLanguage).join(" ");
        return bare ? said : key + "：" + said;
      })
      .join("；");
    return text || gettext("请求失败（HTTP ") + answer.status + "）";
  };

  function refresh(ctx, note) {
    var zoom = ctx.map.getZoom();
    var hidden = ctx.config.layers.filter(function (spec) {
      return spec.by_bbox && zoom < spec.min_zoom && ctx.map.hasLayer(ctx.groups[spec.key]);
    });
    note.set(
      hidden.length
        ? gettext("当前 ") + zoom + gettext(" 级；放大后显示：") + hidden.map(function (s) { return s.label.replace(/（.*）/, ""); }).join("、")
        : ""
    );
    return Promise.all(
      Object.keys(ctx.layers).map(function (key) {
        return ctx.layers[key].refresh();
      })
    );
  }

  function zoomNote(map) {
    var control = L.control({ position: "bottomleft" });
    var box = el("div", "gd-note");
    box.hidden = true;
    control.onAdd = function () {
      return box;
    };
    control.addTo(map);
    return {
      set: function (text) {
        box.textContent = text;
        box.hidden = !text;
      },
    };
  }
})();
