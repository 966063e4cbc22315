/*
 * The planners' map. One set of filters (category, status, tier, township, period) goes into
 * every request the page makes:
 *  - cases: /api/case-points/?bbox=…&zoom=… for the visible box as the user pans (one request, a
 *    stale one aborted; the view the first fit settles on is asked once): each case as a marker in a
 *    marker-cluster group when the view holds few enough, else counts per grid cell as bubbles that
 *    zoom in on a click; the heat map draws the same (cells weighted by their counts). A popup asks
 *    /api/cases/<reference>/ for the case when it opens;
 *  - cases per 100 households by village (/api/village-rates/?output=geojson), coloured by the
 *    Empirical-Bayes rate in quantile classes with a legend;
 *  - DBSCAN clusters (/api/clusters/?eps_m=&min_points=) as hulls with count and main category;
 *  - Gi* hot spots (/api/hotspots/) as hexagons by confidence class, with the parameters used,
 *    or the service's reason when it refuses (422: too few cases, no variance …).
 * Strings from the API reach the page through textContent only.
 */
(function () {
  "use strict";
  // The page's language from Django's JavaScript catalogue (/jsi18n/); the Chinese text itself without it.
  var gettext = window.gettext || function (s) {
    return s;
  };

  var GD = (window.GeoDisputesMaps = window.GeoDisputesMaps || {});
  GD.pages = GD.pages || {};
  var el = function (tag, className, text) {
    return GD.el(tag, className, text);
  };

  var COMMON = ["category", "status", "tier", "since", "until"];
  var RULES = {
    moran_first_peak: gettext("Moran's I 首个峰值"),
    k_nearest: gettext("k 近邻平均距离"),
    standard_distance: gettext("标准距离"),
  };

  GD.pages.planner = function (ctx) {
    var form = document.getElementById("planner-filters");
    var page = {
      ctx: ctx,
      form: form,
      values: {},
      cases: new CaseLayer(ctx, ctx.groups["case-markers"], ctx.groups.heat, document.getElementById("case-status")),
      rateStatus: document.getElementById("rate-status"),
      clusterStatus: document.getElementById("cluster-status"),
      hotspotStatus: document.getElementById("hotspot-status"),
    };
    GD.planner = page;
    ["village-rates", "clusters", "hotspots"].forEach(function (key) {
      ctx.layers[key].held = true; // until apply() gives them the page's filters
    });
    page.rateLegend = rateLegend(ctx.map);
    setupRates(page);
    setupHotspots(page);
    setupClusters(page);
    if (GD.emergingLayer) page.emerging = GD.emergingLayer(page); // maps/js/emerging.js
    fillTownships(page);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      apply(page, true);
    });
    form.addEventListener("reset", function (event) {
      event.preventDefault();
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name) field.value = "";
      });
      defaults(page);
      apply(page, true);
    });
    var timer = null;
    ctx.map.on("moveend", function () {
      if (!page.started) return;
      clearTimeout(timer);
      timer = setTimeout(function () {
        page.cases.refresh();
      }, 150);
    });
    ctx.map.on("overlayadd", function (event) {
      if (event.layer === ctx.groups["case-markers"] || event.layer === ctx.groups.heat) page.cases.refresh();
      if (event.layer === ctx.groups.hotspots && page.started) {
        ctx.layers.hotspots.refresh();
        if (ctx.layers.hotspots.pending) computing(page);
      }
      if (event.layer === ctx.groups.clusters && page.started) {
        ctx.layers.clusters.refresh();
        if (ctx.layers.clusters.pending) say(page.clusterStatus, gettext("计算中（事项多时需要较长时间）…"));
      }
    });
    defaults(page);
    // Data requests wait for the page's own files (a one-worker server would queue them behind the
    // analysis queries) and for the first fit to the townships (else the cases of the first view
    // would be fetched twice).
    whenReady(page).then(function () {
      page.started = true;
      apply(page, false);
    });
  };

  function whenReady(page) {
    var loaded = new Promise(function (resolve) {
      if (document.readyState === "complete") resolve();
      else window.addEventListener("load", resolve, { once: true });
    });
    var fitted = new Promise(function (resolve) {
      page.townshipsDrawn = resolve;
      if (page.ctx.config.home) resolve(); // opened on its home box (township outlines come as tiles)
      setTimeout(resolve, 3000); // the townships never came: start anyway
    });
    return Promise.all([loaded, fitted]);
  }

  function computing(page) {
    say(page.hotspotStatus, gettext("计算中（事项多时需要较长时间）…"));
  }

  /* Blank DBSCAN parameters take the service's defaults (shown, so the user sees what is used). */
  function defaults(page) {
    var d = page.ctx.config.clusterDefaults;
    if (!page.form.elements.eps_m.value) page.form.elements.eps_m.value = d.eps_m;
    if (!page.form.elements.min_points.value) page.form.elements.min_points.value = d.min_points;
  }

  /* The form's values → every layer's request; `remember` puts them in the address (a shareable link). */
  function apply(page, remember) {
    var values = GD.formValues(page.form);
    page.values = values;
    var common = pick(values, COMMON);
    var withTownship = Object.assign({}, common, pick(values, ["township"]));
    var layers = page.ctx.layers;
    // Rates stay banner-wide: the Empirical-Bayes prior is the whole banner's rate.
    page.cases.setFilters(withTownship); // first: on a busy server the cases matter most
    layers["village-rates"].reload(common);
    layers.clusters.reload(Object.assign({}, withTownship, pick(values, ["eps_m", "min_points"])));
    layers.hotspots.reload(withTownship);
    if (layers.hotspots.pending) computing(page);
    if (page.emerging) page.emerging.reload(withTownship);
    // A hidden analysis layer is not recomputed, so its old count must not stay as if it were current.
    if (remember && !page.ctx.map.hasLayer(page.ctx.groups.clusters)) say(page.clusterStatus, gettext("筛选已更改：打开“DBSCAN 聚集区”图层后按新条件计算"));
    if (remember && !page.ctx.map.hasLayer(page.ctx.groups.hotspots)) say(page.hotspotStatus, gettext("筛选已更改：打开“Gi* 冷热点”图层后按新条件计算"));
    if (remember && window.history && window.history.replaceState) {
      var query = new URLSearchParams(values).toString();
      window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
    }
  }

  function pick(values, names) {
    var out = {};
    names.forEach(function (name) {
      if (values[name] !== undefined) out[name] = values[name];
    });
    return out;
  }

  /* The township select, listed from the page's config (or the townships layer when it comes as GeoJSON);
     a linked value is selected when it arrives. */
  function fillTownships(page) {
    var select = page.form.elements.township;
    var loader = page.ctx.layers.townships;
    var listed = page.ctx.config.townships || [];
    if (listed.length) {
      listed.forEach(function (row) {
        var option = el("option", null, row[1] || row[0]);
        option.value = row[0];
        select.appendChild(option);
      });
      select.value = select.getAttribute("data-initial") || "";
      return;
    }
    loader.onDrawn = function () {
      if (page.townshipsDrawn) page.townshipsDrawn();
      if (select.options.length > 1) return;
      var wanted = select.getAttribute("data-initial") || "";
      var rows = [];
      loader.drawn.forEach(function (layer, code) {
        rows.push([code, (layer.feature.properties || {}).name || code]);
      });
      rows.sort(function (a, b) {
        return a[0] < b[0] ? -1 : 1;
      });
      rows.forEach(function (row) {
        var option = el("option", null, row[1]);
        option.value = row[0];
        select.appendChild(option);
      });
      select.value = wanted;
    };
  }

  // -- cases per 100 households ------------------------------------------------------------------

  function setupRates(page) {
    var ctx = page.ctx;
    var loader = ctx.layers["village-rates"];
    var spec = loader.spec;
    var choropleth = ctx.config.choropleth;
    page.breaks = [];
    var style = function (feature) {
      var value = (feature.properties || {}).eb_rate_per_100;
      var fill = value === null || value === undefined ? choropleth.noData : choropleth.colours[classOf(page.breaks, value)];
      return Object.assign({}, spec.style, { fillColor: fill });
    };
    loader.geojson.options.style = style;
    loader.tooltip = function (props) {
      var rate = props.eb_rate_per_100;
      return (props.name || props.code) + "：" + (rate === null || rate === undefined ? gettext("无户数数据") : gettext("每百户 ") + rate.toFixed(2) + gettext(" 件"));
    };
    loader.popup = function (props) {
      var box = el("div", "gd-popup");
      box.appendChild(el("strong", null, props.name || props.code));
      box.appendChild(
        GD.definitionList([
          [gettext("代码"), props.code],
          [gettext("事项（重复信访计一次）"), props.cases],
          [gettext("户数"), props.households],
          [gettext("每百户（平滑）"), fixed(props.eb_rate_per_100)],
          [gettext("每百户（原始）"), fixed(props.rate_per_100)],
        ])
      );
      return box;
    };
    loader.onDrawn = function () {
      var values = [];
      loader.drawn.forEach(function (layer) {
        var v = layer.feature.properties.eb_rate_per_100;
        if (v !== null && v !== undefined) values.push(v);
      });
      page.breaks = quantileBreaks(values, choropleth.colours.length);
      loader.geojson.setStyle(style);
      page.rateLegend.update(page.breaks, choropleth);
      var meta = loader.meta || {};
      page.rateStatus.replaceChildren(
        el("span", null, loader.count() + gettext(" 个嘎查村/社区；按经验贝叶斯平滑后的每百户事项数分五级（分位数）。")),
        el("small", "hint", gettext("全旗经验贝叶斯平滑（Marshall 1991）；重复信访只计一次。"))
      );
    };
    loader.onRefused = function (answer) {
      say(page.rateStatus, GD.problem(answer), true);
    };
  }

  /* Upper bounds of `k` quantile classes of `values` (ascending, duplicates dropped). */
  function quantileBreaks(values, k) {
    if (!values.length) return [];
    var sorted = values.slice().sort(function (a, b) {
      return a - b;
    });
    var breaks = [];
    for (var i = 1; i <= k; i++) {
      var v = sorted[Math.min(sorted.length - 1, Math.ceil((i * sorted.length) / k) - 1)];
      if (!breaks.length || v > breaks[breaks.length - 1]) breaks.push(v);
    }
    return breaks;
  }

  function classOf(breaks, value) {
    for (var i = 0; i < breaks.length; i++) if (value <= breaks[i]) return i;
    return Math.max(0, breaks.length - 1);
  }

  function rateLegend(map) {
    var control = L.control({ position: "bottomleft" });
    // Folds like the page's other legends (folded at first on a phone, where open it hides much of the map).
    var box = el("details", "gd-legend gd-rate-legend");
    box.open = !GD.narrow();
    box.hidden = true; // until there are classes to show
    control.onAdd = function () {
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
    control.update = function (breaks, choropleth) {
      box.replaceChildren(el("summary", "title", gettext("每百户事项数（分村，平滑）")));
      var rows = el("div", "rows");
      var low = 0;
      breaks.forEach(function (high, i) {
        rows.appendChild(swatchRow(choropleth.colours[i], low.toFixed(2) + " – " + high.toFixed(2)));
        low = high;
      });
      rows.appendChild(swatchRow(choropleth.noData, gettext("无户数数据")));
      box.appendChild(rows);
      box.hidden = false;
    };
    return control;
  }

  function swatchRow(colour, label) {
    var line = el("div");
    var swatch = el("i");
    swatch.style.background = colour;
    swatch.style.borderColor = "#757575";
    line.appendChild(swatch);
    line.appendChild(document.createTextNode(label));
    return line;
  }

  // -- hot spots ---------------------------------------------------------------------------------

  function setupHotspots(page) {
    var ctx = page.ctx;
    var loader = ctx.layers.hotspots;
    var classes = {};
    ctx.config.hotspotClasses.forEach(function (c) {
      classes[c.value] = c;
    });
    loader.geojson.options.style = function (feature) {
      var cls = classes[(feature.properties || {})["class"]] || classes.not_significant;
      var quiet = cls.value === "not_significant";
      return Object.assign({}, loader.spec.style, { fillColor: cls.colour, fillOpacity: quiet ? 0.08 : 0.7 });
    };
    loader.tooltip = function (props) {
      var cls = classes[props["class"]] || classes.not_significant;
      return cls.label + " · " + props.count + gettext(" 件 · z = ") + fixed(props.gi_z);
    };
    loader.popup = function (props) {
      var cls = classes[props["class"]] || classes.not_significant;
      var box = el("div", "gd-popup");
      box.appendChild(el("strong", null, cls.label));
      box.appendChild(
        GD.definitionList([
          [gettext("事项数"), props.count],
          [gettext("Gi* z 值"), fixed(props.gi_z)],
          [gettext("p 值"), props.gi_p === undefined ? "" : Number(props.gi_p).toPrecision(3)],
        ])
      );
      return box;
    };
    loader.onDrawn = function () {
      var m = loader.meta || {};
      var hot = 0;
      var cold = 0;
      loader.drawn.forEach(function (layer) {
        var cls = String(layer.feature.properties["class"] || "");
        if (cls.indexOf("hot_") === 0) hot++;
        if (cls.indexOf("cold_") === 0) cold++;
      });
      page.hotspotStatus.className = "status";
      page.hotspotStatus.replaceChildren(
        GD.definitionList([
          [gettext("研究区"), m.study_area === "banner" ? gettext("全旗") : m.study_area],
          [gettext("事项数"), m.n_incidents + gettext("（重复信访只计一次；研究区外的另计）")],
          [gettext("六边形间距"), metres(m.cell_size_m)],
          [gettext("六边形边长"), metres(m.hex_side_m)],
          [gettext("距离带"), metres(m.distance_band_m) + (RULES[m.distance_band_rule] ? "（" + RULES[m.distance_band_rule] + "）" : "")],
          [gettext("六边形"), loader.count() + gettext(" 个：热点 ") + hot + gettext("，冷点 ") + cold],
          [gettext("研究区外事项"), m.n_outside_study_area],
        ])
      );
    };
    loader.onRefused = function (answer) {
      loader.clear();
      say(page.hotspotStatus, (answer.status === 422 ? gettext("未做冷热点分析：") : gettext("参数有误：")) + GD.problem(answer, answer.status === 422), true);
    };
  }

  // -- DBSCAN clusters ---------------------------------------------------------------------------

  function setupClusters(page) {
    var ctx = page.ctx;
    var loader = ctx.layers.clusters;
    var labels = ctx.config.labels.category;
    loader.tooltip = function (props) {
      return gettext("聚集区：") + props.count + gettext(" 件 · 主要类别 ") + (labels[props.category] || props.category);
    };
    loader.popup = function (props, feature) {
      var box = el("div", "gd-popup");
      box.appendChild(el("strong", null, gettext("聚集区 ") + feature.id + "（" + props.count + gettext(" 件）")));
      var rows = [[gettext("主要类别"), labels[props.category] || props.category]];
      Object.keys(props.categories || {}).forEach(function (key) {
        rows.push([labels[key] || key, props.categories[key]]);
      });
      box.appendChild(GD.definitionList(rows));
      var members = props.members || [];
      var list = el("p", "members");
      members.slice(0, 12).forEach(function (ref, i) {
        if (i) list.appendChild(document.createTextNode("、"));
        var link = el("a", null, ref);
        link.href = ctx.config.api.case.replace("__ref__", encodeURIComponent(ref));
        list.appendChild(link);
      });
      if (members.length > 12) list.appendChild(document.createTextNode(gettext(" 等 ") + members.length + gettext(" 件")));
      box.appendChild(list);
      return box;
    };
    loader.onDrawn = function () {
      var m = loader.meta || {};
      page.clusterStatus.className = "status";
      page.clusterStatus.replaceChildren(
        GD.definitionList([
          [gettext("参数"), gettext("聚类半径 ") + m.eps_m + gettext(" 米，最少 ") + m.min_points + gettext(" 件")],
          [gettext("聚集区"), loader.count() + gettext(" 个")],
          [gettext("事项"), m.n_cases + gettext(" 件（重复信访并入原事项只计一次，故可少于地图标注），其中聚集 ") + m.n_clustered + gettext(" 件、离散 ") + m.n_noise + gettext(" 件")],
        ])
      );
    };
    loader.onRefused = function (answer) {
      loader.clear();
      say(page.clusterStatus, GD.problem(answer), true);
    };
  }

  // -- cases: markers (or counts per grid cell) and heat, by box -----------------------------------

  /* The view's cases from /api/case-points/: single points (≤ the server's limit) as markers in the
     marker-cluster group, else counts per grid cell (made by PostgreSQL) as bubbles that zoom in on a
     click. The heat map draws the same points, or the cells weighted by their counts. A popup asks
     /api/cases/<reference>/ for the case (masked per role) when it opens. */
  function CaseLayer(ctx, cluster, heat, status) {
    var self = this;
    this.ctx = ctx;
    this.cluster = cluster;
    this.heat = heat;
    this.status = status;
    this.cells = L.featureGroup(); // count bubbles; shown and hidden with the marker group
    this.markers = new Map(); // reference → marker, for the cases of the current view
    this.details = new Map(); // reference → the case as /api/cases/<reference>/ gave it
    this.filters = {};
    this.controller = null;
    this.shownKey = null; // the request whose answer is drawn (or on its way): the same one is not sent again
    this.total = 0;
    this.mode = null;
    this.icons = iconsByStatus(ctx.config.statusColours);
    cellStyles();
    cluster.on("add", function () {
      ctx.map.addLayer(self.cells);
    });
    cluster.on("remove", function () {
      ctx.map.removeLayer(self.cells);
    });
    if (ctx.map.hasLayer(cluster)) ctx.map.addLayer(this.cells);
  }

  CaseLayer.prototype.active = function () {
    return this.ctx.map.hasLayer(this.cluster) || this.ctx.map.hasLayer(this.heat);
  };

  CaseLayer.prototype.count = function () {
    return this.markers.size;
  };

  CaseLayer.prototype.setFilters = function (filters) {
    this.filters = Object.assign({}, filters);
    this.shownKey = null;
    this.clearPoints();
    this.cells.clearLayers();
    this.heat.setLatLngs([]);
    return this.refresh();
  };

  CaseLayer.prototype.clearPoints = function () {
    this.cluster.clearLayers();
    this.markers.clear();
  };

  /* Fetch the view's points (one request; a newer view aborts an older one still on its way). A view
     already drawn or asked for is not asked again (the first fit to the townships, a layer shown again). */
  CaseLayer.prototype.refresh = function () {
    var self = this;
    var map = this.ctx.map;
    if (!this.active()) return Promise.resolve();
    var query = Object.assign(
      { bbox: GD.viewBbox(map), zoom: map.getZoom(), max_points: this.ctx.config.cases.maxPoints },
      this.filters
    );
    var url = GD.withQuery(this.ctx.config.api.casePoints, query);
    if (url === this.shownKey) return Promise.resolve();
    if (this.controller) this.controller.abort();
    var controller = new AbortController();
    this.controller = controller;
    this.shownKey = url;
    say(this.status, gettext("加载事项…"));
    return GD.getJSON(url, controller.signal)
      .then(function (answer) {
        if (controller.signal.aborted) return;
        self.controller = null;
        if (answer.status !== 200 || !answer.body) {
          self.shownKey = null;
          say(self.status, GD.problem(answer), true);
          return;
        }
        var body = answer.body;
        self.total = body.count || 0;
        self.mode = body.mode;
        if (body.mode === "cells") self.showCells(body);
        else self.showPoints(body);
        if (self.drawnAt === undefined) self.drawnAt = performance.now(); // for measurements
        self.report(body);
      })
      .catch(function (error) {
        if (error.name === "AbortError") return;
        if (self.controller === controller) self.controller = null;
        self.shownKey = null;
        say(self.status, gettext("事项加载失败：") + error.message, true);
      });
  };

  /* Rows [reference, lon, lat, category, status]: add the new markers, drop the ones that left the view. */
  CaseLayer.prototype.showPoints = function (body) {
    var self = this;
    var col = columns(body.fields);
    var keep = new Set();
    var fresh = [];
    this.cells.clearLayers();
    body.points.forEach(function (row) {
      var ref = String(row[col.reference]);
      keep.add(ref);
      if (self.markers.has(ref)) return;
      var status = body.statuses[row[col.status]];
      var marker = L.marker([row[col.lat], row[col.lon]], { icon: self.icons(status), keyboard: false });
      marker.reference = ref;
      marker.bindPopup(function () {
        return self.popup(ref, marker);
      });
      self.markers.set(ref, marker);
      fresh.push(marker);
    });
    var stale = [];
    this.markers.forEach(function (marker, ref) {
      if (!keep.has(ref)) {
        stale.push(marker);
        self.markers.delete(ref);
      }
    });
    if (stale.length) this.cluster.removeLayers(stale);
    if (fresh.length) this.cluster.addLayers(fresh);
    var points = [];
    this.markers.forEach(function (marker) {
      points.push(marker.getLatLng());
    });
    this.heat.setLatLngs(points);
  };

  /* Rows [lon, lat, count, category]: one bubble per cell; a click zooms in on it. */
  CaseLayer.prototype.showCells = function (body) {
    var self = this;
    var col = columns(body.fields);
    var labels = this.ctx.config.labels.category;
    var map = this.ctx.map;
    this.clearPoints();
    this.cells.clearLayers();
    var heat = [];
    body.points.forEach(function (row) {
      var n = row[col.count];
      var latlng = L.latLng(row[col.lat], row[col.lon]);
      var category = body.categories[row[col.category]];
      var size = Math.round(22 + 8 * Math.log10(Math.max(1, n)));
      var label = el("span", null, n >= 10000 ? Math.round(n / 1000) + "k" : String(n));
      var icon = L.divIcon({ className: "gd-case-cell", html: label, iconSize: [size, size] });
      var bubble = L.marker(latlng, { icon: icon, keyboard: false });
      bubble.count = n;
      bubble.bindTooltip(function () {
        return el("span", null, n + gettext(" 件 · 主要类别 ") + (labels[category] || category || "") + gettext("；点击放大"));
      });
      bubble.on("click", function () {
        map.setView(latlng, Math.min(map.getZoom() + 2, map.getMaxZoom()));
      });
      self.cells.addLayer(bubble);
      heat.push([latlng.lat, latlng.lng, n]);
    });
    this.heat.setLatLngs(heat);
  };

  /* A marker's popup: the case as /api/cases/<reference>/?personal=0 shows it to this user, fetched once. */
  CaseLayer.prototype.popup = function (ref, marker) {
    var self = this;
    var config = this.ctx.config;
    var known = this.details.get(ref);
    if (known) return GD.casePopup(known, config);
    var box = el("div", "gd-popup gd-case");
    box.appendChild(el("strong", null, ref));
    box.appendChild(el("p", "hint", gettext("加载中…")));
    // personal=0: the popup shows no petitioner or holder, so none is read (nor recorded as viewed).
    GD.getJSON(config.api.caseDetail.replace("__ref__", encodeURIComponent(ref)) + "?personal=0").then(
      function (answer) {
        if (answer.status !== 200 || !answer.body) {
          box.replaceChildren(el("strong", null, ref), el("p", "error", GD.problem(answer)));
        } else {
          var props = caseProps(answer.body);
          self.details.set(ref, props);
          box.replaceChildren.apply(box, Array.prototype.slice.call(GD.casePopup(props, config).childNodes));
        }
        if (marker.getPopup()) marker.getPopup().update();
      },
      function (error) {
        box.replaceChildren(el("strong", null, ref), el("p", "error", error.message));
      }
    );
    return box;
  };

  CaseLayer.prototype.report = function (body) {
    var text;
    if (body.mode === "cells") {
      var km = body.cell_deg ? body.cell_deg[0] * 111.32 * Math.cos((this.ctx.map.getCenter().lat * Math.PI) / 180) : 0;
      text =
        gettext("视野内 ") + this.total + gettext(" 件（按登记件次，含重复信访），较多：按约 ") + (km >= 1 ? km.toFixed(0) : km.toFixed(1)) + gettext(" 公里的网格汇总为 ") +
        this.cells.getLayers().length + gettext(" 个圆点（数字为件数；热力图按件数加权）；放大地图或点击圆点查看单个事项");
    } else {
      text = gettext("视野内 ") + this.total + gettext(" 件（按登记件次，含重复信访），全部显示");
    }
    say(this.status, text);
    this.loadedAt = performance.now();
  };

  /* The detail answer (/api/cases/<reference>/) in the shape GD.casePopup draws. */
  function caseProps(detail) {
    var mining = detail.mining_area || null;
    return {
      reference: detail.reference,
      category: detail.category,
      category_label: detail.category_label,
      status: detail.status,
      status_label: detail.status_label,
      tier: detail.tier,
      tier_label: detail.tier_label,
      unit_name: detail.unit ? detail.unit.name : "",
      received_at: detail.received_at,
      next_due: detail.due ? detail.due.next_due : "",
      mining_relation: mining ? mining.relation : "",
      mining_area_code: mining ? mining.code : "",
      summary: String(detail.description || "").slice(0, 120),
    };
  }

  /* {field name: column index} of an answer's rows. */
  function columns(fields) {
    var out = {};
    fields.forEach(function (name, i) {
      out[name] = i;
    });
    return out;
  }

  function cellStyles() {
    if (document.getElementById("gd-case-cell-style")) return;
    var style = document.head.appendChild(document.createElement("style"));
    style.id = "gd-case-cell-style";
    style.textContent =
      ".gd-case-cell { display: flex; align-items: center; justify-content: center; border-radius: 50%;" +
      " background: rgba(21, 101, 192, .78); border: 2px solid #fff; box-sizing: border-box; color: #fff;" +
      " font: bold 11px/1 sans-serif; box-shadow: 0 0 3px rgba(0, 0, 0, .5); cursor: zoom-in; }";
  }

  /* One divIcon per status; its colour comes from a style rule made from the config's table. */
  function iconsByStatus(colours) {
    var sheet = document.head.appendChild(document.createElement("style")).sheet;
    var icons = {};
    Object.keys(colours).forEach(function (status) {
      if (!/^[a-z_]+$/.test(status) || !/^#[0-9a-fA-F]{3,8}$/.test(colours[status])) return;
      sheet.insertRule(".gd-case-dot.gd-status-" + status + " { background: " + colours[status] + "; }", 0);
      icons[status] = L.divIcon({ className: "gd-case-dot gd-status-" + status, iconSize: [12, 12] });
    });
    var fallback = L.divIcon({ className: "gd-case-dot", iconSize: [12, 12] });
    return function (status) {
      return icons[status] || fallback;
    };
  }

  // -- small helpers -----------------------------------------------------------------------------

  function say(node, text, isError) {
    node.textContent = text;
    node.className = isError ? "status error" : "status";
  }

  function fixed(value) {
    return value === null || value === undefined || value === "" ? "" : Number(value).toFixed(2);
  }

  function metres(value) {
    return value === null || value === undefined ? "" : Math.round(value).toLocaleString("zh-CN") + gettext(" 米");
  }
})();
