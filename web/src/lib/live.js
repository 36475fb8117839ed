// The Socket.IO connection (stock socket.io-client): one socket per signed-in tab, the access
// token sent on every (re)connection, a token refresh when the server refuses it, and a
// "reconnected" event after any reconnection or `resync` so pages refetch what they show.
//
//   const off = live.on("lead:created", (lead) => ...);   // → unsubscribe
//   useLiveEvent("import:progress", (p) => ..., [deps]);  // hook form
//   const state = useLive();                              // "connected" | "connecting" | "offline"
//   live.on("reconnected", () => refetch());
//   live.start(); live.stop();                            // the app shell, on sign-in / sign-out

import { io } from "socket.io-client";
import { useEffect, useRef, useState } from "preact/hooks";
import { session } from "./session.js";

const handlers = new Map(); // event → Set of functions
const stateListeners = new Set();
let socket = null;
let state = "offline";
let everConnected = false;
const RETRY_MS = 5_000;

function emitLocal(event, payload) {
  for (const handler of handlers.get(event) || []) {
    try {
      handler(payload);
    } catch (err) {
      console.error(`live: a handler of ${event} failed`, err);
    }
  }
}

function setState(next) {
  if (state === next) return;
  state = next;
  for (const listener of stateListeners) listener(state);
}

/** After the server refused the token or dropped us: renew the token, then connect again. */
async function reconnectWithFreshToken() {
  if (!socket) return;
  setState("connecting");
  if (await session.refresh()) {
    socket?.connect();
  } else if (session.accessToken) {
    // The server could not be reached to refresh: try again a little later.
    setState("offline");
    setTimeout(reconnectWithFreshToken, RETRY_MS);
  }
}

function createSocket() {
  const s = io(location.origin, {
    // A function: every reconnection sends the token current at that moment.
    auth: (cb) => cb({ token: session.accessToken }),
    reconnectionDelay: 500,
    reconnectionDelayMax: 5_000,
  });
  s.on("connect", () => {
    setState("connected");
    if (everConnected) emitLocal("reconnected", { reason: "reconnect" });
    everConnected = true;
  });
  s.on("disconnect", (reason) => {
    setState(s.active ? "connecting" : "offline");
    // The server closed the socket (e.g. account changes): try again with a fresh token.
    if (reason === "io server disconnect") reconnectWithFreshToken();
  });
  s.on("connect_error", () => {
    // Refused by the server (`unauthorized`): socket.io-client does not retry that by itself.
    if (!s.active) reconnectWithFreshToken();
    else setState("connecting");
  });
  s.on("resync", (payload) => emitLocal("reconnected", { reason: "resync", ...payload }));
  s.onAny((event, payload) => emitLocal(event, payload));
  return s;
}

export const live = {
  get state() {
    return state;
  },
  on(event, handler) {
    if (!handlers.has(event)) handlers.set(event, new Set());
    handlers.get(event).add(handler);
    return () => handlers.get(event)?.delete(handler);
  },
  onState(listener) {
    stateListeners.add(listener);
    return () => stateListeners.delete(listener);
  },
  start() {
    if (socket) return;
    everConnected = false;
    setState("connecting");
    socket = createSocket();
  },
  stop() {
    if (!socket) return;
    const s = socket;
    socket = null;
    s.removeAllListeners();
    s.disconnect();
    setState("offline");
  },
};

export function useLive() {
  const [current, setCurrent] = useState(state);
  useEffect(() => {
    setCurrent(state);
    return live.onState(setCurrent);
  }, []);
  return current;
}

/** Subscribes `handler` to `event` while the component is mounted (the latest handler is called). */
export function useLiveEvent(event, handler, deps = []) {
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => live.on(event, (payload) => latest.current(payload)), [event, ...deps]);
}
