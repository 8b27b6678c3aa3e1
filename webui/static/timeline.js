// The dispatcher's timeline: one row per route on the day's time axis, with travel, visits,
// waiting and breaks as bars and each visit's appointment windows drawn lighter behind it.
// Plain DOM positioned in percent (no library); drawn from the plan JSON the page loaded.
"use strict";

const DoorstepTimeline = (() => {
  const { t, clock, el } = Doorstep;

  /** Seconds since midnight of the plan's day, on the region's wall clock (as the plan says). */
  function wall(iso, day) {
    const [h, m, s] = iso.slice(11, 19).split(":").map(Number);
    const days = Math.round((Date.parse(iso.slice(0, 10)) - Date.parse(day)) / 86400000);
    return days * 86400 + h * 3600 + m * 60 + (s || 0);
  }

  function extent(plan) {
    let low = Infinity;
    let high = -Infinity;
    const see = (iso) => {
      if (!iso) return;
      const at = wall(iso, plan.day);
      low = Math.min(low, at);
      high = Math.max(high, at);
    };
    for (const route of plan.routes) {
      if (!route.stops.length) continue;
      see(route.departure);
      see(route.arrival);
      for (const stop of route.stops) for (const w of stop.windows || []) { see(w.start); see(w.end); }
    }
    if (low === Infinity) return null;
    return [Math.floor(low / 3600) * 3600, Math.max(Math.ceil(high / 3600) * 3600, low + 3600)];
  }

  /** Draw the plan's routes into `rows`; hovering, focusing or clicking a visit shows
   *  `popup(route, stop)` (the map's stop popup) in `detail`. Sheet links come from `sheetUrl`. */
  function draw(rows, detail, plan, popup, sheetUrl) {
    detail.replaceChildren();
    const span = extent(plan);
    if (!span) {
      rows.replaceChildren();
      rows.dataset.rows = "0";
      return;
    }
    const [t0, t1] = span;
    const pos = (seconds) => `${(100 * (seconds - t0)) / (t1 - t0)}%`;
    const width = (a, b) => `${(100 * Math.max(b - a, 0)) / (t1 - t0)}%`;
    const bar = (cls, a, b, extra) => el("div", Object.assign({
      class: cls, style: `left:${pos(a)};width:${width(a, b)}${extra || ""}`,
    }));
    const at = (iso) => wall(iso, plan.day);

    const ticks = [];
    for (let s = t0; s <= t1; s += 3600) {
      ticks.push(el("span", { class: "tl-tick", style: `left:${pos(s)}`,
        text: `${String(Math.floor(s / 3600) % 24).padStart(2, "0")}:00` }));
    }
    const axis = el("div", { class: "tl-row tl-axis" }, el("div", { class: "tl-label" }),
      el("div", { class: "tl-track" }, ...ticks));

    const lines = plan.routes.map((route) => {
      const colour = route.colour || "#1f77b4";
      const track = el("div", { class: "tl-track" });
      const windows = [];
      const bars = [];
      let legs = 0;
      for (const stop of route.stops) {
        for (const w of stop.windows || []) {
          windows.push(bar("tl-window", at(w.start), at(w.end), `;background:${colour}`));
        }
        const arrival = at(stop.arrival);
        legs += stop.travel_time_s || 0;
        if (stop.travel_time_s) bars.push(bar("tl-bar tl-travel", arrival - stop.travel_time_s, arrival));
        if (at(stop.start) > arrival) bars.push(bar("tl-bar tl-wait", arrival, at(stop.start)));
        const visit = bar("tl-bar tl-visit", at(stop.start), at(stop.end), `;background:${colour}`);
        const range = (stop.windows || []).map((w) => `${clock(w.start)}–${clock(w.end)}`).join(", ");
        visit.title = `${stop.sequence}. ${stop.visit_id} · ${t("window")} ${range || "—"} · `
          + `${t("eta")} ${clock(stop.arrival)}`;
        visit.tabIndex = 0;
        visit.setAttribute("role", "button");
        visit.dataset.visit = stop.visit_id;
        const show = () => detail.replaceChildren(popup(route, stop));
        visit.addEventListener("mouseenter", show);
        visit.addEventListener("focus", show);
        visit.addEventListener("click", show);
        bars.push(visit);
      }
      const back = (route.travel_time_s || 0) - legs;
      if (route.stops.length && back > 0) {
        bars.push(bar("tl-bar tl-travel", at(route.arrival) - back, at(route.arrival)));
      }
      for (const pause of route.breaks || []) {
        const b = bar("tl-bar tl-break", at(pause.start), at(pause.end));
        b.title = `${t("break")} ${clock(pause.start)}–${clock(pause.end)}`;
        bars.push(b);
      }
      track.append(...windows, ...bars);
      const label = el("div", { class: "tl-label", title: (route.agent_names || []).join(", ") },
        el("span", { class: "swatch", style: `background:${colour}` }), ` ${route.team_id}`,
        sheetUrl ? el("a", { href: sheetUrl(route), text: t("sheet") }) : null);
      return el("div", { class: "tl-row tl-route", "data-team": route.team_id }, label, track);
    });
    rows.replaceChildren(axis, ...lines);
    rows.dataset.rows = String(lines.length);
  }

  return { draw };
})();
