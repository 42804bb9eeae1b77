// Load generator for bench/broadcast.py: N receiver sockets in one room and one sender,
// against Sealchat or the reference server (both speak the same Socket.IO protocol).
//
// Usage: node load.mjs '<json config>'; then it talks over stdin/stdout, one JSON line each:
//   -> {"phase":"ready"}             receivers connected, warm-up done; waits for a line "go"
//   -> {"phase":"done", ...results}  after every delivery of the measured messages arrived
//
// Config: {url, senderAuth, receiverAuth, roomId, recipients, messages (or null: as many
//          as take `seconds`), seconds, latencyMessages, inflight, ctBytes, tag, receivers}. A delivery is one `message:new` reaching one receiver.
//
// The sender is always the official socket.io-client. Receivers are either that client
// too (receivers: "client") or "raw": a minimal Engine.IO v4 / Socket.IO v5 websocket
// client on `ws` that answers pings and finds the client_msg_id in each frame without
// parsing it. Raw receivers cost the load generator several times less CPU per delivery,
// so one core of load can keep a fast server busy. Both offer permessage-deflate, as
// browsers do.

import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { io } from "socket.io-client";
import { WebSocket } from "ws";

const cfg = JSON.parse(process.argv[2]);
const CONNECT_CONCURRENCY = 25;
const DELIVERY_TIMEOUT_MS = 120_000;

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function fail(message) {
  out({ phase: "error", message });
  process.exit(1);
}

// A receiver: `listen(fn)` calls fn(client_msg_id) per message:new; `close()`.
function connectClient(auth) {
  return new Promise((resolve, reject) => {
    // forceNew: one Engine.IO connection per socket, as N separate browsers would have.
    const socket = io(cfg.url, {
      transports: ["websocket"],
      auth,
      forceNew: true,
      reconnection: false,
      timeout: 30_000,
    });
    socket.once("connect", () =>
      resolve({
        socket,
        listen(fn) {
          socket.off("message:new");
          if (fn) socket.on("message:new", (msg) => fn(msg.client_msg_id));
        },
        close: () => socket.disconnect(),
      }),
    );
    socket.once("connect_error", (err) => reject(new Error(`connect failed: ${err.message}`)));
  });
}

const EVENT_PREFIX = Buffer.from('42["message:new"');
const ID_KEY = Buffer.from('"client_msg_id":');

