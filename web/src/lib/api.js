// The REST client of the desk: JSON in and out, the bearer token from lib/session.js, one silent
// refresh and retry on a 401, and every failure as an ApiError carrying the contract's error
// body (code, message, details, existingId) so pages can show it in words.
//
//   await api.get("/api/leads", { query: { status: "new" }, signal });
//   await api.post(path, body, { headers, signal });   api.patch(...)   api.del(path)
//   await api.upload("/api/imports", file, { query });  (raw text/csv body)
//   await api.download("/api/imports/ID/errors", "errors.csv");
//
// Options: `query` (undefined, null and "" values are left out), `headers`, `signal`, and
// `auth: false` for the endpoints that take no token (login, register, refresh).

import { session } from "./session.js";

export class ApiError extends Error {
  constructor({ status, code, message, details = [], existingId = null, body = null, retryAfter = null }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.existingId = existingId;
    this.body = body;
    this.retryAfter = retryAfter;
  }
}

const NETWORK_MESSAGE = "Cannot reach the server. Check your connection and try again.";

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

function retryAfterSeconds(response) {
  const header = response.headers.get("Retry-After");
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

async function readBody(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  if ((response.headers.get("Content-Type") || "").includes("json")) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function errorFrom(response, body) {
  const error = body && typeof body === "object" && body.error ? body.error : {};
  const retryAfter = response.status === 429 ? retryAfterSeconds(response) : null;
  let message = error.message || `The server answered ${response.status} ${response.statusText}`.trim();
  if (response.status === 429) {
    message = retryAfter !== null
      ? `Too many requests. Try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`
      : "Too many requests. Try again in a moment.";
  }
  return new ApiError({
    status: response.status,
    code: error.code || "http_error",
    message,
    details: Array.isArray(error.details) ? error.details : [],
    existingId: error.existingId ?? null,
    body,
    retryAfter,
  });
}

async function send(method, path, { query, body, rawBody, contentType, headers = {}, signal, auth = true } = {}, retried = false) {
  const h = { Accept: "application/json", ...headers };
  if (auth && session.accessToken) h.Authorization = `Bearer ${session.accessToken}`;
  let payload;
  if (rawBody !== undefined) {
    payload = rawBody;
    h["Content-Type"] = contentType || "application/octet-stream";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), { method, headers: h, body: payload, signal });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError({ status: 0, code: "network", message: NETWORK_MESSAGE });
  }
  if (response.status === 401 && auth && !retried) {
    if (await session.refresh()) {
      return send(method, path, { query, body, rawBody, contentType, headers, signal, auth }, true);
    }
    // Refresh failed for good (tokens gone): the session ends; a network failure keeps it.
    if (!session.accessToken) session.expire();
  }
  let parsed;
  try {
    parsed = await readBody(response);
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new ApiError({ status: 0, code: "network", message: NETWORK_MESSAGE });
  }
  if (!response.ok) throw errorFrom(response, parsed);
  return parsed;
}

/** Saves a Blob under `fileName` through a temporary link. */
function saveBlob(blob, fileName) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const api = {
  get: (path, options) => send("GET", path, options),
  post: (path, body, options = {}) => send("POST", path, { ...options, body }),
  patch: (path, body, options = {}) => send("PATCH", path, { ...options, body }),
  del: (path, options) => send("DELETE", path, options),

  /** Sends a File/Blob as the raw body (text/csv unless it says otherwise). */
  upload: (path, file, options = {}) =>
    send("POST", path, { ...options, rawBody: file, contentType: options.contentType || file.type || "text/csv" }),

  /** Downloads an authenticated file (the server's text or binary body) as `fileName`. */
  async download(path, fileName, options = {}) {
    const text = await send("GET", path, { ...options, headers: { Accept: "*/*", ...options.headers } });
    const blob = text instanceof Blob ? text : new Blob([typeof text === "string" ? text : JSON.stringify(text)], { type: "text/csv" });
    saveBlob(blob, fileName);
  },
};
