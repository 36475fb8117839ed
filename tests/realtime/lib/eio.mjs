// A raw Engine.IO v4 polling client over fetch, for what socket.io-client will not do on purpose:
// stay silent on pings, send malformed packets.
//
// Engine.IO v4 polling: GET /socket.io/?EIO=4&transport=polling opens a session and answers
// `0{"sid":..,"upgrades":[..],"pingInterval":..,"pingTimeout":..,"maxPayload":..}`; then
// GET ...&sid=SID long-polls for packets and POST ...&sid=SID sends them. Several packets in one
// body are separated by the record separator \x1e. Packet types: 0 open, 1 close, 2 ping,
// 3 pong, 4 message, 5 upgrade, 6 noop. An unknown sid is answered 400 (code 1 "Session ID unknown").

export const SEPARATOR = "\x1e";

export function decodePayload(text) {
  return text.length === 0 ? [] : text.split(SEPARATOR);
}

export async function handshake(baseUrl, { timeoutMs = 10_000 } = {}) {
  const url = `${baseUrl}/socket.io/?EIO=4&transport=polling`;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200 || !text.startsWith("0{")) {
    throw new Error(`Engine.IO handshake: expected 200 "0{...}", got ${res.status} ${JSON.stringify(text)}`);
  }
  const packets = decodePayload(text);
  const open = JSON.parse(packets[0].slice(1));
  return new PollingSession(baseUrl, open, packets.slice(1));
}

export class PollingSession {
  constructor(baseUrl, open, early = []) {
    this.baseUrl = baseUrl;
    this.open = open;
    this.sid = open.sid;
    this.early = early; // packets that came with the handshake, if any
  }

  get url() {
    return `${this.baseUrl}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(this.sid)}`;
  }

  /**
   * One long poll. → {status, text, packets} or {aborted: true} when nothing came within `timeoutMs`
   * (the request is then abandoned, which a server may treat as the client leaving).
   */
  async poll({ timeoutMs = 10_000 } = {}) {
    try {
      const res = await fetch(this.url, { signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      return { status: res.status, text, packets: res.status === 200 ? decodePayload(text) : [] };
    } catch (err) {
      if (err.name === "TimeoutError" || err.name === "AbortError") return { aborted: true };
      return { status: 0, error: err, text: String(err), packets: [] };
    }
  }

  /** POSTs a raw body (a string, sent as is). → {status, text} */
  async sendRaw(body, { timeoutMs = 10_000 } = {}) {
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      return { status: res.status, text: await res.text() };
    } catch (err) {
      return { status: 0, error: err, text: String(err) };
    }
  }

  /** POSTs packets, joined with the separator. */
  async send(...packets) {
    return this.sendRaw(packets.join(SEPARATOR));
  }
}

/** True when a poll answer says the session is over: 400 (unknown sid) or a close packet. */
export function isClosedAnswer(answer) {
  if (answer.aborted || answer.status === 0) return false; // inconclusive: poll again
  if (answer.status === 400) return true;
  return answer.packets.some((p) => p === "1");
}

/** Describes a poll answer for failure messages. */
export function describeAnswer(answer) {
  if (answer.aborted) return "no answer (poll timed out)";
  if (answer.status === 0) return `connection error: ${answer.text}`;
  return `${answer.status} ${JSON.stringify(answer.text)}`;
}
