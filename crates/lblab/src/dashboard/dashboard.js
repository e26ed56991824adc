"use strict";
// With scripts on, the page polls /state.json every second instead of reloading, and the forms post
// in the background; without them, the page is the same table refreshed by its <meta> tag.
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
  setInterval(poll, 1000);
  poll();
})();
