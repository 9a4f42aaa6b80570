// genver dashboard: uPlot charts drawn from the page's JSON island (#dashboard-data, the JSON
// twin's body). Colours come from CSS variables, so the charts follow the theme; each version also
// has its own dash pattern and marker, never colour alone. A click on a point opens the traces of
// that version and bucket: the link is the one in the chart's table (rendered by the server).
(function () {
  "use strict";
  var DASHES = [[], [8, 4], [2, 4], [12, 4, 2, 4]];
  var POINT_SIZES = [6, 7, 8, 7];
  var HEIGHT = 220;
  var charts = [];

  function css(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function percent(u, values) {
    return values.map(function (v) { return v == null ? "" : +(v * 100).toPrecision(3) + "%"; });
  }

  function numbers(u, values) {
    // three significant digits: uPlot's default shows 0.0012 and 0.0008 both as 0.001
    return values.map(function (v) {
      if (v == null) { return ""; }
      return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en-US") : String(+v.toPrecision(3));
    });
  }

  function labelWidth(u, values) {
    // wide enough for the longest tick label (uPlot's fixed 50 px cuts "0.00075")
    var longest = 0;
    (values || []).forEach(function (v) { longest = Math.max(longest, String(v).length); });
    return Math.max(40, longest * 7 + 18);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function times(u, values) {
    // UTC, as in the tables: the date at midnight, else the time
    return values.map(function (ts) {
      var d = new Date(ts);
      if (d.getUTCHours() === 0 && d.getUTCMinutes() === 0) {
        return pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate());
      }
      return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    });
  }

  function axes(theme, xAxis, yValues) {
    var y = { stroke: theme.fg, grid: { stroke: theme.line, width: 1 }, ticks: { stroke: theme.line, width: 1 }, size: labelWidth };
    y.values = yValues || numbers;
    xAxis.stroke = theme.fg;
    xAxis.grid = { stroke: theme.line, width: 1 };
    xAxis.ticks = { stroke: theme.line, width: 1 };
    return [xAxis, y];
  }

  function nearestSeries(u) {
    // the series whose point at the cursor's index is closest to the cursor, vertically
    var i = u.cursor.idx, best = -1, dist = Infinity;
    if (i == null) { return null; }
    for (var s = 1; s < u.series.length; s++) {
      var v = u.data[s][i];
      if (v == null || !u.series[s].show) { continue; }
      var d = Math.abs(u.valToPos(v, "y") - u.cursor.top);
      if (d < dist) { dist = d; best = s; }
    }
    return best < 1 ? null : { series: best - 1, index: i };
  }

  function follow(selector) {
    var link = document.querySelector(selector);
    if (link) { window.location.assign(link.href); }
  }

  function overTime(el, data, key, theme) {
    var series = [{}];
    var rows = [data.buckets];
    data.versions.forEach(function (v, j) {
      var colour = theme.series[j % theme.series.length];
      series.push({
        label: v.label,
        stroke: colour,
        width: 2,
        dash: DASHES[j % DASHES.length],
        spanGaps: false,
        points: { show: true, size: POINT_SIZES[j % POINT_SIZES.length], stroke: colour, fill: theme.bg },
      });
      rows.push(v.values[key]);
    });
    var opts = {
      width: el.clientWidth || 400,
      height: HEIGHT,
      ms: 1,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [Math.min(0, min || 0), max > 0 ? max * 1.1 : 1]; } } },
      series: series,
      axes: axes(theme, { values: times }, key === "error_rate" ? percent : null),
      cursor: { focus: { prox: 30 } },
      focus: { alpha: 0.35 },
      legend: { show: true, live: true },
    };
    var u = new uPlot(opts, rows, el);
    u.over.addEventListener("click", function () {
      var hit = nearestSeries(u);
      if (hit) { follow('a[data-point="' + hit.series + "-" + hit.index + '"]'); }
    });
    return u;
  }

  function metricChart(el, data, theme) {
    var points = data.metric.points;
    var xs = points.map(function (p, i) { return i; });
    var labels = points.map(function (p) { return p.label; });
    var colour = theme.series[0];
    var opts = {
      width: el.clientWidth || 400,
      height: HEIGHT + 40,
      scales: { x: { time: false, range: [-0.5, Math.max(points.length - 0.5, 0.5)] } },
      series: [
        { label: "version", value: function (u, i) { return i == null ? "" : labels[i] || ""; } },
        { label: data.metric.key, stroke: colour, width: 2, points: { show: true, size: 8, stroke: colour, fill: theme.bg } },
      ],
      axes: axes(theme, {
        splits: function () { return xs; },
        values: function (u, splits) { return splits.map(function (i) { return labels[i] || ""; }); },
        rotate: points.length > 4 ? -25 : 0,
        size: points.length > 4 ? 90 : 40,
      }, null),
      cursor: { focus: { prox: 30 } },
      legend: { show: true, live: true },
    };
    var u = new uPlot(opts, [xs, points.map(function (p) { return p.value; })], el);
    u.over.addEventListener("click", function () {
      var hit = nearestSeries(u);
      if (hit) { follow('a[data-metric-point="' + hit.index + '"]'); }
    });
    return u;
  }

  function draw() {
    var island = document.getElementById("dashboard-data");
    var data = island ? JSON.parse(island.textContent) : null;
    charts.forEach(function (c) { c.chart.destroy(); });
    charts = [];
    if (!data || typeof uPlot === "undefined") { return; }
    var theme = {
      fg: css("--fg"), bg: css("--bg"), line: css("--line"),
      series: [css("--series-0"), css("--series-1"), css("--series-2"), css("--series-3")],
    };
    document.querySelectorAll(".chart[data-series]").forEach(function (el) {
      var key = el.getAttribute("data-series");
      var chart = key === "metric"
        ? (data.metric && data.metric.points.length ? metricChart(el, data, theme) : null)
        : (data.versions.length ? overTime(el, data, key, theme) : null);
      if (chart) { charts.push({ el: el, chart: chart }); }
    });
  }

  function redrawSoon() {
    // after genver.js has switched data-theme, so the CSS variables are the new theme's
    window.requestAnimationFrame(draw);
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw();
    var select = document.getElementById("theme-select");
    if (select) { select.addEventListener("change", redrawSoon); }
    if (window.matchMedia) {
      window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redrawSoon);
    }
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (c) { c.chart.setSize({ width: c.el.clientWidth || 400, height: c.chart.height }); });
      }, 100);
    });
  });
})();
