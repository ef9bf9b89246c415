// The report's behaviour: sortable tables, the per-fold metric switch, and
// the charts (forecast totals, forecast explorer, grid sensitivity, training curves) drawn
// with the inlined uPlot from the JSON in #report-data. Data-derived text is
// only ever set through textContent or option labels, never as HTML.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79", "#ad494a"];
  const colour = (i) => palette[i % palette.length];
  const day = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 1000;
  const utc = (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
  const widthOf = (el) => Math.max(320, el.clientWidth || 800);
  // A y axis whose tick labels carry as many decimals as their spacing needs
  // (metrics of close configurations differ in the third or fourth decimal).
  const yAxis = (label) => ({
    label: label,
    size: 64,
    values: (u, splits) => {
      const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
      const decimals = Math.min(8, Math.max(0, -Math.floor(Math.log10(step || 1))));
      return splits.map((v) => v.toFixed(decimals));
    },
  });

  // Sortable tables: click a header with data-sort; cells carry data-v.
  document.querySelectorAll("table.sortable").forEach((table) => {
    table.querySelectorAll("th[data-sort]").forEach((th) => {
      const index = Array.prototype.indexOf.call(th.parentNode.children, th);
      th.addEventListener("click", () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("th[aria-sort]").forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const numeric = th.dataset.sort === "number";
        const key = (row) => {
          const cell = row.children[index];
          const raw = cell.dataset.v !== undefined ? cell.dataset.v : cell.textContent.trim();
          return numeric ? (raw === "" ? null : parseFloat(raw)) : raw.toLowerCase();
        };
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
          const x = key(a), y = key(b);
          if (x === null || y === null) return x === null ? (y === null ? 0 : 1) : -1; // missing last
          const order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach((row) => body.appendChild(row));
      });
    });
  });

  const foldMetric = document.getElementById("fold-metric");
  if (foldMetric) {
    foldMetric.addEventListener("change", () => {
      document.querySelectorAll("table.fold-table").forEach((t) => {
        t.hidden = t.dataset.metric !== foldMetric.value;
      });
    });
  }

  // Mouse wheel zooms the x axis around the cursor; shift-drag pans it.
  function wheelAndPan() {
    return {
      hooks: {
        ready: (u) => {
          const over = u.over;
          over.addEventListener("wheel", (e) => {
            e.preventDefault();
            const { min, max } = u.scales.x;
            const at = u.posToVal(u.cursor.left, "x");
            const factor = e.deltaY < 0 ? 0.8 : 1.25;
            u.setScale("x", { min: at - (at - min) * factor, max: at + (max - at) * factor });
          }, { passive: false });
          over.addEventListener("mousedown", (e) => {
            if (!e.shiftKey) return;
            e.preventDefault();
            e.stopPropagation();
            const start = e.clientX;
            const { min, max } = u.scales.x;
            const perPixel = (max - min) / u.bbox.width * devicePixelRatio;
            const move = (m) => {
              const shift = (start - m.clientX) * perPixel;
              u.setScale("x", { min: min + shift, max: max + shift });
            };
            const up = () => {
              document.removeEventListener("mousemove", move);
              document.removeEventListener("mouseup", up);
            };
            document.addEventListener("mousemove", move);
            document.addEventListener("mouseup", up);
          }, true);
        },
      },
    };
  }

  // Dashed vertical lines at the given x values.
  function verticalLines(xs) {
    return {
      hooks: {
        draw: (u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = "#9aa4ae";
          ctx.setLineDash([4, 4]);
          ctx.lineWidth = devicePixelRatio;
          xs.forEach((x) => {
            const px = Math.round(u.valToPos(x, "x", true));
            if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) return;
            ctx.beginPath();
            ctx.moveTo(px, u.bbox.top);
            ctx.lineTo(px, u.bbox.top + u.bbox.height);
            ctx.stroke();
          });
          ctx.restore();
        },
      },
    };
  }

  function explorer(ex) {
    const chartEl = document.getElementById("explorer-chart");
    const search = document.getElementById("series-search");
    const select = document.getElementById("series-select");
    const foldSelect = document.getElementById("explorer-fold");
    const toggles = document.getElementById("explorer-models");
    const intervals = document.getElementById("explorer-intervals");
    const title = document.getElementById("explorer-title");
    const shown = ex.models.map(() => true);
    const times = ex.dates.map(day);
    const cutoffs = ex.folds.map((f) => day(f[1]));
    let current = 0;
    let plot = null;

    ex.models.forEach((m, i) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = true;
      box.dataset.model = String(i);
      box.addEventListener("change", () => { shown[i] = box.checked; draw(); });
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colour(i);
      label.append(box, swatch, document.createTextNode(" " + m.label + (m.level ? " (" + m.level + "% interval)" : "")));
      toggles.appendChild(label);
    });

    function fillOptions() {
      const query = search.value.trim().toLowerCase();
      select.textContent = "";
      ex.series.forEach((s, i) => {
        const text = (s.level ? "Σ " : "") + s.id + (s.text ? " — " + s.text : "");
        if (query && !text.toLowerCase().includes(query)) return;
        const option = document.createElement("option");
        option.value = String(i);
        option.textContent = text;
        option.selected = i === current;
        select.appendChild(option);
      });
    }

    function draw() {
      const s = ex.series[current];
      // History, then the forecast past the data when there is one.
      const last = s.future ? s.future.s + s.future.y.length : s.start + s.values.length;
      const x = times.slice(s.start, last);
      const columns = [x, s.values.concat(new Array(x.length - s.values.length).fill(null))];
      const series = [{}, { label: "actual", stroke: "#1d232a", width: 1.5 }];
      const bands = [];
      const fold = foldSelect.value;
      const blank = () => new Array(x.length).fill(null);
      // One forecast (starting at index f.s of the dates) with its interval fan.
      const addForecast = (f, line, fan) => {
        const place = (values) => {
          const column = blank();
          values.forEach((v, k) => { column[f.s - s.start + k] = v; });
          return column;
        };
        if (f.lo.length && intervals.checked) {
          columns.push(place(f.hi), place(f.lo));
          const hi = columns.length - 2;
          series.push({ label: line.label + " hi", stroke: "transparent", points: { show: false } },
            { label: line.label + " lo", stroke: "transparent", points: { show: false } });
          bands.push({ series: [hi, hi + 1], fill: fan });
        }
        columns.push(place(f.y));
        series.push(line);
      };
      s.forecasts.forEach((f) => {
        if (!shown[f.m] || (fold !== "all" && String(f.f) !== fold)) return;
        const model = ex.models[f.m];
        addForecast(f, { label: model.label + " fold " + f.f, stroke: colour(f.m), width: 1.5 }, colour(f.m) + "22");
      });
      if (s.future) {
        addForecast(s.future, { label: ex.future.label, stroke: "#1d232a", width: 2, dash: [6, 3] }, "#1d232a22");
      }
      const opts = {
        width: widthOf(chartEl),
        height: 360,
        tzDate: utc,
        series: series,
        bands: bands,
        legend: { show: false },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        axes: [{}, yAxis()],
        plugins: [wheelAndPan(), verticalLines(cutoffs)],
      };
      if (plot) plot.destroy();
      chartEl.textContent = "";
      plot = new uPlot(opts, columns, chartEl);
      // Open on the backtest: the folds and twice their span of history.
      const end = x[x.length - 1];
      const first = cutoffs.length ? Math.min.apply(null, cutoffs) : x[0];
      plot.setScale("x", { min: Math.max(x[0], first - 2 * (end - first)), max: end });
      chartEl.dataset.series = s.id;
      title.textContent = s.id + (s.text ? " — " + s.text : "");
    }

    search.addEventListener("input", fillOptions);
    select.addEventListener("change", () => {
      if (select.value === "") return;
      current = +select.value;
      draw();
    });
    foldSelect.addEventListener("change", draw);
    intervals.addEventListener("change", draw);
    document.getElementById("explorer-reset").addEventListener("click", draw);
    fillOptions();
    draw();
  }

  // A line chart over categorical x values (their positions 0..n-1).
  function categoricalChart(el, labels, lines, yLabel) {
    const x = labels.map((_, i) => i);
    const series = [{}].concat(lines.map((line, i) => ({
      label: line.label || yLabel, stroke: colour(i), width: 1.5, points: { show: true, size: 6 },
    })));
    const opts = {
      width: widthOf(el),
      height: 220,
      series: series,
      legend: { show: lines.length > 1 },
      scales: { x: { time: false, range: [-0.3, labels.length - 0.7] } },
      axes: [
        { splits: () => x, values: (u, splits) => splits.map((i) => labels[i] !== undefined ? labels[i] : "") },
        yAxis(yLabel),
      ],
    };
    return new uPlot(opts, [x].concat(lines.map((l) => l.metric)), el);
  }

  function training(curves) {
    const select = document.getElementById("training-config");
    const el = document.getElementById("training-chart");
    let plot = null;
    function draw() {
      const t = curves[+select.value];
      const epochs = Math.max.apply(null, t.folds.map((f) => f.train.length));
      const x = Array.from({ length: epochs }, (_, i) => i + 1);
      const columns = [x];
      const series = [{ label: "epoch" }];
      t.folds.forEach((f, i) => {
        const pad = (values) => x.map((_, k) => (k < values.length ? values[k] : null));
        columns.push(pad(f.train));
        series.push({ label: "fold " + f.fold + " train", stroke: colour(i), width: 1.5 });
        if (f.validation.some((v) => v !== null)) {
          columns.push(pad(f.validation));
          series.push({
            label: "fold " + f.fold + " validation" + (f.stopped_early ? " (stopped early)" : ""),
            stroke: colour(i), dash: [5, 4], width: 1.5,
            // Only the kept epoch gets a point.
            points: { show: true, size: 8, filter: () => [f.best_epoch - 1] },
          });
        }
      });
      if (plot) plot.destroy();
      plot = new uPlot({
        width: widthOf(el), height: 300, series: series,
        scales: { x: { time: false } },
        axes: [{ label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] }, yAxis("loss")],
      }, columns, el);
    }
    select.addEventListener("change", draw);
    draw();
  }

  // The Forecast section: the total of the last periods, then of the forecast.
  function forecastTotals(t) {
    const el = document.getElementById("forecast-chart");
    if (!el) return;
    new uPlot({
      width: widthOf(el), height: 320, tzDate: utc,
      series: [{}, { label: "history", stroke: "#1d232a", width: 1.5 },
        { label: "forecast", stroke: "#1f77b4", width: 2, dash: [6, 3] }],
      scales: { x: { time: true } },
      axes: [{}, yAxis("total")],
    }, [t.dates.map(day), t.history, t.forecast], el);
  }

  if (data.forecast_totals) forecastTotals(data.forecast_totals);
  if (data.explorer) explorer(data.explorer);
  document.querySelectorAll(".sensitivity-chart").forEach((el) => {
    const s = data.sensitivity[+el.dataset.index];
    categoricalChart(el, s.values, s.lines, s.metric);
  });
  if (data.training.length) training(data.training);
  // For benches/report_open.py: when every chart has been drawn.
  performance.mark("trendlab-charts-drawn");
})();
