// The dispatcher's map: every route of a region-day in its own colour along the roads,
// numbered stops, starts and ends, unassigned visits with their reasons, and the summary.
"use strict";

(() => {
  const { t, api, clock, hm, el } = Doorstep;
  const $ = (id) => document.getElementById(id);
  const state = { me: null, map: null, mapRegion: null, layers: null, plan: null };
  const params = new URLSearchParams(window.location.search);

  function message(text, isError) {
    const node = $("message");
    node.textContent = text || "";
    node.hidden = !text;
    node.classList.toggle("error", Boolean(isError));
  }

  function remember() {
    const query = new URLSearchParams({
      region: $("region").value, day: $("day").value, status: $("status").value,
    });
    window.history.replaceState(null, "", `?${query}`);
  }

  function planPath(suffix) {
    const region = encodeURIComponent($("region").value);
    return `/regions/${region}/days/${$("day").value}/${suffix}?status=${$("status").value}`;
  }

  function setExports(enabled) {
    for (const [id, suffix] of [["export-json", "plan"], ["export-geojson", "plan.geojson"],
      ["export-csv", "plan.csv"]]) {
      const link = $(id);
      if (enabled) link.href = `/api/v1${planPath(suffix)}`;
      else link.removeAttribute("href");
    }
  }

  /** The printable route sheet of a team, for the chosen region, day and plan. */
  function sheetUrl(route) {
    const region = encodeURIComponent($("region").value);
    const team = encodeURIComponent(route.team_id);
    return `/dispatch/${region}/${$("day").value}/sheet/${team}?status=${$("status").value}`;
  }

  function timeline(plan) {
    DoorstepTimeline.draw($("timeline-rows"), $("timeline-detail"), plan, stopPopup, sheetUrl);
    $("timeline").hidden = false;
  }

  function slackMinutes(stop) {
    const start = Date.parse(stop.start);
    for (const w of stop.windows || []) {
      if (Date.parse(w.start) <= start && start <= Date.parse(w.end)) {
        return Math.round((Date.parse(w.end) - start) / 60000);
      }
    }
    return null;
  }

  /** Move a visit to a team and position: check it (new ETAs or the rules it breaks), then
   * save it as the current plan. Only on the current plan. */
  function moveControl(visitId, teamId, position) {
    if (!state.plan || $("status").value !== "current" || !state.plan.routes.length) return null;
    const team = el("select", { class: "move-team" },
      ...state.plan.routes.map((r) => el("option", { value: r.team_id, text: r.team_id })));
    team.value = teamId || state.plan.routes[0].team_id;
    const place = el("input", {
      type: "number", min: "1", step: "1", value: String(position || 1), class: "move-position",
    });
    const check = el("button", { type: "button", class: "move-check", text: t("move_check") });
    const save = el("button", { type: "button", class: "move-save", text: t("move_save") });
    save.disabled = true;
    const out = el("div", { class: "move-result" });
    async function send(saving) {
      save.disabled = true;
      out.textContent = t("loading");
      const body = {
        visit_id: visitId, team_id: team.value, position: Number(place.value), save: saving,
      };
      try {
        const { body: moved } = await api(planPath("moves").split("?")[0], { method: "POST", body });
        if (saving) {
          await loadPlan();
          message(t("move_saved"));
          return;
        }
        out.replaceChildren(...moved.routes.map((r) => el("div", {
          class: "move-route",
          text: `${r.team_id}: ${r.stops.map((s) => `${s.sequence}. ${s.visit_id} ${clock(s.start)}`)
            .join(", ") || "—"} · ${t("back_at")} ${clock(r.arrival)}`,
        })));
        save.disabled = false;
      } catch (error) {
        const violations = (error.body && error.body.violations) || [];
        out.replaceChildren(
          el("div", { class: "error", text: violations.length ? t("move_refused") : error.message }),
          ...violations.map((v) => el("div", { class: "violation", text: v.message })));
      }
    }
    for (const input of [team, place]) input.addEventListener("change", () => { save.disabled = true; });
    check.addEventListener("click", () => send(false));
    save.addEventListener("click", () => send(true));
    return el("div", { class: "move" },
      el("strong", { text: t("move") }),
      el("label", {}, ` ${t("move_team")} `, team),
      el("label", {}, ` ${t("move_position")} `, place),
      el("div", {}, check, " ", save),
      out);
  }

  function stopPopup(route, stop) {
    const windows = (stop.windows || []).map((w) => `${clock(w.start)}–${clock(w.end)}`);
    const slack = slackMinutes(stop);
    return el("div", { class: "popup" },
      el("strong", { text: `${route.team_id} · ${t("stop")} ${stop.sequence}` }),
      el("div", { text: `${stop.visit_id} · ${t(stop.kind) || stop.kind}` }),
      el("div", { text: stop.address || "" }),
      el("div", { text: `${t("window")}: ${windows.join(", ") || "—"}` }),
      el("div", { text: `${t("eta")}: ${clock(stop.arrival)} · ${clock(stop.start)}–${clock(stop.end)}` }),
      slack !== null ? el("div", { text: `${t("slack")}: ${slack} ${t("minutes")}` }) : null,
      moveControl(stop.visit_id, route.team_id, stop.sequence));
  }

  function draw(plan) {
    const map = state.map;
    if (state.layers) state.layers.remove();
    const layers = L.featureGroup().addTo(map);
    state.layers = layers;
    let stops = 0;
    plan.routes.forEach((route, index) => {
      const colour = DoorstepMaps.colour(index);
      route.colour = colour;
      if (route.geometry) {
        L.geoJSON(route.geometry, { style: { color: colour, weight: 4, opacity: 0.85 } })
          .bindTooltip(`${route.team_id} (${(route.agent_names || []).join(", ")})`)
          .addTo(layers);
      }
      const name = el("strong", { text: `${route.team_id}: ${(route.agent_names || []).join(", ")}` });
      if (route.start) {
        L.marker([route.start.lat, route.start.lon], {
          icon: DoorstepMaps.labelIcon("S", colour, "start"), title: `${route.team_id} ${t("start")}`,
          zIndexOffset: -1000, // under the stops: many teams start at one office
        }).bindPopup(el("div", {}, name.cloneNode(true), el("div", {
          text: `${t("start")}: ${route.start_label || ""} · ${t("departure")} ${clock(route.departure)}`,
        }))).addTo(layers);
      }
      const end = route.end;
      if (end && route.start && (end.lat !== route.start.lat || end.lon !== route.start.lon)) {
        L.marker([end.lat, end.lon], {
          icon: DoorstepMaps.labelIcon("E", colour, "end"), title: `${route.team_id} ${t("end")}`,
          zIndexOffset: -1000,
        }).bindPopup(el("div", {}, name.cloneNode(true), el("div", {
          text: `${t("back_at")} ${clock(route.arrival)}`,
        }))).addTo(layers);
      }
      for (const stop of route.stops) {
        stops += 1;
        L.marker([stop.lat, stop.lon], {
          icon: DoorstepMaps.numberIcon(stop.sequence, colour),
          title: `${route.team_id} ${stop.sequence} ${stop.visit_id}`,
        }).bindPopup(stopPopup(route, stop)).addTo(layers);
      }
    });
    let unassigned = 0;
    for (const item of plan.unassigned) {
      if (item.lat === null || item.lat === undefined) continue;
      unassigned += 1;
      L.marker([item.lat, item.lon], {
        icon: DoorstepMaps.labelIcon("×", "#444", "unassigned"),
        title: `${item.visit_id} ${item.reason_code}`,
      }).bindPopup(el("div", { class: "popup" },
        el("strong", { text: `${item.visit_id} · ${t("unassigned")}` }),
        el("div", { text: item.address || "" }),
        el("div", { text: `${t("reason")}: ${item.reason_code}` }),
        el("div", { text: item.reason }),
        moveControl(item.visit_id, null, 1))).addTo(layers);
    }
    const bounds = layers.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20] });
    const node = $("map");
    node.dataset.routes = String(plan.routes.filter((r) => r.geometry).length);
    node.dataset.stops = String(stops);
    node.dataset.unassigned = String(unassigned);
    node.dataset.ready = "1";
  }

  function summarise(plan) {
    const s = plan.summary || {};
    $("fig-routed").textContent = `${s.visits_routed} / ${s.visits}`;
    $("fig-kept").textContent = `${s.appointments_kept} / ${s.appointments}`;
    $("fig-travel").textContent = `${hm(s.travel_time_s || 0)}, ${((s.travel_distance_m || 0) / 1000).toFixed(1)} km`;
    $("fig-unassigned").textContent = String(s.unassigned);
    const reasons = $("reasons");
    reasons.replaceChildren(...Object.entries(s.unassigned_by_reason || {}).map(
      ([code, n]) => el("li", { text: `${code}: ${n}` })));
    const rows = plan.routes.map((route) => {
      const working = route.stops.length ? Date.parse(route.arrival) - Date.parse(route.departure) : 0;
      const use = working > 0 ? Math.round((100 * route.service_time_s * 1000) / working) : 0;
      return el("tr", {},
        el("td", {}, el("span", { class: "swatch", style: `background:${route.colour}` })),
        el("td", { text: `${route.team_id} ${(route.agent_names || []).join(", ")}` }),
        el("td", { text: String(route.stops.length) }),
        el("td", { text: `${hm(route.travel_time_s)} · ${(route.travel_distance_m / 1000).toFixed(1)} km` }),
        el("td", { text: hm(working / 1000) }),
        el("td", { text: `${use}%` }),
        el("td", {}, el("a", { href: sheetUrl(route), class: "sheet-link", text: t("sheet") })));
    });
    $("teams").replaceChildren(...rows);
    $("unassigned").replaceChildren(...plan.unassigned.map((item) =>
      el("li", {}, el("strong", { text: `${item.visit_id} ` }), el("code", { text: item.reason_code }),
        el("div", { text: item.reason }))));
    $("summary").hidden = false;
  }

  async function loadPlan() {
    remember();
    const region = $("region").value;
    if (!region || !$("day").value) return;
    if (state.mapRegion !== region) {
      if (state.map) state.map.remove();
      state.map = DoorstepMaps.create("map", region, state.me.map);
      state.map.setView([0, 0], 2);
      state.mapRegion = region;
      state.layers = null;
    }
    message(t("loading"));
    $("map").dataset.ready = "0";
    try {
      const { body: plan } = await api(planPath("plan"));
      state.plan = plan;
      message("");
      draw(plan);
      timeline(plan);
      summarise(plan);
      DoorstepPlanning.suggest(plan);
      setExports(true);
      $("publish").disabled = $("status").value !== "current";
    } catch (error) {
      state.plan = null;
      if (state.layers) state.layers.remove();
      $("summary").hidden = true;
      $("timeline").hidden = true;
      setExports(false);
      $("publish").disabled = true;
      message(error.status === 404 ? `${t("no_plan")} (${error.message})` : error.message, true);
      $("map").dataset.ready = "1";
    }
  }

  /** Today in the browser's calendar, YYYY-MM-DD: where a region without plans starts. */
  function today() {
    const now = new Date();
    return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }

  async function chooseDay() {
    DoorstepPlanning.refresh();
    await loadPlan();
  }

  async function chooseRegion() {
    const region = $("region").value;
    const { body } = await api(`/regions/${encodeURIComponent(region)}/plans`);
    if (!$("day").value) $("day").value = body.plans.length ? body.plans[0].day : today();
    await chooseDay();
  }

  async function publish() {
    if (!window.confirm(t("confirm_publish"))) return;
    try {
      await api(planPath("publish").split("?")[0], { method: "POST" });
      $("status").value = "published";
      await loadPlan();
      message(t("published_ok"));
    } catch (error) {
      message(error.message, true);
    }
  }

  async function start() {
    state.me = (await api("/me")).body;
    const { body } = await api("/regions");
    if (!body.regions.length) {
      message(t("no_regions"), true);
      return;
    }
    const select = $("region");
    select.replaceChildren(...body.regions.map((r) =>
      el("option", { value: r.id, text: r.name ? `${r.name} (${r.id})` : r.id })));
    if (params.get("region")) select.value = params.get("region");
    if (!select.value) select.value = body.regions[0].id;
    if (params.get("day")) $("day").value = params.get("day");
    if (params.get("status")) $("status").value = params.get("status");
    select.addEventListener("change", () => { $("day").value = ""; chooseRegion(); });
    $("day").addEventListener("change", chooseDay);
    DoorstepPlanning.init({
      region: () => $("region").value,
      day: () => $("day").value,
      defaultTimeLimit: state.me.default_time_limit,
      planned: async () => { $("status").value = "current"; await loadPlan(); },
      imported: loadPlan,
    });
    DoorstepSlots.init({ region: () => $("region").value, day: () => $("day").value, map: () => state.map });
    $("status").addEventListener("change", loadPlan);
    $("publish").addEventListener("click", publish);
    await chooseRegion();
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((error) => message(error.message, true));
  });
})();
