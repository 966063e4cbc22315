/* Dashboard charts: reads the series the server embedded (#dashboard-data) and draws them with the
   vendored Chart.js. Without Chart.js (or JavaScript) the numbers and tables beside each chart remain. */
(function () {
  "use strict";
  // The page's language from Django's JavaScript catalogue (/jsi18n/); the Chinese text itself without it.
  var gettext = window.gettext || function (s) {
    return s;
  };
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var red = "#8b1a1a";
  var grey = "#868e96";
  var common = {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    plugins: { legend: { display: false } },
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
  };

  function bar(id, series, options) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: series.labels, datasets: [{ label: gettext("件数"), data: series.values, backgroundColor: red }] },
      options: Object.assign({}, common, options || {})
    });
  }

  bar("chart-by-tier", data.by_tier);
  bar("chart-by-status", data.by_status);
  bar("chart-overdue", data.overdue_by_unit, {
    indexAxis: "y",
    scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
  });

  var month = document.getElementById("chart-by-month");
  if (month) {
    new window.Chart(month, {
      type: "line",
      data: {
        labels: data.by_month.labels,
        datasets: [
          { label: gettext("登记"), data: data.by_month.received, borderColor: red, backgroundColor: red, tension: 0.2 },
          { label: gettext("其中已办结"), data: data.by_month.concluded, borderColor: grey, backgroundColor: grey, tension: 0.2 }
        ]
      },
      options: Object.assign({}, common, { plugins: { legend: { display: true } } })
    });
  }
})();
