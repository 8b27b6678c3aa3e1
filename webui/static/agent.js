// The agent's route on a phone: stops in order with window and ETA, a map, a navigation
// link, and an outcome form. Outcomes are queued in localStorage first and sent from there,
// each with the UUID made when the agent pressed "save": a flaky connection delays them,
// a retry never doubles them (the server stores one event per UUID).
"use strict";

(() => {
  const { t, api, clock, el } = Doorstep;
  const $ = (id) => document.getElementById(id);
  const CHECKIN_WARNING_M = 150;
  const ROUTE_REFRESH_MS = 120000; // a re-plan published during the day reaches the phone
  // clockOffset: server time minus phone time, so an outcome saved offline carries the
  // server's notion of when it happened even on a phone whose clock is wrong.
  const state = {
    me: null, queueKey: null, sending: false, checkins: {}, clockOffset: 0,
    map: null, layers: null, planId: null,
  };

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Plain HTTP on a local network has no randomUUID: build a version-4 UUID by hand.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function queue() {
    try {
      return JSON.parse(localStorage.getItem(state.queueKey) || "[]");
    } catch (error) {
      return [];
    }
  }

  function saveQueue(items) {
    localStorage.setItem(state.queueKey, JSON.stringify(items));
    const pending = $("pending");
    pending.hidden = items.length === 0;
    pending.textContent = items.length ? t("pending", { n: items.length }) : "";
    pending.dataset.count = String(items.length);
  }

  function metres(lat1, lon1, lat2, lon2) {
    const rad = Math.PI / 180;
    const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2
      + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
    return Math.round(2 * 6371008.8 * Math.asin(Math.sqrt(Math.min(1, a))));
  }

  function navLink(stop) {
    return state.me.nav_link_template
      .split("{lat}").join(String(stop.lat))
      .split("{lon}").join(String(stop.lon))
      .split("{address}").join(encodeURIComponent(stop.address || ""));
  }

  function markRecorded(visitId, outcome) {
    const item = document.querySelector(`li[data-visit="${CSS.escape(visitId)}"]`);
    if (!item) return;
    item.classList.add("done");
    item.querySelector(".recorded").textContent = t("recorded", { outcome: t(`outcome_${outcome}`) });
  }

  /** Send queued outcomes, oldest first; stop at the first network failure. */
  async function flush() {
    if (state.sending || !navigator.onLine) return;
    state.sending = true;
    try {
      let items = queue();
      while (items.length) {
        const item = items[0];
        try {
          await api("/me/outcomes", { method: "POST", body: item });
          markRecorded(item.visit_id, item.outcome);
        } catch (error) {
          if (!(error instanceof Doorstep.ApiError) || error.status >= 500 || error.status === 429) {
            break; // offline or the server is down: keep it for later
          }
          if (error.status === 401) {
            $("message").textContent = t("sign_in_again");
            break;
          }
          // Refused for good (not on the route, invalid): tell the agent, do not resend.
          $("message").textContent = t("send_failed", { msg: error.message });
        }
        items = queue().filter((other) => other.id !== item.id);
        saveQueue(items);
      }
      if (!items.length) saveQueue([]);
    } finally {
      state.sending = false;
    }
  }

  function openForm(item, stop) {
    for (const other of document.querySelectorAll(".outcome-form")) other.remove();
    const form = $("outcome-form-template").content.firstElementChild.cloneNode(true);
    const promise = form.querySelector(".promise");
    const select = form.elements.outcome;
    const syncPromise = () => {
      const needed = select.value === "promise_to_pay";
      promise.hidden = !needed;
      form.elements.promise_amount.required = needed;
      form.elements.promise_date.required = needed;
    };
    select.addEventListener("change", syncPromise);
    syncPromise();
    const result = form.querySelector(".checkin-result");
    form.querySelector(".check-in").addEventListener("click", () => {
      if (!navigator.geolocation) {
        result.textContent = t("no_position");
        return;
      }
      navigator.geolocation.getCurrentPosition((position) => {
        const { latitude, longitude } = position.coords;
        const distance = metres(latitude, longitude, stop.lat, stop.lon);
        state.checkins[stop.visit_id] = { lat: latitude, lon: longitude };
        result.textContent = distance > CHECKIN_WARNING_M
          ? t("far_checkin", { m: distance }) : t("checked_in", { m: distance });
        result.classList.toggle("warning", distance > CHECKIN_WARNING_M);
      }, () => { result.textContent = t("no_position"); }, { enableHighAccuracy: true, timeout: 15000 });
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const outcome = {
        id: uuid(),
        visit_id: stop.visit_id,
        outcome: select.value,
        note: form.elements.note.value,
        at: new Date(Date.now() + state.clockOffset).toISOString(),
      };
      if (select.value === "promise_to_pay") {
        outcome.promise_amount = Number(form.elements.promise_amount.value);
        outcome.promise_date = form.elements.promise_date.value;
      }
      const checkin = state.checkins[stop.visit_id];
      if (checkin) Object.assign(outcome, checkin);
      saveQueue([...queue(), outcome]);
      form.remove();
      markRecorded(stop.visit_id, outcome.outcome);
      $("message").textContent = navigator.onLine ? t("saved") : t("queued");
      flush();
    });
    item.append(form);
  }

  function render(document_) {
    const route = document_.route;
    $("route-title").textContent = `${t("my_route")} · ${document_.day}`;
    if (!route) {
      $("message").textContent = t("no_route");
      $("map").hidden = true;
      $("stops").replaceChildren();
      state.planId = document_.plan_id;
      return;
    }
    $("map").hidden = false;
    $("message").textContent = `${t("departure")} ${clock(route.departure)} · ${route.start_label || ""}`;
    if (document_.offline_copy_at) {
      const at = new Date(document_.offline_copy_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      $("message").textContent += ` · ${t("offline_copy", { time: at })}`;
      $("message").dataset.offline = "1";
    }
    if (!state.map) state.map = DoorstepMaps.create("map", document_.region, state.me.map);
    const map = state.map;
    if (state.layers) state.layers.remove();
    const layers = L.featureGroup().addTo(map);
    state.layers = layers;
    state.planId = document_.plan_id;
    if (route.geometry) {
      L.geoJSON(route.geometry, { style: { color: DoorstepMaps.colour(0), weight: 4 } }).addTo(layers);
    }
    const items = route.stops.map((stop) => {
      L.marker([stop.lat, stop.lon], {
        icon: DoorstepMaps.numberIcon(stop.sequence, DoorstepMaps.colour(0)), title: stop.visit_id,
      }).addTo(layers);
      const windows = (stop.windows || []).map((w) => `${clock(w.start)}–${clock(w.end)}`).join(", ");
      const button = el("button", { type: "button", class: "record", text: t("outcome") });
      const item = el("li", { "data-visit": stop.visit_id },
        el("div", { class: "head" },
          el("span", { class: "seq", text: String(stop.sequence) }),
          el("strong", { text: `${t("eta")} ${clock(stop.arrival)}` }),
          el("span", { text: ` ${clock(stop.start)}–${clock(stop.end)}` })),
        el("div", { text: stop.address || stop.visit_id }),
        el("div", { class: "muted", text: `${t("window")}: ${windows || "—"} · ${t(stop.kind)} · ${stop.visit_id}` }),
        el("div", { class: "actions" },
          el("a", { href: navLink(stop), class: "nav", target: "_blank", rel: "noopener noreferrer", text: t("navigate") }),
          button),
        el("p", { class: "recorded", role: "status" }));
      button.addEventListener("click", () => openForm(item, stop));
      return item;
    });
    $("stops").replaceChildren(...items);
    for (const stop of route.stops) {
      if (stop.outcome) markRecorded(stop.visit_id, stop.outcome.outcome);
    }
    for (const queued of queue()) markRecorded(queued.visit_id, queued.outcome);
    const bounds = layers.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16] });
    $("map").dataset.ready = "1";
  }

  /** Fetch the route again; when the dispatcher has published a new plan since, show it
   *  and say so (a re-plan during the day changes the agent's stops and times). */
  async function refresh() {
    if (!navigator.onLine || document.hidden) return;
    try {
      const { body } = await api("/me/route");
      if (body.offline_copy_at || body.plan_id === state.planId) return;
      render(body);
      const now = new Date(Date.now() + state.clockOffset);
      $("message").textContent = t("route_updated", {
        time: now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }),
      });
      $("message").dataset.updated = "1";
      flush();
    } catch (error) {
      // No connection, or signed out: the route shown stays; outcomes keep their queue.
    }
  }

  async function start() {
    state.me = (await api("/me")).body;
    state.queueKey = `doorstep.outcomes.${state.me.name}`;
    saveQueue(queue());
    const { body } = await api("/me/route");
    state.clockOffset = Date.parse(body.now) - Date.now();
    render(body);
    window.addEventListener("online", flush);
    window.addEventListener("online", refresh);
    window.addEventListener("focus", refresh);
    document.addEventListener("visibilitychange", refresh);
    setInterval(flush, 30000);
    setInterval(refresh, ROUTE_REFRESH_MS);
    flush();
  }

  // The page, its scripts and today's route kept on the phone: it reloads with no connection.
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/agent/sw.js", { scope: "/agent" }).catch(() => {});
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((error) => {
      // Offline at start: the page itself may come from the browser's cache; keep the queue.
      $("message").textContent = error.message;
    });
  });
})();
