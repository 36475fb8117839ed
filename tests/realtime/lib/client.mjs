// socket.io-client helpers: sockets that are always closed at the end, promises with deadlines,
// and a recorder of the events a socket receives.

import { io } from "socket.io-client";

const liveSockets = new Set();

/**
 * io(url, options) with a fresh connection (never multiplexed with another test's socket) and,
 * unless asked, no automatic reconnection. The socket is closed by closeAllSockets().
 */
export function openSocket(url, options = {}) {
  const socket = io(url, { forceNew: true, reconnection: false, timeout: 10_000, ...options });
  liveSockets.add(socket);
  return socket;
}

/** Disconnects every socket opened by openSocket (and stops their managers' reconnection). */
export function closeAllSockets() {
  for (const socket of liveSockets) closeSocket(socket);
  liveSockets.clear();
}

export function closeSocket(socket) {
  try {
    socket.io.reconnection(false);
    socket.disconnect();
    socket.io.engine?.close();
  } catch {
    // already closed
  }
}

/** Resolves with the first `event` emitted by `emitter` (its arguments as an array), rejects after `timeoutMs`. */
export function waitFor(emitter, event, timeoutMs = 10_000, what = event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    function handler(...args) {
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args);
    }
    emitter.on(event, handler);
  });
}

/**
 * Opens a socket and waits for `connect`. Rejects with the connect_error (or a timeout).
 * @returns {Promise<import("socket.io-client").Socket>}
 */
export function connectSocket(url, options = {}, timeoutMs = 15_000) {
  return awaitConnect(openSocket(url, options), timeoutMs);
}

/** Waits for an opened socket's `connect`; rejects on connect_error (closing the socket) or after `timeoutMs`. */
export function awaitConnect(socket, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`socket did not connect within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      resolve(socket);
    };
    const onError = (err) => {
      cleanup();
      closeSocket(socket);
      const e = new Error(`connect_error: ${err.message}`);
      e.cause = err;
      reject(e);
    };
    function cleanup() {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/**
 * Opens a socket that must fail to connect. Resolves with the connect_error's Error; rejects when
 * the socket connects instead or nothing happens within `timeoutMs`.
 */
export function expectConnectError(url, options = {}, timeoutMs = 15_000) {
  const socket = openSocket(url, options);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      closeSocket(socket);
      reject(new Error(`neither connect nor connect_error within ${timeoutMs} ms`));
    }, timeoutMs);
    const onConnect = () => {
      cleanup();
      closeSocket(socket);
      reject(new Error("the socket connected, a connect_error was expected"));
    };
    const onError = (err) => {
      cleanup();
      closeSocket(socket);
      resolve(err);
    };
    function cleanup() {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", onError);
    }
    socket.on("connect", onConnect);
    socket.on("connect_error", onError);
  });
}

/** `ping:ack` round trip with a deadline; resolves with what the server acknowledged. */
export function pingAck(socket, payload, timeoutMs = 10_000) {
  return socket.timeout(timeoutMs).emitWithAck("ping:ack", payload);
}

/**
 * Records every event a socket receives (socket.onAny), with its arrival time, and lets a test
 * wait until the record satisfies a condition.
 */
export class EventRecorder {
  constructor(socket, label = "socket") {
    this.socket = socket;
    this.label = label;
    this.events = []; // {name, payload, args, t}
    this.waiters = new Set();
    this.labels = {}; // lead id -> a short name, for failure messages
    this.listener = (name, ...args) => {
      this.events.push({ name, payload: args[0], args, t: performance.now() });
      for (const w of [...this.waiters]) w.check();
    };
    socket.onAny(this.listener);
  }

  named(name) {
    return this.events.filter((e) => e.name === name);
  }

  /** Events about one lead: lead:created/updated (payload.id), lead:assigned (payload.lead.id), lead:deleted (payload.id). */
  forLead(id) {
    return this.events.filter((e) => leadIdOf(e) === id);
  }

  clear() {
    this.events = [];
  }

  stop() {
    this.socket.offAny(this.listener);
  }

  /** Resolves once `predicate(events)` is true; rejects after `timeoutMs` with `what` and the record. */
  until(predicate, timeoutMs = 10_000, what = "a condition") {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          let ok = false;
          try {
            ok = predicate(this.events);
          } catch (err) {
            finish();
            reject(err);
            return;
          }
          if (ok) {
            finish();
            resolve(this.events);
          }
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}; received: ${this.describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** Waits for an event named `name` whose payload satisfies `match`. */
  async next(name, match = () => true, timeoutMs = 10_000) {
    await this.until((evs) => evs.some((e) => e.name === name && match(e.payload)), timeoutMs, `${name}`);
    return this.events.find((e) => e.name === name && match(e.payload)).payload;
  }

  describe() {
    const summary = this.events.map((e) => {
      const id = leadIdOf(e);
      return `${e.name}(${id === undefined ? JSON.stringify(e.payload) : this.labels[id] ?? id})`;
    });
    return summary.length ? summary.join(", ") : "nothing";
  }
}

export function leadIdOf(event) {
  const p = event.payload;
  if (!p || typeof p !== "object") return undefined;
  if (event.name === "lead:assigned") return p.lead?.id;
  return p.id;
}
