"use strict";
// With scripts on, the page polls /state.json twice a second instead of reloading, draws the rolling
// charts, and the forms post in the background; without them, the page is the same table refreshed
// by its <meta> tag, without the charts.
(() => {
  const $ = (id) => document.getElementById(id);
  const shown = (v) => (v === null || v === undefined ? "\u2013" : String(v));
  let localError = "";

  function bar(pct) {
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = pct.toFixed(1) + "%";
    track.append(fill);
    const label = document.createElement("span");
    label.className = "pct";
    label.textContent = pct.toFixed(1) + "%";
    return [track, label];
  }

  function cell(text, cls, id) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    if (id) td.id = id;
    td.textContent = text;
    return td;
  }

  // The rolling charts: each backend's answers per second and requests in flight over the last
  // minute, one line per backend, every switch and burst a vertical mark. Drawn as inline SVG from
  // /state.json's series; each line carries its values (data-t, data-values) so that what is drawn
  // can be read back.
  const SVG = "http://www.w3.org/2000/svg";
  const W = 900, H = 170, LEFT = 46, RIGHT = 12, TOP = 10, BOTTOM = 24;

  function el(name, attrs, text) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  const PALETTE = ["#2f6fde", "#e8871e", "#2e9e5b", "#8e44ad", "#17a2b8", "#b8860b", "#d6336c", "#495057"];
  function colour(id) {
    return id <= PALETTE.length
      ? PALETTE[id - 1]
      : `hsl(${((id - 1) * 137.5) % 360}, 60%, 42%)`;
  }

  // The smallest of 1, 2, 5 × 10^k at least v.
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function drawChart(svg, series, key, unit) {
    const points = series.points;
    const to = points.length ? points[points.length - 1].t_ms : 0;
    // A dashboard younger than the window fills the chart with what it has.
    const from = Math.max(to - series.window_ms, points.length ? points[0].t_ms : 0);
    const span = Math.max(to - from, 1000);
    let max = 0;
    for (const p of points) for (const v of p[key]) if (v !== null && v > max) max = v;
    const yMax = niceMax(max);
    const x = (t) => LEFT + ((t - from) / span) * (W - LEFT - RIGHT);
    const y = (v) => TOP + (H - TOP - BOTTOM) - (v / yMax) * (H - TOP - BOTTOM);
    const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    for (const [k, v] of Object.entries({
      "data-y-max": yMax, "data-t-from": from, "data-t-to": to,
      "data-plot-left": LEFT, "data-plot-right": W - RIGHT,
      "data-plot-top": TOP, "data-plot-bottom": H - BOTTOM,
    })) svg.setAttribute(k, String(v));
    const kids = [
      el("line", { class: "axis", x1: LEFT, y1: TOP, x2: LEFT, y2: H - BOTTOM }),
      el("line", { class: "axis", x1: LEFT, y1: H - BOTTOM, x2: W - RIGHT, y2: H - BOTTOM }),
      el("line", { class: "grid", x1: LEFT, y1: TOP, x2: W - RIGHT, y2: TOP }),
      el("text", { class: "tick", x: LEFT - 6, y: TOP + 4, "text-anchor": "end" }, fmt(yMax)),
      el("text", { class: "tick", x: LEFT - 6, y: H - BOTTOM + 4, "text-anchor": "end" }, "0"),
      el("text", { class: "tick", x: LEFT, y: H - 6 }, `\u2212${Math.round(span / 1000)} s`),
      el("text", { class: "tick", x: W - RIGHT, y: H - 6, "text-anchor": "end" }, "now"),
      el("text", { class: "unit", x: LEFT + 6, y: TOP + 12 }, unit),
    ];
    for (const [i, m] of series.marks.filter((m) => m.t_ms >= from).entries()) {
      const mx = x(m.t_ms).toFixed(1);
      kids.push(
        el("line", {
          class: "mark " + m.kind, x1: mx, x2: mx, y1: TOP, y2: H - BOTTOM,
          "data-t": m.t_ms, "data-label": m.label,
        }),
        // Labels step down, so that marks close together stay readable.
        el("text", {
          class: "mark-label " + m.kind,
          // Near the right edge a label goes to the left of its line.
          x: Number(mx) > W - 140 ? Number(mx) - 3 : Number(mx) + 3,
          "text-anchor": Number(mx) > W - 140 ? "end" : "start",
          y: TOP + 24 + (i % 4) * 13,
        }, m.label)
      );
    }
    const n = points.length ? points[0][key].length : 0;
    for (let i = 0; i < n; i++) {
      const id = i + 1;
      const coords = [];
      for (const p of points) {
        const v = p[key][i];
        if (v !== null) coords.push(`${x(p.t_ms).toFixed(1)},${y(v).toFixed(2)}`);
      }
      kids.push(
        el("polyline", {
          class: "series b" + id, fill: "none", stroke: colour(id), "stroke-width": 1.6,
          "data-backend": id,
          "data-t": points.map((p) => p.t_ms).join(","),
          "data-values": points.map((p) => (p[key][i] === null ? "" : p[key][i])).join(","),
          points: coords.join(" "),
        })
      );
    }
    svg.replaceChildren(...kids);
  }

  function drawLegend(backends) {
    const legend = $("chart-legend");
    if (!legend || legend.childElementCount === backends.length) return;
    legend.replaceChildren(
      ...backends.map((b) => {
        const s = document.createElement("span");
        const swatch = document.createElement("span");
        swatch.className = "swatch";
        swatch.style.background = colour(b.id);
        s.append(swatch, "Server " + b.id);
        return s;
      })
    );
  }

  function update(s) {
    $("current-method").textContent = s.method;
    for (const b of document.querySelectorAll(".methods button")) {
      const on = b.value === s.method_name;
      b.classList.toggle("current", on);
      b.setAttribute("aria-pressed", String(on));
    }
    for (const b of s.backends) {
      const pct = s.total_served ? (100 * (b.served || 0)) / s.total_served : 0;
      $(`backend-${b.id}-pid`).textContent = shown(b.pid);
      $(`backend-${b.id}-rps`).textContent = b.rps.toFixed(1);
      $(`backend-${b.id}-served`).textContent = shown(b.served);
      $(`backend-${b.id}-bar`).style.width = pct.toFixed(1) + "%";
      $(`backend-${b.id}-share`).textContent = pct.toFixed(1) + "%";
    }
    $("total-served").textContent = s.total_served;
    $("recent").replaceChildren(
      ...s.recent.map((a) => {
        const li = document.createElement("li");
        li.className = "b" + a.backend;
        li.textContent = a.text;
        if (a.times > 1) {
          const t = document.createElement("span");
          t.className = "times";
          t.textContent = " \u00d7" + a.times;
          li.append(t);
        }
        return li;
      })
    );
    const burst = $("burst");
    if (s.burst) {
      const b = s.burst;
      const p = document.createElement("p");
      p.textContent = `last burst: ${b.requests} requests, ${b.ok} ok, ${b.errors} errors, ${b.elapsed_s.toFixed(2)} s`;
      const table = document.createElement("table");
      table.className = "dist";
      for (const [k, n] of Object.entries(b.counts)) {
        const tr = document.createElement("tr");
        const share = document.createElement("td");
        share.className = "share";
        share.append(...bar(b.ok ? (100 * n) / b.ok : 0));
        tr.append(cell("Server " + k), cell(String(n), "num", "burst-" + k), share);
        table.append(tr);
      }
      burst.replaceChildren(p, table);
    }
    $("message").textContent = localError || s.message || "";
    if (s.series) {
      drawChart($("chart-rps"), s.series, "answers_per_s", "answers per second");
      drawChart($("chart-in-flight"), s.series, "in_flight", "requests in flight");
      drawLegend(s.backends);
    }
  }

  async function poll() {
    try {
      const r = await fetch("/state.json", { cache: "no-store" });
      if (r.ok) update(await r.json());
    } catch (_) {
      // The lab stopped or is restarting; the next poll tries again.
    }
  }

  for (const form of document.querySelectorAll("form[data-action]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = new URLSearchParams(new FormData(form, ev.submitter));
      const buttons = form.querySelectorAll("button");
      for (const b of buttons) b.disabled = true;
      try {
        const r = await fetch(form.action, {
          method: "POST",
          body,
          headers: { Accept: "application/json" },
        });
        const text = await r.text();
        if (r.ok) {
          localError = "";
          update(JSON.parse(text));
        } else {
          localError = text.trim();
          $("message").textContent = localError;
        }
      } catch (e) {
        localError = "the dashboard did not answer: " + e;
        $("message").textContent = localError;
      } finally {
        for (const b of buttons) b.disabled = false;
      }
    });
  }
  // Twice a second, so that the chart moves at least once a second whatever the timers' drift.
  setInterval(poll, 500);
  poll();
})();
