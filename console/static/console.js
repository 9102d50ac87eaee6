// The overview's chart: Chart.js (static/vendor, embedded in the binary) drawing the
// period's daily paid volume and order count from the JSON the page carries. The same
// numbers are in the table below the chart, for screen readers and without scripts.
(function () {
  "use strict";
  var data = document.getElementById("chart-data");
  var canvas = document.getElementById("volume-chart");
  if (!data || !canvas || typeof Chart === "undefined") return;
  var d = JSON.parse(data.textContent);
  // Amounts travel as integer fen; yuan are only drawn.
  var yuan = d.fen.map(function (f) { return f / 100; });
  var chart = new Chart(canvas, {
    data: {
      labels: d.labels,
      datasets: [
        { type: "bar", label: d.names[0] + " (¥)", data: yuan, backgroundColor: "#0b5cad", yAxisID: "y" },
        { type: "line", label: d.names[1], data: d.count, borderColor: "#c05600", backgroundColor: "#c05600", yAxisID: "y1", tension: 0 } // straight segments: a curve overshoots whole counts
      ]
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        y: { beginAtZero: true, position: "left", ticks: { callback: function (v) { return "¥" + v; } } },
        y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 } }
      }
    }
  });
  canvas.dataset.rendered = "true"; // the browser test waits for this
  window.f2fpayChart = chart;
})();
