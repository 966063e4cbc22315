/*
 * The planners' emerging hot spots (/api/emerging-hotspots/?step=month|quarter|year&…filters…): each
 * hexagon coloured by its category (new, consecutive, intensifying, persistent, diminishing, sporadic,
 * oscillating, historical hot or cold spot, or no pattern — Esri's Emerging Hot Spot Analysis), with a
 * legend that holds the step selector (月/季/年) and the service's parameters, or its reason when it
 * refuses (422: too few time steps or too few cases). Off until the user turns the layer on: the
 * space-time cube is computed when asked for. planner.js calls GD.emergingLayer(page) once and
 * `reload(filters)` whenever the page's filters change. Strings from the API reach the page through
 * textContent only.
 */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) {
    return s;
  };
  var GD = (window.GeoDisputesMaps = window.GeoDisputesMaps || {});

  // Esri's order and its colour logic: hot reds (strongest for intensifying), cold blues, no pattern clear.
  var CATEGORIES = [
    ["new_hot", gettext("新热点"), "#ff1744"],
    ["consecutive_hot", gettext("连续热点"), "#ff6d00"],
    ["intensifying_hot", gettext("增强热点"), "#b71c1c"],
    ["persistent_hot", gettext("持续热点"), "#e53935"],
    ["diminishing_hot", gettext("减弱热点"), "#ef9a9a"],
    ["sporadic_hot", gettext("零星热点"), "#ffab91"],
    ["oscillating_hot", gettext("振荡热点"), "#f48fb1"],
    ["historical_hot", gettext("历史热点"), "#bcaaa4"],
    ["new_cold", gettext("新冷点"), "#2979ff"],
    ["consecutive_cold", gettext("连续冷点"), "#00b0ff"],
    ["intensifying_cold", gettext("增强冷点"), "#0d47a1"],
    ["persistent_cold", gettext("持续冷点"), "#1e88e5"],
    ["diminishing_cold", gettext("减弱冷点"), "#90caf9"],
    ["sporadic_cold", gettext("零星冷点"), "#80deea"],
    ["oscillating_cold", gettext("振荡冷点"), "#b39ddb"],
    ["historical_cold", gettext("历史冷点"), "#b0bec5"],
    ["no_pattern", gettext("无明显模式"), "transparent"],
  ];
  var STEPS = [
    ["month", gettext("月")],
    ["quarter", gettext("季")],
    ["year", gettext("年")],
  ];
  var BY_KEY = {};
  CATEGORIES.forEach(function (row) {
    BY_KEY[row[0]] = { key: row[0], label: row[1], colour: row[2] };
  });

  GD.emergingLayer = function (page) {
    var ctx = page.ctx;
    var loader = ctx.layers.emerging;
    var group = ctx.groups.emerging;
    if (!loader || !group) return null;
    loader.held = true; // until the page gives it its filters
    var state = { step: "month", filters: {} };
    var legend = buildLegend(state, function () {
      loader.reload(Object.assign({}, state.filters, { step: state.step }));
    });

    loader.geojson.options.style = function (feature) {
      var cat = categoryOf(feature.properties);
      var quiet = cat.key === "no_pattern";
      return Object.assign({}, loader.spec.style, { fillColor: quiet ? "#ffffff" : cat.colour, fillOpacity: quiet ? 0.05 : 0.7 });
    };
    loader.tooltip = function (props) {
      return format(gettext("%(category)s · 共 %(n)s 件"), { category: categoryOf(props).label, n: sum(props.counts) });
    };
    loader.popup = function (props) {
      return popup(props, loader.meta || {});
    };
    loader.onDrawn = function () {
      var m = loader.meta || {};
      var tally = {};
      loader.drawn.forEach(function (layer) {
        var key = categoryOf(layer.feature.properties).key;
        tally[key] = (tally[key] || 0) + 1;
      });
      legend.counts(tally);
      legend.say(
        format(gettext("%(steps)s 个时间步（%(first)s 起），事项 %(n)s 件，距离带 %(band)s 米，邻域含前 %(lag)s 个时间步"), {
          steps: (m.steps || []).length,
          first: (m.steps || [""])[0],
          n: m.n_incidents,
          band: Math.round(m.distance_band_m || 0),
          lag: m.time_steps,
        }),
        false
      );
    };
    loader.onRefused = function (answer) {
      loader.clear();
      legend.counts({});
      legend.say(refusal(answer, state.step), true);
    };

    ctx.map.on("overlayadd", function (event) {
      if (event.layer !== group) return;
      legend.control.addTo(ctx.map);
      if (!loader.held) {
        loader.refresh();
        if (loader.pending) legend.say(gettext("计算中（事项多时需要较长时间）…"), false);
      }
    });
    ctx.map.on("overlayremove", function (event) {
      if (event.layer === group) legend.control.remove();
    });
    if (ctx.map.hasLayer(group)) legend.control.addTo(ctx.map);

    return {
      reload: function (filters) {
        state.filters = Object.assign({}, filters || {});
        loader.reload(Object.assign({}, state.filters, { step: state.step }));
        if (loader.pending) legend.say(gettext("计算中（事项多时需要较长时间）…"), false);
        else legend.say(gettext("打开本图层后按当前筛选条件计算"), false);
      },
      legend: legend,
    };
  };

  function categoryOf(props) {
    return BY_KEY[(props || {}).category] || BY_KEY.no_pattern;
  }

  /* "%(name)s" placeholders filled from `values` (a translation may reorder them). */
  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return values[name] === undefined || values[name] === null ? "" : String(values[name]);
    });
  }

  function sum(values) {
    return (values || []).reduce(function (a, b) {
      return a + b;
    }, 0);
  }

  function fixed(value, digits) {
    return value === null || value === undefined ? "" : Number(value).toFixed(digits);
  }

  /* The API's refusal in the page's language, without its field names: too few time steps (`step`; a
     shorter step is advised only when there is one), too few cases (`detail`), else as sent. */
  function refusal(answer, step) {
    var body = answer.body || {};
    if (answer.status === 422 && body.step) {
      var advice =
        step === "month"
          ? gettext("时间步不足，未做新兴热点分析：请放宽时间范围。")
          : gettext("时间步不足，未做新兴热点分析：请改用更短的步长（如“月”）或放宽时间范围。");
      return advice + " " + GD.problem(answer, true);
    }
    if (answer.status === 422) return gettext("事项不足，未做新兴热点分析：") + GD.problem(answer, true);
    return gettext("参数有误：") + GD.problem(answer);
  }

  /* The legend control: step selector, one swatch row per category (with its count once drawn), a status line. */
  function buildLegend(state, onStep) {
    var el = GD.el;
    var control = L.control({ position: "bottomleft" });
    var box = el("div", "gd-legend gd-emerging-legend");
    box.setAttribute("data-testid", "emerging-legend");
    // The title, the step and the status always show; the 17 category rows fold away (folded at first on
    // a phone) and scroll inside: GD.fitLegends keeps the box under the map's top controls.
    box.style.maxWidth = "calc(100vw - 60px)";
    var toggle = el("button", "title toggle", gettext("新兴热点（时空趋势）"));
    toggle.type = "button";
    box.appendChild(toggle);
    var label = el("label", null, gettext("时间步长 "));
    var select = el("select");
    select.name = "emerging-step";
    STEPS.forEach(function (row) {
      var option = el("option", null, row[1]);
      option.value = row[0];
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      state.step = select.value;
      onStep();
    });
    label.appendChild(select);
    box.appendChild(label);
    var list = el("div", "rows");
    var countCells = {};
    CATEGORIES.forEach(function (row) {
      var line = el("div");
      var swatch = el("i");
      swatch.style.background = row[2];
      swatch.style.borderColor = "#757575";
      line.appendChild(swatch);
      line.appendChild(document.createTextNode(row[1]));
      countCells[row[0]] = el("span", "count", "");
      line.appendChild(countCells[row[0]]);
      list.appendChild(line);
    });
    var status = el("div", "status", "");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    box.appendChild(status);
    list.id = "emerging-legend-rows";
    box.appendChild(list);
    toggle.setAttribute("aria-controls", list.id);
    function fold(folded) {
      list.hidden = folded;
      toggle.setAttribute("aria-expanded", folded ? "false" : "true");
      toggle.title = folded ? gettext("展开图例") : gettext("收起图例");
    }
    fold(GD.narrow());
    toggle.addEventListener("click", function () {
      fold(!list.hidden);
    });
    control.onAdd = function () {
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    return {
      control: control,
      select: select,
      fold: fold,
      counts: function (tally) {
        Object.keys(countCells).forEach(function (key) {
          countCells[key].textContent = tally[key] ? " " + tally[key] : "";
        });
      },
      say: function (text, problem) {
        status.textContent = text;
        status.className = "status" + (problem ? " problem" : "");
      },
    };
  }

  /* One hexagon: its category, trend and, per time step, the count and the Gi* z. */
  function popup(props, meta) {
    var el = GD.el;
    var cat = categoryOf(props);
    var box = el("div", "gd-popup gd-emerging-popup");
    box.appendChild(el("strong", null, cat.label));
    box.appendChild(
      GD.definitionList([
        [gettext("事项数（各时间步合计）"), sum(props.counts)],
        [gettext("趋势 z（Mann-Kendall）"), fixed(props.trend_z, 2)],
        [gettext("趋势 p"), props.trend_p === undefined ? "" : Number(props.trend_p).toPrecision(3)],
      ])
    );
    var steps = meta.steps || [];
    var table = el("table", "steps");
    var head = el("tr");
    [gettext("时间步"), gettext("件数"), gettext("Gi* z")].forEach(function (text) {
      head.appendChild(el("th", null, text));
    });
    table.appendChild(head);
    (props.counts || []).forEach(function (count, i) {
      var row = el("tr");
      row.appendChild(el("td", null, steps[i] || String(i + 1)));
      row.appendChild(el("td", null, count));
      row.appendChild(el("td", null, fixed((props.gi_z || [])[i], 2)));
      table.appendChild(row);
    });
    var scroll = el("div", "steps-scroll");
    scroll.style.maxHeight = "10em";
    scroll.style.overflowY = "auto";
    scroll.appendChild(table);
    box.appendChild(scroll);
    return box;
  }
})();
