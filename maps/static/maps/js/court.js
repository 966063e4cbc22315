/*
 * The mining court's map: a click on a mining area shows its name, operator and licence, then
 * asks the cases API for its open cases; a click on a parcel a mine touches shows the parcel, its
 * holder as the user's role may see it (/api/parcels/<code>/) and the cases linked to it
 * (/api/cases/?parcel=<code>). The mining-related cases layer (/api/cases/?mining=1, by box) is
 * coloured by status; the filters (mine, category, period) go into its requests. A list appears
 * only when the API answers 200; any other answer leaves the section out. Text only, no HTML.
 */
(function () {
  "use strict";
  // The page's language from Django's JavaScript catalogue (/jsi18n/); the Chinese text itself without it.
  var gettext = window.gettext || function (s) {
    return s;
  };

  var GD = (window.GeoDisputesMaps = window.GeoDisputesMaps || {});
  GD.pages = GD.pages || {};

  GD.pages.court = function (ctx) {
    var page = { ctx: ctx, detail: document.getElementById("mine-detail"), seq: 0 };
    GD.court = page;
    var highlight = L.featureGroup().addTo(ctx.groups.result);
    var mines = ctx.layers["mining-areas"];
    var selectMine = function (feature) {
      highlight.clearLayers();
      L.geoJSON(feature, { style: ctx.config.resultStyle, interactive: false }).addTo(highlight);
      page.printLink(String(feature.id));
      return showMine(page, feature.properties || {}, feature.id);
    };
    mines.onFeatureClick = selectMine;
    // A tap on the influence zone is a tap on its mine: same popup, same panel.
    ctx.layers["mining-zones"].onFeatureClick = function (feature, layer, event) {
      var mine = mines.drawn.get(String(feature.id));
      if (!mine) return;
      L.popup().setLatLng(event.latlng).setContent(GD.popupFor("mining-areas", mine.feature.properties || {}, ctx.config)).openOn(ctx.map);
      selectMine(mine.feature);
    };
    // A marker at each mine's centre, above the case markers: its tap opens the mine, never a case.
    var centres = L.featureGroup().addTo(ctx.groups["mining-areas"]);
    page.centres = centres;
    var drawnCentres = new Set();
    var mineDrawn = function () {
      mines.drawn.forEach(function (layer, code) {
        if (drawnCentres.has(code)) return;
        drawnCentres.add(code);
        var icon = L.divIcon({ className: "gd-mine-centre", html: "", iconSize: [18, 18] });
        L.marker(layer.getBounds().getCenter(), { icon: icon, title: ((layer.feature.properties || {}).name || code) + gettext("（矿区中心）"), zIndexOffset: 1000 })
          .on("click", function (event) {
            layer.openPopup(event.latlng);  // the mine's own popup, as a tap on its area gives
            selectMine(layer.feature);
          })
          .addTo(centres);
      });
    };
    ctx.layers["mining-parcels"].onFeatureClick = function (feature) {
      highlight.clearLayers();
      L.geoJSON(feature, { style: ctx.config.resultStyle, interactive: false }).addTo(highlight);
      showParcel(page, feature.properties || {}, String(feature.id));
    };
    GD.openCases = function (code) {
      return openCases(page, code);
    };
    var print = document.getElementById("hearing-print");
    page.printLink = function (code) {
      print.hidden = !code;
      print.href = code ? GD.withQuery(print.getAttribute("data-base"), { mining_area: code }) : print.getAttribute("data-base");
    };
    setupFilters(page, mineDrawn);
  };

  /* Mine, category and period filter the cases layer; the mine list comes from the mining-areas layer. */
  function setupFilters(page, mineDrawn) {
    var ctx = page.ctx;
    var form = document.getElementById("court-filters");
    var status = document.getElementById("case-status");
    var cases = ctx.layers.cases;
    var mines = ctx.layers["mining-areas"];
    var select = form.elements.mining_area;
    mines.onDrawn = function () {
      mineDrawn();
      if (page.minesListed) return;
      page.minesListed = true;
      // The page lists the user's banner's mines itself; from the layer only when it did not.
      if (select.options.length <= 1) {
        mines.drawn.forEach(function (layer, code) {
          var option = GD.el("option", null, (layer.feature.properties || {}).name || code);
          option.value = code;
          select.appendChild(option);
        });
      }
      select.value = select.getAttribute("data-initial") || "";
      page.printLink(select.value);
    };
    select.addEventListener("change", function () {
      page.printLink(select.value);
    });
    cases.onDrawn = function () {
      // Open cases over closed ones (on one canvas the last drawn is on top and takes the tap).
      cases.drawn.forEach(function (layer) {
        if (ctx.config.openStatuses.indexOf((layer.feature.properties || {}).status) >= 0) layer.bringToFront();
      });
      status.className = "status";
      status.textContent =
        gettext("涉矿事项：视野内 ") +
        (cases.meta && cases.meta.count_exact === false ? gettext("至少 ") : "") +
        cases.total +
        gettext(" 件") +
        (cases.count() < cases.total ? gettext("，显示 ") + cases.count() + gettext(" 件") : "");
    };
    cases.onRefused = function (answer) {
      status.className = "status error";
      status.textContent = GD.problem(answer);
    };
    function caseFilters(values) {
      var filters = Object.assign({}, values);
      if (!filters.status) filters.status = "open";
      if (filters.status === "all") delete filters.status;
      return filters;
    }
    function apply(remember) {
      var values = GD.formValues(form);
      cases.reload(caseFilters(values));
      if (remember && window.history && window.history.replaceState) {
        var query = new URLSearchParams(values).toString();
        window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
      }
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      apply(true);
    });
    form.addEventListener("reset", function (event) {
      event.preventDefault();
      Array.prototype.forEach.call(form.elements, function (field) {
        if (field.name) field.value = field.name === "status" ? "open" : "";
      });
      apply(true);
    });
    var initial = GD.formValues(form);
    if (select.getAttribute("data-initial")) initial.mining_area = select.getAttribute("data-initial");
    cases.filters = caseFilters(initial);
  }

  /* A parcel: what it is, its holder (per role, from the API), and the cases linked to it. */
  function showParcel(page, props, code) {
    var labels = page.ctx.config.labels;
    var seq = ++page.seq;
    var box = page.detail;
    box.replaceChildren();
    box.hidden = false;
    box.appendChild(GD.el("h2", null, gettext("地块 ") + code));
    var facts = GD.el("div");
    box.appendChild(facts);
    var relation = props.mining_relation === "inside" ? gettext("矿区内") : props.mining_relation ? gettext("矿区影响区内") : "";
    var rows = [
      [gettext("地块名称"), props.name],
      [gettext("地类"), labels.land_use[props.land_use] || props.land_use],
      [gettext("面积（亩）"), props.area_mu],
      [gettext("承包合同号"), props.contract_no],
      [gettext("涉矿"), relation + (props.mining_area_code ? " · " + props.mining_area_code : "")],
    ];
    facts.appendChild(GD.definitionList(rows));
    var section = GD.el("section", "open-cases");
    section.hidden = true;
    box.appendChild(section);
    page.cases = section;
    var parcelUrl = page.ctx.config.api.parcel.replace("__code__", encodeURIComponent(code));
    var holder = GD.getJSON(parcelUrl).then(function (answer) {
      if (seq !== page.seq || answer.status !== 200 || !answer.body) return;
      var p = answer.body.properties || {};
      rows.splice(1, 0, [gettext("承包户"), p.holder || gettext("（不显示）")]);
      facts.replaceChildren(GD.definitionList(rows));
    });
    var url = GD.withQuery(page.ctx.config.api.cases, { parcel: code });
    var cases = GD.getJSON(url).then(function (answer) {
      if (seq !== page.seq || answer.status !== 200 || !answer.body) return;
      var items = (answer.body.features || []).map(function (item) {
        return Object.assign({ id: item.id }, item.properties);
      });
      renderCases(section, items, answer.body, gettext("本地块相关事项"), page.ctx.config);
    });
    return Promise.all([holder, cases]).catch(function () {
      /* no API reachable: the sections stay as they are */
    });
  }

  function showMine(page, props, code) {
    var labels = page.ctx.config.labels;
    var box = page.detail;
    box.replaceChildren();
    box.hidden = false;
    box.appendChild(GD.el("h2", null, props.name || code));
    box.appendChild(
      GD.definitionList([
        [gettext("矿区代码"), code],
        [gettext("经营主体"), props.operator],
        [gettext("采矿许可证号"), props.licence_no],
        [gettext("开采方式"), labels.mine_kind[props.kind] || props.kind],
        [gettext("影响区缓冲（米）"), props.influence_buffer_m],
      ])
    );
    var section = GD.el("section", "open-cases");
    section.hidden = true;
    box.appendChild(section);
    page.cases = section;
    return openCases(page, code);
  }

  /* GET /api/cases/?mining_area=<code>&status=open → list in the panel; nothing unless 200. */
  function openCases(page, code) {
    var seq = ++page.seq;
    var url = GD.withQuery(page.ctx.config.api.cases, { mining_area: code, status: "open" });
    return GD.getJSON(url)
      .then(function (answer) {
        if (seq !== page.seq || !page.cases) return;
        if (answer.status !== 200 || !answer.body) return;
        var items = (answer.body.features || answer.body.results || []).map(function (item) {
          return item.properties ? Object.assign({ id: item.id }, item.properties) : item;
        });
        renderCases(page.cases, items, answer.body, gettext("在办事项"), page.ctx.config);
      })
      .catch(function () {
        /* no cases service reachable: the section stays hidden */
      });
  }

  function renderCases(section, items, body, title, config) {
    section.replaceChildren();
    section.hidden = false;
    // A busy list counts up to a limit and says so (count_exact false): "10000+".
    var total = typeof body.count === "number" ? body.count + (body.count_exact === false ? "+" : "") : items.length;
    section.appendChild(GD.el("h3", null, title + "（" + total + "）"));
    if (!items.length) {
      section.appendChild(GD.el("p", "hint", gettext("暂无") + title.replace(/^本地块/, "")));
      return;
    }
    var list = GD.el("ul", "cases");
    items.forEach(function (c) {
      var parts = [c.reference || c.id, c.category_label || c.category, c.status_label || c.status, c.tier_label || c.tier];
      if (c.next_due) parts.push(gettext("期限 ") + String(c.next_due).slice(0, 10));
      var text = parts
        .filter(function (p) {
          return p !== undefined && p !== null && p !== "";
        })
        .join(" · ");
      var item = GD.el("li");
      if (c.reference && config) {
        var link = GD.el("a", null, text);
        link.href = config.api.case.replace("__ref__", encodeURIComponent(c.reference));
        item.appendChild(link);
      } else {
        item.textContent = text;
      }
      list.appendChild(item);
    });
    section.appendChild(list);
  }
})();
