// Draws every <canvas data-chart=...> from the JSON in its data-source element.
// Chart.js is vendored (static/twinai/vendor); nothing is fetched at run time.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  const colours = { Benign: "#2e9e5b", Scan: "#d98a00", DDoS: "#d1333d" };
  const palette = ["#d98a00", "#d1333d", "#7b61ff", "#1f6feb", "#17a2b8", "#8a5800", "#9c1c25", "#5b6478"];

  function data(canvas) {
    const source = document.getElementById(canvas.dataset.source);
    return source ? JSON.parse(source.textContent) : null;
  }

  const draw = {
    doughnut(canvas, shares) {
      const labels = Object.keys(shares);
      return new Chart(canvas, {
        type: "doughnut",
        data: { labels, datasets: [{ data: labels.map((k) => shares[k]),
          backgroundColor: labels.map((k, i) => colours[k] || palette[i % palette.length]) }] },
        options: { animation: false, plugins: { legend: { position: "right" } } },
      });
    },
    bar(canvas, counts) {
      const labels = Object.keys(counts);
      return new Chart(canvas, {
        type: "bar",
        data: { labels, datasets: [{ label: "flows", data: labels.map((k) => counts[k]),
          backgroundColor: labels.map((k) => (k.startsWith("ddos") ? colours.DDoS : colours.Scan)) }] },
        options: { animation: false, indexAxis: "y", plugins: { legend: { display: false } } },
      });
    },
    accuracy(canvas, chart) {
      return new Chart(canvas, {
        type: "bar",
        data: { labels: chart.labels, datasets: [
          { label: "train", data: chart.train, backgroundColor: "#7aa7f7" },
          { label: "test", data: chart.test, backgroundColor: "#1f6feb" } ] },
        options: { animation: false, scales: { y: { min: 0, max: 1, title: { display: true, text: "accuracy" } } } },
      });
    },
  };

  window.twinaiCharts = {};
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    const values = data(canvas);
    const kind = draw[canvas.dataset.chart];
    if (values && kind) { window.twinaiCharts[canvas.id] = kind(canvas, values); }
  });
})();
