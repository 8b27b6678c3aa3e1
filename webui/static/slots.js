// Offering times for a new appointment: the windows a team can keep, cheapest in travel
// first, each with a Book button; days without one say why. The address can be picked on
// the map.
"use strict";

const DoorstepSlots = (() => {
  const { t, api, hm, el } = Doorstep;
  const $ = (id) => document.getElementById(id);
  let context = null; // { region(), map() }
  let marker = null;

  function request() {
    const body = {
      lat: Number($("slot-lat").value),
      lon: Number($("slot-lon").value),
      duration_min: Number($("slot-duration").value),
      crew_size: Number($("slot-crew").value),
      days: Number($("slot-days").value),
      window_min: Number($("slot-window").value),
      skills: $("slot-skills").value.split(",").map((s) => s.trim()).filter(Boolean),
      address: $("slot-address").value,
    };
    if ($("slot-borrower").value.trim()) body.borrower_id = $("slot-borrower").value.trim();
    if (context.day()) body.from = context.day();
    return body;
  }

  function regionPath(suffix) {
    return `/regions/${encodeURIComponent(context.region())}/${suffix}`;
  }

  function slotItem(slot, asked) {
    const button = el("button", { type: "button", class: "slot-book", text: t("book") });
    button.addEventListener("click", () => book(slot, asked));
    const when = `${slot.day} ${slot.window.start.slice(11, 16)}–${slot.window.end.slice(11, 16)}`;
    return el("li", { "data-day": slot.day },
      el("strong", { text: when }),
      ` · ${slot.team_id} · ${t("extra_travel", { t: hm(slot.extra_travel_s) })}`,
      button);
  }

  function show(answer, asked) {
    const out = $("slot-result");
    const items = answer.slots.map((slot) => slotItem(slot, asked));
    const reasons = answer.days.filter((d) => !d.slots)
      .map((d) => el("li", { class: "muted", text: `${d.day}: ${d.reason}` }));
    out.replaceChildren(...[
      items.length ? el("ul", { class: "slots" }, ...items) : el("p", { text: t("no_slots") }),
      reasons.length ? el("ul", { class: "slot-reasons" }, ...reasons) : null,
    ].filter(Boolean));
    out.dataset.slots = String(items.length);
  }

  async function find(event) {
    if (event) event.preventDefault();
    const out = $("slot-result");
    out.replaceChildren(el("p", { text: t("loading") }));
    const asked = request();
    try {
      const { body } = await api(regionPath("slots"), { method: "POST", body: asked });
      show(body, asked);
    } catch (error) {
      out.replaceChildren(el("p", { class: "error", text: error.message }));
    }
  }

  async function book(slot, asked) {
    const body = {
      ...asked, day: slot.day, window_start: slot.window.start, window_end: slot.window.end,
    };
    try {
      const { body: booked } = await api(regionPath("bookings"), { method: "POST", body });
      await find();
      $("slot-result").prepend(el("p", { class: "booked", text: t("booked", { visit: booked.visit_id }) }));
    } catch (error) {
      $("slot-result").prepend(el("p", { class: "error", text: error.message }));
    }
  }

  function pick() {
    const map = context.map();
    if (!map) return;
    $("slot-result").replaceChildren(el("p", { class: "muted", text: t("pick_hint") }));
    map.once("click", (event) => {
      $("slot-lat").value = event.latlng.lat.toFixed(6);
      $("slot-lon").value = event.latlng.lng.toFixed(6);
      if (marker) marker.remove();
      marker = L.circleMarker(event.latlng, { radius: 8, color: "#a1001b" }).addTo(map);
      $("slot-result").replaceChildren();
    });
  }

  function init(options) {
    context = options;
    $("slot-form").addEventListener("submit", find);
    $("slot-pick").addEventListener("click", pick);
  }

  return { init };
})();
