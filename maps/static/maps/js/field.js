/*
 * The field lookup: a tap on the map, typed coordinates with their datum, a parcel code, or (for
 * the roles that see holders) a holder's name → /api/locate/, /api/parcels/<code>/ or
 * /api/parcels/?holder= → the parcel outline on the map and, in the panel, the village, grid and
 * grid worker, the mining-area relation, the open cases on the parcel and within 500 m
 * (/api/cases/?parcel=…&status=open and ?bbox=…&status=open), and a link to register a case here.
 * The answer comes first: at the top of the panel on a desktop, in a sheet over the foot of the map
 * on a phone (the panel there lies below the map and both forms). "我的位置" asks the phone's
 * GPS (WGS84) and looks its position up. A point on no parcel outlines its grid, else its village.
 * Text from the API is shown with textContent only.
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

  var LOOKUP_ZOOM = 16;
  var NEAR_M = 500; // open cases within this distance of the looked-up point are listed
  var CASE_STYLE = { radius: 6, color: "#fff", weight: 1.5, fillOpacity: 0.95 };
  var DATUM_NOTES = { gcj02: gettext("已由 GCJ-02（手机地图坐标）换算为 WGS84"), cgcs2000: gettext("CGCS2000 与 WGS84 相差不足 1 米，按 WGS84 处理") };
  var RELATIONS = { inside: gettext("位于矿区内"), influence_zone: gettext("位于矿区影响区内") };

  GD.pages.field = function (ctx) {
    var status = document.getElementById("lookup-status");
    var result = document.getElementById("lookup-result");
    var pointForm = document.getElementById("lookup-point");
    var codeForm = document.getElementById("lookup-code");
    var holderForm = document.getElementById("lookup-holder"); // only for roles that see holders
    var resultLayer = L.featureGroup().addTo(ctx.groups.result);
    var sheet = document.getElementById("lookup-sheet");
    var close = document.getElementById("sheet-close");
    var page = { ctx: ctx, status: status, result: result, resultLayer: resultLayer, seq: 0, sheet: sheet, close: close };
    GD.field = page;
    close.addEventListener("click", function () {
      result.hidden = true;
      say(page, "");
    });
    locateControl(page);
    // Scrolling down to the forms or typing a new lookup: the sheet goes back to its place above the
    // forms instead of covering them.
    // The sheet takes its room again above the forms: scroll by that room, so what is under the user's
    // thumb stays there (else a tap on a holder's parcel lands on the gap the sheet pushed in).
    var settle = function () {
      if (!sheet.classList.contains("open")) return;
      var below = sheet.nextElementSibling;
      var before = below ? below.getBoundingClientRect().top : 0;
      sheet.classList.remove("open");
      var shift = below ? below.getBoundingClientRect().top - before : 0;
      if (shift > 0 && window.scrollY > 0) window.scrollBy(0, shift);
    };
    [pointForm, codeForm, holderForm].forEach(function (form) {
      if (form) form.addEventListener("focusin", settle);
    });
    // Only the user's own scrolling (a finger or a wheel): opening the sheet shortens the page, and the
    // browser's own scroll that follows must not fold the answer away again.
    var gesture = function () {
      page.gestureAt = performance.now();
    };
    window.addEventListener("touchmove", gesture, { passive: true });
    window.addEventListener("wheel", gesture, { passive: true });
    window.addEventListener("scroll", function () {
      if (window.scrollY > 40 && performance.now() - (page.gestureAt || -1e9) < 1000) settle();
    }, { passive: true });

    ctx.map.on("click", function (event) {
      lookupPoint(page, event.latlng.lng, event.latlng.lat, "wgs84");
    });
    pointForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var lon = parseFloat(pointForm.elements.lon.value);
      var lat = parseFloat(pointForm.elements.lat.value);
      if (!isFinite(lon) || !isFinite(lat)) return say(page, gettext("请输入经度和纬度（十进制度，如 111.2215 / 39.8671）"), true);
      lookupPoint(page, lon, lat, pointForm.elements.datum.value);
    });
    codeForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var code = codeForm.elements.code.value.trim();
      if (!code) return say(page, gettext("请输入地块编码"), true);
      lookupParcel(page, code);
    });

    if (holderForm) {
      page.holderResults = document.getElementById("holder-results");
      holderForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var name = holderForm.elements.holder.value.trim();
        if (name.length < 2) return say(page, gettext("请输入承包户姓名（至少 2 个字）"), true);
        searchHolder(page, name);
      });
    }

    // No network: the map's layers cannot load; draw the outlines kept on the phone instead, and say so.
    if (!navigator.onLine) keptOutlines(page, 0);
    window.addEventListener("offline", function () {
      keptOutlines(page, 0);
    });

    // A shared link (?code=… or ?lon=…&lat=…&datum=… or ?holder=…) answers itself on arrival.
    if (holderForm && holderForm.elements.holder.value.trim()) searchHolder(page, holderForm.elements.holder.value.trim());
    else if (codeForm.elements.code.value.trim()) lookupParcel(page, codeForm.elements.code.value.trim());
    else if (pointForm.elements.lon.value && pointForm.elements.lat.value) {
      pointForm.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  };

  function lookupPoint(page, lon, lat, datum) {
    var seq = ++page.seq;
    say(page, gettext("查询中…"));
    var url = GD.withQuery(page.ctx.config.api.locate, { lon: lon, lat: lat, datum: datum });
    return GD.getJSON(url).then(function (answer) {
      if (seq !== page.seq) return;
      if (answer.status !== 200) return failed(page, answer);
      var loc = answer.body;
      show(page, loc, loc.parcels[0] || null);
      var near = nearbyCases(page, loc.point, loc.parcels[0] ? loc.parcels[0].code : null, seq);
      if (loc.parcels[0]) return Promise.all([outlineAt(page, loc, "parcels", loc.parcels[0].code, seq), near]);
      var area = loc.grid ? ["grids", loc.grid.code] : loc.village ? ["villages", loc.village.code] : null;
      if (area) return Promise.all([outlineAt(page, loc, area[0], area[1], seq), near]);
      return near;
    }, function () {
      if (seq === page.seq) offlineLookup(page, lon, lat, datum);
    });
  }

  /* Offline: the kept village outlines, grids and parcels (js/offline.js's pack) drawn on the map once the pack is
     read (it is read asynchronously: tried again for a few seconds), the view fitted to them, and the status
     saying the map shows what the phone kept. Without a pack, the status says that instead of a grey map. */
  function keptOutlines(page, tries) {
    var offline = window.GDOffline;
    if (page.kept || navigator.onLine) return;
    if (!offline || !offline.pack) {
      if (tries < 25) return setTimeout(function () { keptOutlines(page, tries + 1); }, 200);
      return say(page, gettext("没有网络，本机也无离线数据：地图无法显示。联网打开本页即下载本村边界。"), true);
    }
    var d = offline.pack.data;
    var group = L.featureGroup();
    L.geoJSON(d.parcels, { style: { color: "#8d6e63", weight: 1, fillOpacity: 0.08 }, interactive: false }).addTo(group);
    L.geoJSON(d.grids, { style: { color: "#1565c0", weight: 1.5, fill: false, dashArray: "4 3" }, interactive: false }).addTo(group);
    L.geoJSON(d.villages, { style: { color: "#c62828", weight: 3, fill: false }, interactive: false }).addTo(group);
    group.addTo(page.ctx.map);
    page.kept = group;
    if (group.getBounds().isValid()) page.ctx.map.fitBounds(group.getBounds(), { padding: [10, 10] });
    say(page, gettext("没有网络：地图只显示本机保存的本村边界、网格和地块；点击地图可离线查询。"));
  }

  /* No network: the answer from the area pack kept on the phone (js/offline.js) — village, grid and
     parcel, drawn from the kept outlines. GCJ-02 needs the server's conversion: asked for again online. */
  function offlineLookup(page, lon, lat, datum) {
    var offline = window.GDOffline;
    var hit = offline && offline.pack && datum !== "gcj02" ? offline.lookup(lon, lat) : null;
    if (!hit) {
      var why = !offline || !offline.pack ? gettext("网络错误，本机也无离线数据") : gettext("网络错误；离线查询只接受 WGS84/CGCS2000 坐标");
      return say(page, why, true);
    }
    if (!hit.inPack) return say(page, gettext("离线：此点不在本机保存的嘎查村内"), true);
    var ctx = page.ctx;
    page.resultLayer.clearLayers();
    page.outline = null;
    page.outlined = null;
    var latlng = [lat, lon];
    L.circleMarker(latlng, { radius: 7, color: "#d50000", weight: 3, fillColor: "#fff", fillOpacity: 1 }).addTo(page.resultLayer);
    if (ctx.map.getZoom() < LOOKUP_ZOOM) ctx.map.setView(latlng, LOOKUP_ZOOM);
    var parcel = hit.parcels[0] ? hit.parcels[0].properties : null;
    var shown = hit.parcels[0] || hit.grid || hit.village;
    var layer = hit.parcels[0] ? "parcels" : hit.grid ? "grids" : "villages";
    drawOutline(page, shown, true, layer);
    var box = page.result;
    box.replaceChildren();
    box.hidden = false;
    box.appendChild(el("h2", null, (parcel ? gettext("地块 ") + parcel.code : gettext("位置")) + gettext("（离线）")));
    page.close.hidden = false;
    var village = hit.village.properties;
    var grid = hit.grid ? hit.grid.properties : null;
    var rows = [
      [gettext("坐标 WGS84"), lon.toFixed(6) + ", " + lat.toFixed(6)],
      [gettext("苏木乡镇"), village.township_name ? village.township_name + "（" + village.township_code + "）" : village.township_code],
      [gettext("嘎查村"), areaText(village)],
      [gettext("网格"), grid ? areaText(grid) : gettext("无")],
    ];
    if (parcel) {
      rows.push([gettext("地类"), parcel.land_use_label || parcel.land_use]);
      rows.push([gettext("面积（亩）"), parcel.area_mu]);
    }
    box.appendChild(GD.definitionList(rows));
    if (!parcel) box.appendChild(el("p", "hint", gettext("此处无登记地块")));
    box.appendChild(el("p", "hint", gettext("离线查询：按本机保存的本村边界，登记后由服务器定位和分流。")));
    var link = el("a", "action", gettext("在此登记事项"));
    link.href = GD.withQuery(ctx.config.api.caseNew, { lon: lon.toFixed(7), lat: lat.toFixed(7), datum: datum === "cgcs2000" ? "cgcs2000" : "wgs84" });
    box.appendChild(link);
    say(page, "");
  }

  function lookupParcel(page, code) {
    var seq = ++page.seq;
    say(page, gettext("查询中…"));
    var url = page.ctx.config.api.parcel.replace("__code__", encodeURIComponent(code));
    return GD.getJSON(url).then(function (answer) {
      if (seq !== page.seq) return;
      if (answer.status !== 200) return failed(page, answer);
      var feature = answer.body;
      var context = feature.context;
      if (!context) {
        say(page, gettext("该地块不在本旗范围内"), true);
        return;
      }
      show(page, context, feature.properties);
      drawOutline(page, feature);
      return nearbyCases(page, context.point, feature.properties.code, seq);
    }, networkError(page));
  }

  /* The outline of the parcel, grid or village (`layer`) with `code` around the point, from that
     layer's API by a tiny box: the worker sees which area the answer speaks of. */
  function outlineAt(page, loc, layer, code, seq) {
    var d = 0.00005;
    var bbox = [loc.point.lon - d, loc.point.lat - d, loc.point.lon + d, loc.point.lat + d].join(",");
    var url = GD.withQuery(page.ctx.config.api.layers[layer], { bbox: bbox });
    return GD.getJSON(url).then(function (answer) {
      if (seq !== page.seq || answer.status !== 200) return;
      var feature = (answer.body.features || []).filter(function (f) {
        return f.id === code;
      })[0];
      if (feature) drawOutline(page, feature, true, layer);
    });
  }

  function drawOutline(page, feature, keepView, layer) {
    var style = page.ctx.config.resultStyle;
    if (layer && layer !== "parcels") style = Object.assign({}, style, { fill: false, dashArray: "6 4" });
    var outline = L.geoJSON(feature, { style: style, interactive: false });
    outline.addTo(page.resultLayer);
    page.outline = outline;
    page.outlined = { layer: layer || "parcels", code: String(feature.id) };
    if (!keepView) page.ctx.map.fitBounds(outline.getBounds(), { maxZoom: 17, padding: [20, 20] });
  }

  /* Panel and marker for a location answer; `parcel` is the parcel to describe (or null). */
  function show(page, loc, parcel) {
    var ctx = page.ctx;
    ctx.userMoved = true;
    page.resultLayer.clearLayers();
    page.outline = null;
    page.outlined = null;
    var latlng = [loc.point.lat, loc.point.lon];
    L.circleMarker(latlng, { radius: 7, color: "#d50000", weight: 3, fillColor: "#fff", fillOpacity: 1 })
      .bindTooltip(loc.point.lon.toFixed(6) + ", " + loc.point.lat.toFixed(6))
      .addTo(page.resultLayer);
    if (ctx.map.getZoom() < LOOKUP_ZOOM) ctx.map.setView(latlng, LOOKUP_ZOOM);
    else ctx.map.panTo(latlng);

    var box = page.result;
    box.replaceChildren();
    box.hidden = false;
    box.appendChild(el("h2", null, parcel ? gettext("地块 ") + parcel.code : gettext("位置")));
    page.close.hidden = false;
    page.sheet.scrollTop = 0; // the answer heads the sheet: back to its top after a tap further down the list
    var grid = loc.grid;
    var worker = grid && grid.worker && (grid.worker.name || grid.worker.phone) ? workerNode(grid.worker) : "";
    box.appendChild(
      GD.definitionList([
        [gettext("坐标 WGS84"), loc.point.lon.toFixed(6) + ", " + loc.point.lat.toFixed(6)],
        [gettext("说明"), DATUM_NOTES[loc.datum] || ""],
        [gettext("定位精度"), page.accuracy ? gettext("GPS 约 ") + Math.round(page.accuracy) + gettext(" 米") : ""],
        [gettext("苏木乡镇"), areaText(loc.township)],
        [gettext("嘎查村"), areaText(loc.village)],
        [gettext("网格"), grid ? areaText(grid) + (grid.households ? "（" + grid.households + gettext(" 户）") : "") : gettext("无")],
        [gettext("网格员（代办员）"), worker],
        [gettext("矿区"), miningText(loc.mining_areas)],
      ])
    );
    if (parcel) box.appendChild(parcelList(parcel, ctx.config));
    else box.appendChild(el("p", "hint", gettext("此处无登记地块") + (grid ? gettext("；虚线为所在网格") : loc.village ? gettext("；虚线为所在嘎查村") : "")));
    var others = (loc.parcels || []).filter(function (p) {
      return !parcel || p.code !== parcel.code;
    });
    if (others.length) {
      box.appendChild(el("p", "hint", gettext("此处另有重叠地块：") + others.map(function (p) { return p.code; }).join("、")));
    }
    var link = el("a", "action", gettext("在此登记事项"));
    link.href = GD.withQuery(ctx.config.api.caseNew, { lon: loc.point.lon.toFixed(7), lat: loc.point.lat.toFixed(7), datum: "wgs84" });
    box.appendChild(link);
    say(page, "");
  }

  /* Holders matching `name` in the user's scope → a list of parcels; a choice looks the parcel up. */
  function searchHolder(page, name) {
    var seq = ++page.seq;
    say(page, gettext("查询中…"));
    var url = GD.withQuery(page.ctx.config.api.parcelSearch, { holder: name });
    return GD.getJSON(url).then(function (answer) {
      if (seq !== page.seq) return;
      var box = page.holderResults;
      box.replaceChildren();
      if (answer.status !== 200) {
        box.hidden = true;
        return failed(page, answer);
      }
      var found = answer.body.results || [];
      box.hidden = false;
      box.appendChild(
        el("p", "hint", gettext("找到 ") + answer.body.count + gettext(" 块") + (answer.body.truncated ? gettext("，仅列前 ") + found.length + gettext(" 块，请输入全名") : ""))
      );
      var list = el("ul");
      found.forEach(function (parcel) {
        var button = el(
          "button",
          null,
          parcel.holder + " · " + parcel.code + " · " + (parcel.land_use_label || parcel.land_use) + (parcel.area_mu ? " · " + parcel.area_mu + gettext(" 亩") : "")
        );
        button.type = "button";
        button.addEventListener("click", function () {
          lookupParcel(page, parcel.code);
        });
        list.appendChild(el("li")).appendChild(button);
      });
      box.appendChild(list);
      say(page, found.length ? gettext("请选择地块") : gettext("未找到该承包户的地块"));
      if (found.length === 1) return lookupParcel(page, found[0].code);
    }, networkError(page));
  }

  /* Open cases linked to the parcel, and open cases within NEAR_M of the point (a box around it,
     then the distance): listed in the panel nearest first and drawn on the map by status. */
  function nearbyCases(page, point, parcelCode, seq) {
    var config = page.ctx.config;
    var section = el("section", "open-cases");
    section.appendChild(el("h3", null, gettext("在办事项（本地块及周边 ") + NEAR_M + gettext(" 米）")));
    section.appendChild(el("p", "hint", gettext("查询中…")));
    page.result.insertBefore(section, page.result.querySelector("a.action"));
    page.nearby = null;
    var dLat = NEAR_M / 111320;
    var dLon = NEAR_M / (111320 * Math.cos((point.lat * Math.PI) / 180));
    var bbox = [point.lon - dLon, point.lat - dLat, point.lon + dLon, point.lat + dLat]
      .map(function (v) {
        return v.toFixed(6);
      })
      .join(",");
    var around = GD.getJSON(GD.withQuery(config.api.cases, { bbox: bbox, status: "open", page_size: 500 }));
    var onParcel = parcelCode
      ? GD.getJSON(GD.withQuery(config.api.cases, { parcel: parcelCode, status: "open", page_size: 500 }))
      : Promise.resolve({ status: 200, body: { features: [] } });
    return Promise.all([onParcel, around]).then(function (answers) {
      if (seq !== page.seq) return;
      if (answers[0].status !== 200 || answers[1].status !== 200) {
        section.replaceChild(el("p", "hint", gettext("无法读取事项：") + GD.problem(answers[0].status !== 200 ? answers[0] : answers[1])), section.lastChild);
        return;
      }
      var here = L.latLng(point.lat, point.lon);
      var byRef = new Map();
      answers[0].body.features.forEach(function (f) {
        byRef.set(f.id, { feature: f, onParcel: true });
      });
      answers[1].body.features.forEach(function (f) {
        if (!byRef.has(f.id)) byRef.set(f.id, { feature: f, onParcel: false });
      });
      var rows = [];
      byRef.forEach(function (row) {
        var c = row.feature.geometry.coordinates;
        row.latlng = L.latLng(c[1], c[0]);
        row.distance = here.distanceTo(row.latlng);
        if (row.onParcel || row.distance <= NEAR_M) rows.push(row);
      });
      rows.sort(function (a, b) {
        return a.distance - b.distance;
      });
      page.nearby = rows.map(function (row) {
        return row.feature.id;
      });
      section.removeChild(section.lastChild);
      if (!rows.length) {
        section.appendChild(el("p", "hint", gettext("本地块及周边 ") + NEAR_M + gettext(" 米内无在办事项")));
        return;
      }
      var list = el("ul", "cases");
      rows.forEach(function (row) {
        var props = row.feature.properties || {};
        var link = el("a", null, GD.caseLine(props, config));
        link.href = config.api.case.replace("__ref__", encodeURIComponent(props.reference));
        var item = el("li");
        item.appendChild(link);
        item.appendChild(document.createTextNode(row.onParcel ? gettext("（本地块）") : "（" + Math.round(row.distance) + gettext(" 米）")));
        list.appendChild(item);
        var style = Object.assign({}, CASE_STYLE, { fillColor: config.statusColours[props.status] || "#e53935" });
        L.circleMarker(row.latlng, style)
          .bindTooltip(function () {
            return el("span", null, GD.caseLine(props, config));
          })
          .bindPopup(function () {
            return GD.casePopup(props, config);
          })
          .addTo(page.resultLayer);
      });
      section.appendChild(list);
    }, function () {
      if (seq === page.seq) section.replaceChild(el("p", "hint", gettext("网络错误，事项未能读取")), section.lastChild);
    });
  }

  function parcelList(parcel, config) {
    return GD.definitionList([
      [gettext("地块名称"), parcel.name],
      [gettext("地类"), parcel.land_use_label || config.labels.land_use[parcel.land_use] || parcel.land_use],
      [gettext("面积（亩）"), parcel.area_mu],
      [gettext("承包户"), parcel.holder],
      [gettext("承包合同号"), parcel.contract_no],
    ]);
  }

  function workerNode(worker) {
    var span = el("span", null, worker.name || "");
    if (worker.phone) {
      span.appendChild(document.createTextNode(" "));
      var tel = el("a", null, worker.phone);
      tel.href = "tel:" + worker.phone.replace(/[^0-9+]/g, "");
      span.appendChild(tel);
    }
    return span;
  }

  function areaText(area) {
    return area ? area.name + "（" + area.code + "）" : gettext("无");
  }

  function miningText(areas) {
    if (!areas || !areas.length) return gettext("不在矿区及其影响区");
    return areas
      .map(function (m) {
        return m.name + " · " + (RELATIONS[m.relation] || m.relation) + (m.operator ? " · " + m.operator : "");
      })
      .join("；");
  }

  function failed(page, answer) {
    if (answer.status === 404) page.result.hidden = true;
    say(page, GD.problem(answer), true);
  }

  function networkError(page) {
    return function () {
      say(page, gettext("网络错误，请稍后再试"), true);
    };
  }

  function say(page, text, isError) {
    page.status.textContent = text;
    page.status.className = isError ? "status error" : "status";
    page.sheet.classList.toggle("open", Boolean(text) || !page.result.hidden);
    if (page.result.hidden) page.close.hidden = !text;
  }

  /* "我的位置": the phone's GPS position (WGS84, as the Geolocation API gives it) → a lookup there. */
  function locateControl(page) {
    var control = L.control({ position: "topleft" });
    control.onAdd = function () {
      var button = el("button", "gd-locate", gettext("◎ 我的位置"));
      button.type = "button";
      button.title = gettext("用手机定位（GPS，WGS84）查询所在位置");
      L.DomEvent.disableClickPropagation(button);
      L.DomEvent.on(button, "click", function () {
        if (!navigator.geolocation) return say(page, gettext("此浏览器不支持定位"), true);
        say(page, gettext("正在定位…"));
        navigator.geolocation.getCurrentPosition(
          function (position) {
            page.accuracy = position.coords.accuracy;
            lookupPoint(page, position.coords.longitude, position.coords.latitude, "wgs84").then(function () {
              page.accuracy = null;
            });
          },
          function (error) {
            var reasons = { 1: gettext("未允许使用位置"), 2: gettext("无法取得位置"), 3: gettext("定位超时") };
            say(page, gettext("定位失败：") + (reasons[error.code] || gettext("未知原因")) + gettext("。也可点按地图或输入坐标"), true);
          },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 }
        );
      });
      return button;
    };
    control.addTo(page.ctx.map);
  }
})();
