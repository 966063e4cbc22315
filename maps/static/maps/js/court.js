/*
 * The mining court's map: a click on a mining area shows its name, operator and licence, then
 * asks the cases API for its open cases. The list appears only when /api/cases/ answers 200
 * (a GeoJSON FeatureCollection); any other answer leaves the section out. Text only, no HTML.
 */
(function () {
  "use strict";

  var GD = (window.GeoDisputesMaps = window.GeoDisputesMaps || {});
  GD.pages = GD.pages || {};

  GD.pages.court = function (ctx) {
    var page = { ctx: ctx, detail: document.getElementById("mine-detail"), seq: 0 };
    GD.court = page;
    var highlight = L.featureGroup().addTo(ctx.groups.result);
    ctx.layers["mining-areas"].onFeatureClick = function (feature, layer) {
      highlight.clearLayers();
      L.geoJSON(feature, { style: ctx.config.resultStyle, interactive: false }).addTo(highlight);
      showMine(page, feature.properties || {}, feature.id);
    };
    GD.openCases = function (code) {
      return openCases(page, code);
    };
  };

  function showMine(page, props, code) {
    var labels = page.ctx.config.labels;
    var box = page.detail;
    box.replaceChildren();
    box.hidden = false;
    box.appendChild(GD.el("h2", null, props.name || code));
    box.appendChild(
      GD.definitionList([
        ["矿区代码", code],
        ["经营主体", props.operator],
        ["采矿许可证号", props.licence_no],
        ["开采方式", labels.mine_kind[props.kind] || props.kind],
        ["影响区缓冲（米）", props.influence_buffer_m],
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
        renderCases(page.cases, items, answer.body.count);
      })
      .catch(function () {
        /* no cases service reachable: the section stays hidden */
      });
  }

  function renderCases(section, items, count) {
    section.replaceChildren();
    section.hidden = false;
    var total = typeof count === "number" ? count : items.length;
    section.appendChild(GD.el("h3", null, "在办事项（" + total + "）"));
    if (!items.length) {
      section.appendChild(GD.el("p", "hint", "暂无在办事项"));
      return;
    }
    var list = GD.el("ul", "cases");
    items.forEach(function (c) {
      var parts = [c.reference || c.id, c.category_label || c.category, c.status_label || c.status, c.tier_label || c.tier];
      if (c.next_due) parts.push("期限 " + String(c.next_due).slice(0, 10));
      list.appendChild(
        GD.el(
          "li",
          null,
          parts
            .filter(function (p) {
              return p !== undefined && p !== null && p !== "";
            })
            .join(" · ")
        )
      );
    });
    section.appendChild(list);
  }
})();