function connectRaw(auth) {
  return new Promise((resolve, reject) => {
    const url = `${cfg.url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url);
    let live = false;
    let handler = null;
    const receiver = {
      listen(fn) {
        handler = fn;
      },
      close: () => ws.close(),
    };
    ws.on("message", (data) => {
      if (live) {
        if (data.length === 1 && data[0] === 0x32) ws.send("3"); // ping -> pong
        else if (handler && data.indexOf(EVENT_PREFIX) === 0) {
          // Python's json puts a space after ':', JavaScript's does not.
          let at = data.indexOf(ID_KEY) + ID_KEY.length;
          if (data[at] === 0x20) at += 1;
          handler(data.toString("latin1", at + 1, data.indexOf(0x22, at + 1)));
        }
        return;
      }
      const text = data.toString();
      if (text[0] === "0") ws.send(`40${JSON.stringify(auth)}`); // Engine.IO open
      else if (text.startsWith("40")) {
        live = true;
        resolve(receiver);
      } else if (text.startsWith("44")) reject(new Error(`connect refused: ${text}`));
      else if (text === "2") ws.send("3");
    });
    ws.once("error", reject);
  });
}

async function connectMany(count, connect, auth) {
  const sockets = [];
  for (let start = 0; start < count; start += CONNECT_CONCURRENCY) {
    const batch = Math.min(CONNECT_CONCURRENCY, count - start);
    sockets.push(...(await Promise.all(Array.from({ length: batch }, () => connect(auth)))));
  }
  return sockets;
}

// A shape-valid envelope v1 (docs/envelope.md) with made-up bytes: the server checks
// shape only. ctBytes of "ciphertext" plus the 16-byte tag.
function envelope() {
  return {
    v: 1,
    alg: "A256GCM",
    kid: "sealchat-messages",
    edk: randomBytes(60).toString("base64"), // the embedded key service's size
    iv: randomBytes(12).toString("base64"),
    ct: randomBytes(cfg.ctBytes + 16).toString("base64"),
  };
}

const ENVELOPE = envelope();

// One phase: send `count` messages and wait until every receiver got every one.
// Windowed (saturation): up to `inflight` unacknowledged sends; the next goes out on
// each ack. Lockstep (latency): one message at a time, the next only after its ack and
// all its deliveries, so each latency is that of one broadcast to an idle server.
function runPhase(sender, receivers, prefix, count, { inflight, lockstep = false }) {
  return new Promise((resolve) => {
    const n = receivers.length;
    const expected = count * n;
    const sentAt = new Float64Array(count);
    const ackedAt = new Float64Array(count);
    const deliveredOf = new Int32Array(count);
    const lat = new Float64Array(expected);
    let delivered = 0;
    let nextToSend = 0;
    let acked = 0;
    let ackErrors = 0;
    let firstError = null;
    let lastDeliveryAt = 0;
    const started = performance.now();
    let timer = null;

    const finish = (timedOut) => {
      clearTimeout(timer);
      for (const r of receivers) r.listen(null);
      resolve({
        seconds: ((lastDeliveryAt || performance.now()) - started) / 1000,
        delivered,
        expected,
        acked,
        ackErrors,
        firstError,
        timedOut,
        lat: lat.subarray(0, delivered).sort(),
      });
    };
    const complete = (i) => ackedAt[i] > 0 && deliveredOf[i] === n;
    const progress = (i) => {
      if (acked === count && delivered === expected) finish(false);
      else if (!lockstep || complete(i)) sendNext();
    };

    const onDelivery = (id) => {
      if (!id.startsWith(prefix)) return; // a straggler of an earlier phase
      const now = performance.now();
      const i = Number(id.slice(prefix.length));
      lat[delivered] = now - sentAt[i];
      delivered += 1;
      deliveredOf[i] += 1;
      lastDeliveryAt = now;
      if (lockstep || delivered === expected) progress(i);
    };
    for (const r of receivers) r.listen(onDelivery);

    const sendNext = () => {
      if (nextToSend >= count) return;
      const i = nextToSend++;
      sentAt[i] = performance.now();
      const body = { room_id: cfg.roomId, client_msg_id: `${prefix}${i}`, envelope: ENVELOPE };
      sender.emit("message:send", body, (ack) => {
        ackedAt[i] = performance.now();
        acked += 1;
        if (!ack || ack.ok !== true) {
          ackErrors += 1;
          firstError ??= ack;
        }
        progress(i);
      });
    };
    timer = setTimeout(() => finish(true), DELIVERY_TIMEOUT_MS);
    for (let k = 0; k < Math.min(lockstep ? 1 : inflight, count); k++) sendNext();
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function check(phase, run) {
  if (run.timedOut || run.ackErrors || run.delivered !== run.expected) {
    fail(`${phase}: ${run.delivered}/${run.expected} delivered, ${run.ackErrors} failed acks, ` +
      `first error ${JSON.stringify(run.firstError)}`);
  }
}

async function main() {
  const connectReceiver = cfg.receivers === "client" ? connectClient : connectRaw;
  const receivers = await connectMany(cfg.recipients, connectReceiver, cfg.receiverAuth);
  const [sender] = (await connectMany(1, connectClient, cfg.senderAuth)).map((r) => r.socket);
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const waitForGo = async () => {
    for (let line = await lines.next(); !line.done; line = await lines.next()) {
      if (line.value.trim() === "go") return;
    }
    process.exit(0);
  };

  // Warm up (JIT, caches, pools) and size the measured phase to last about
  // cfg.seconds on this server, unless cfg.messages fixes the count.
  const windowed = { inflight: cfg.inflight };
  let warm = await runPhase(sender, receivers, `w${cfg.tag}-`, 20, windowed);
  check("warm-up", warm);
  const second = Math.max(20, Math.round((20 / warm.seconds) * 0.5));
  warm = await runPhase(sender, receivers, `v${cfg.tag}-`, second, windowed);
  check("warm-up", warm);
  const messages = cfg.messages ?? Math.max(50, Math.round((second / warm.seconds) * cfg.seconds));
  out({ phase: "ready", messages });
  await waitForGo();

  const cpu0 = process.cpuUsage();
  const run = await runPhase(sender, receivers, `m${cfg.tag}-`, messages, windowed);
  const cpu = process.cpuUsage(cpu0);
  check("throughput", run);
  out({
    phase: "measured",
    recipients: cfg.recipients,
    messages,
    delivered: run.delivered,
    seconds: run.seconds,
    deliveriesPerSecond: run.delivered / run.seconds,
    messagesPerSecond: run.acked / run.seconds,
    // Latency while saturated: grows with the backlog the server lets build up.
    saturatedP50: percentile(run.lat, 50),
    saturatedP99: percentile(run.lat, 99),
    // CPU of this load generator, as a share of one core: near 1 means the client,
    // not the server, may be the bottleneck.
    loadCpu: (cpu.user + cpu.system) / 1e6 / run.seconds,
  });
  await waitForGo();

  const quiet = await runPhase(sender, receivers, `l${cfg.tag}-`, cfg.latencyMessages, {
    lockstep: true,
  });
  check("latency", quiet);
  out({
    phase: "done",
    latencyMessages: cfg.latencyMessages,
    p50: percentile(quiet.lat, 50),
    p99: percentile(quiet.lat, 99),
    max: percentile(quiet.lat, 100),
  });
  for (const r of receivers) r.close();
  sender.disconnect();
  process.exit(0);
}

main().catch((err) => fail(String(err && err.stack ? err.stack : err)));
