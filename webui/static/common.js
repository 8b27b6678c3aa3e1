// Shared by every page: the UI phrases, calls to the JSON API, and time formatting.
// Plain scripts (no build step): the app serves them as they are.
"use strict";

const Doorstep = (() => {
  const catalogue = JSON.parse(document.getElementById("i18n").textContent);
  let csrfToken = document.querySelector('meta[name="csrf-token"]').content;

  /** The phrase `key` in the page's language, with {name} placeholders filled in. */
  function t(key, values) {
    let text = catalogue[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split(`{${name}}`).join(String(value));
    }
    return text;
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.code = body && body.error;
      this.body = body;
    }
  }

  /** A fresh CSRF token from the API: needed after a long time offline. */
  async function refreshCsrf() {
    const response = await fetch("/api/v1/me", { credentials: "same-origin" });
    if (response.ok) {
      csrfToken = (await response.json()).csrf_token || csrfToken;
    }
    return response.status;
  }

  /** Call the API; resolves to parsed JSON (or text), rejects with ApiError or TypeError
   *  (network down). `body` goes as JSON, `form` (a FormData, e.g. files) as multipart.
   *  Changes carry the CSRF token, retried once with a fresh one. */
  async function api(path, options) {
    const opts = options || {};
    const json = opts.body !== undefined;
    const send = () =>
      fetch(`/api/v1${path}`, {
        method: opts.method || "GET",
        credentials: "same-origin",
        headers: Object.assign(
          { Accept: "application/json" },
          json ? { "Content-Type": "application/json" } : {},
          opts.method && opts.method !== "GET" ? { "X-CSRFToken": csrfToken } : {},
        ),
        body: json ? JSON.stringify(opts.body) : opts.form,
      });
    let response = await send();
    if (response.status === 400 && opts.method && opts.method !== "GET") {
      const body = await response.clone().json().catch(() => null);
      if (body && body.error === "csrf" && (await refreshCsrf()) === 200) {
        response = await send();
      }
    }
    const type = response.headers.get("Content-Type") || "";
    const body = type.includes("json") ? await response.json() : await response.text();
    if (!response.ok) {
      throw new ApiError(response.status, typeof body === "object" ? body : null);
    }
    return { status: response.status, body };
  }

  /** "10:05" from an ISO local date-time: the region's wall clock, as the plan says. */
  function clock(iso) {
    return iso ? iso.slice(11, 16) : "";
  }

  function hm(seconds) {
    const minutes = Math.round(seconds / 60);
    return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}`;
  }

  /** An element with text content (never innerHTML: addresses come from imported files). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child instanceof Node ? child : document.createTextNode(String(child)));
      }
    }
    return node;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const language = document.getElementById("language");
    if (language) language.addEventListener("change", () => language.form.submit());
  });

  return { t, api, refreshCsrf, ApiError, clock, hm, el };
})();
