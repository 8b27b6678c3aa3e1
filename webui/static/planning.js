// The dispatcher's planning panel: plan the day in the background (progress, cancel, one
// job per region-day however many press the button), what the new plan changed, the
// comparison with what agents see, and importing files.
"use strict";

const DoorstepPlanning = (() => {
  const { t, api, hm, el } = Doorstep;
  const $ = (id) => document.getElementById(id);
  const POLL_MS = 1000;
  let context = null; // { region(), day(), planned() }
  let polling = null; // the job id being followed

  function dayPath(suffix) {
    return `/regions/${encodeURIComponent(context.region())}/days/${context.day()}/${suffix}`;
  }

  function jobPath(jobId, suffix) {
    return `/regions/${encodeURIComponent(context.region())}/jobs/${jobId}${suffix || ""}`;
  }

  function travelChange(seconds) {
    if (!seconds) return hm(0);
    return seconds < 0 ? t("travel_saved", { t: hm(-seconds) }) : t("travel_added", { t: hm(seconds) });
  }

  /** One line on how many visits changed and what it did to travel. */
  function changesText(diff) {
    const v = diff.visits;
    return t("changes", {
      moved: v.moved.length, added: v.added.length, dropped: v.dropped.length,
      retimed: v.retimed.length, travel: travelChange(diff.figures.travel_time_s.change),
    });
  }

  function result(text, isError) {
    const node = $("job-result");
    node.textContent = text || "";
    node.hidden = !text;
    node.classList.toggle("error", Boolean(isError));
  }

  function showJob(job) {
    const running = job.status === "queued" || job.status === "running";
    $("job").hidden = !running;
    $("plan-start").disabled = running;
    $("replan-start").disabled = running;
    $("job-progress").value = job.progress;
    $("job-stage").textContent =
      `${Math.round(job.progress * 100)}% · ${t(`stage_${job.stage}`)} · ${t("job_by", { who: job.requested_by })}`;
    $("planning").dataset.job = String(job.job_id);
    $("planning").dataset.status = job.status;
  }

  async function ended(job) {
    $("comparison").hidden = true; // it compared the plan this job replaced
    if (job.status === "done" && job.kind === "replan") {
      result(t("replan_done", {
        frozen: job.result.frozen, changes: changesText(job.result.compared_with_basis),
      }));
      await context.planned();
    } else if (job.status === "done") {
      const s = job.result.summary;
      const lines = [t("job_done", {
        routed: s.visits_routed, visits: s.visits, kept: s.appointments_kept, appointments: s.appointments,
      })];
      if (job.result.compared_with_previous) lines.push(changesText(job.result.compared_with_previous));
      result(lines.join(" "));
      await context.planned();
    } else if (job.status === "cancelled") {
      result(t("job_cancelled"));
    } else {
      result(t("job_failed", { error: job.error }), true);
    }
  }

  async function follow(jobId) {
    polling = jobId;
    while (polling === jobId) {
      let job;
      try {
        ({ body: job } = await api(jobPath(jobId)));
      } catch (error) {
        result(error.message, true);
        return;
      }
      showJob(job);
      if (job.status !== "queued" && job.status !== "running") {
        polling = null;
        await ended(job);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async function start(kind) {
    result("");
    const body = kind === "replan" ? { kind } : { time_limit: Number($("time-limit").value) };
    try {
      const { status, body: job } = await api(dayPath("jobs"), { method: "POST", body });
      if (status === 200) result(t("job_joined"));
      showJob(job);
      follow(job.job_id);
    } catch (error) {
      result(error.message, true);
    }
  }

  async function cancel() {
    const jobId = Number($("planning").dataset.job);
    try {
      const { body: job } = await api(jobPath(jobId, "/cancel"), { method: "POST" });
      polling = null;
      showJob(job);
      await ended(job);
    } catch (error) {
      result(error.message, true);
    }
  }

  function visitList(title, items, describe) {
    if (!items.length) return null;
    return el("div", {},
      el("strong", { text: `${title} (${items.length})` }),
      el("ul", {}, ...items.slice(0, 50).map((item) => el("li", { text: describe(item) }))));
  }

  async function compare() {
    const node = $("comparison");
    node.hidden = false;
    node.replaceChildren(el("span", { text: t("loading") }));
    try {
      const { body: diff } = await api(dayPath("compare"));
      const v = diff.visits;
      node.replaceChildren(...[
        el("h3", { text: t("compare_title") }),
        el("p", { class: "changes", text: changesText(diff) }),
        visitList(t("moved_visits"), v.moved, (x) => `${x.visit_id}: ${x.from_team} → ${x.to_team}`),
        visitList(t("added_visits"), v.added, (x) => `${x.visit_id} → ${x.team_id}`),
        visitList(t("dropped_visits"), v.dropped, (x) => `${x.visit_id} (${x.team_id}) ${x.reason_code}`),
        visitList(t("retimed_visits"), v.retimed, (x) => `${x.visit_id}: ${x.minutes > 0 ? "+" : ""}${x.minutes} ${t("minutes")}`),
      ].filter(Boolean));
    } catch (error) {
      const text = error.status === 404 && /published/.test(error.message) ? t("nothing_published") : error.message;
      node.replaceChildren(el("p", { class: error.status === 404 ? "muted" : "error", text }));
    }
  }

  async function importFiles(event) {
    event.preventDefault();
    const out = $("import-result");
    const files = $("import-files").files;
    if (!files.length || files.length > 3) {
      out.replaceChildren(el("p", { class: "error", text: t("choose_files") }));
      return;
    }
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    form.append("replace_day", $("replace-day").checked ? "true" : "false");
    out.replaceChildren(el("p", { text: t("loading") }));
    try {
      const { body } = await api(dayPath("imports"), { method: "POST", form });
      out.replaceChildren(el("ul", { class: "imported" }, ...body.files.map((f) => el("li", { text: t("imported", f) }))));
      $("import-files").value = "";
      await context.imported();
    } catch (error) {
      const problems = (error.body && error.body.problems) || [];
      out.replaceChildren(...[
        el("p", { class: "error", text: problems.length ? t("import_refused") : error.message }),
        problems.length ? el("table", { class: "problems" },
          el("thead", {}, el("tr", {}, ...["file", "row", "field", "message"].map((h) => el("th", { text: h === "message" ? "" : t(h) || h })))),
          el("tbody", {}, ...problems.map((p) => el("tr", {},
            el("td", { text: p.file }), el("td", { text: p.row ?? "" }), el("td", { text: p.field ?? "" }),
            el("td", { text: p.message }))))) : null,
      ].filter(Boolean));
    }
  }

  const EVENT_FIELDS = {
    unavailable: ["event-agent", "event-at"], cancelled: ["event-visit"], added: ["event-visit"],
    overrun: ["event-visit", "event-minutes"], late: ["event-agent", "event-minutes"],
  };

  /** Show only the inputs the chosen kind of event needs. */
  function eventFields() {
    const needed = EVENT_FIELDS[$("event-kind").value];
    for (const id of ["event-agent", "event-visit", "event-at", "event-minutes"]) {
      $(id).hidden = !needed.includes(id);
    }
  }

  function eventText(event) {
    const what = t(`event_${event.kind}`);
    const who = event.agent_id || event.visit_id;
    const how = event.at || (event.minutes ? `${event.minutes} ${t("minutes")}` : "");
    return `${what}: ${who}${how ? ` ${how}` : ""} (${event.recorded_by})`;
  }

  async function showEvents() {
    try {
      const { body } = await api(dayPath("events"));
      $("event-list").replaceChildren(...body.events.map((e) => el("li", { text: eventText(e) })));
    } catch (error) {
      $("event-message").textContent = error.message;
    }
  }

  async function recordEvent(event) {
    event.preventDefault();
    const kind = $("event-kind").value;
    const body = { kind };
    const needed = EVENT_FIELDS[kind];
    if (needed.includes("event-agent")) body.agent_id = $("event-agent").value.trim();
    if (needed.includes("event-visit")) body.visit_id = $("event-visit").value.trim();
    if (needed.includes("event-at")) body.at = $("event-at").value;
    if (needed.includes("event-minutes")) body.minutes = Number($("event-minutes").value);
    try {
      await api(dayPath("events"), { method: "POST", body });
      $("event-message").textContent = "";
      await showEvents();
    } catch (error) {
      $("event-message").textContent = error.message;
    }
  }

  /** Offer the plan's agents and visits in the event form. */
  function suggest(plan) {
    const agents = plan ? [...new Set(plan.routes.flatMap((r) => r.agent_ids))] : [];
    const visits = plan ? [...plan.routes.flatMap((r) => r.stops.map((s) => s.visit_id)),
      ...plan.unassigned.map((u) => u.visit_id)] : [];
    $("event-agents").replaceChildren(...agents.map((a) => el("option", { value: a })));
    $("event-visits").replaceChildren(...visits.map((v) => el("option", { value: v })));
  }

  /** Show the region-day's active job, if any (another dispatcher may have started it). */
  async function refresh() {
    polling = null;
    result("");
    $("comparison").hidden = true;
    $("job").hidden = true;
    $("plan-start").disabled = !context.region() || !context.day();
    if (!context.region() || !context.day()) return;
    showEvents();
    try {
      const { body } = await api(dayPath("jobs"));
      const active = body.jobs.find((j) => j.status === "queued" || j.status === "running");
      if (active) {
        showJob(active);
        follow(active.job_id);
      }
    } catch (error) {
      result(error.message, true);
    }
  }

  function init(options) {
    context = options;
    if (options.defaultTimeLimit) $("time-limit").value = String(Math.round(options.defaultTimeLimit));
    $("plan-start").addEventListener("click", () => start("plan"));
    $("replan-start").addEventListener("click", () => start("replan"));
    $("event-form").addEventListener("submit", recordEvent);
    $("event-kind").addEventListener("change", eventFields);
    eventFields();
    $("job-cancel").addEventListener("click", cancel);
    $("compare").addEventListener("click", compare);
    $("import-form").addEventListener("submit", importFiles);
  }

  return { init, refresh, suggest };
})();
