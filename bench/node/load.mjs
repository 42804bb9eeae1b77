// Load generator for bench/broadcast.py: N receiver sockets in one room and one sender,
// against Sealchat or the reference server (both speak the same Socket.IO protocol).
//
// Usage: node load.mjs '<json config>'; then it talks over stdin/stdout, one JSON line each:
//   -> {"phase":"ready"}             receivers connected, warm-up done; waits for a line "go"
//   -> {"phase":"measured", ...}     saturated phase (`inflight` unacknowledged sends); waits for "go"
//   -> {"phase":"paced", ...}        only with pacedRate > 0: that many messages/s, open loop;
//                                    waits for "go"
//   -> {"phase":"done", ...results}  one broadcast at a time (latency of an idle server)
//
// Config: {url, senderAuth, receiverAuth, roomId, recipients, messages (or null: as many
//          as take `seconds`), seconds, latencyMessages, inflight, ctBytes, tag, receivers, pacedRate (messages/s,
//          0: skip), pacedMinMessages}. A delivery is one `message:new` reaching one receiver.
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
import { connectMany as connectBatches, connectRaw as rawClient } from "./raw-client.mjs";

const cfg = JSON.parse(process.argv[2]);
const DELIVERY_TIMEOUT_MS = (cfg.timeoutSeconds ?? 120) * 1000;

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

const connectRaw = (auth) => rawClient(cfg.url, auth);
const connectMany = (count, connect, auth) => connectBatches(count, () => connect(auth));

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

    let finished = false;
    const finish = (timedOut) => {
      if (finished) return;
      finished = true;
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
          return finish(false); // its deliveries will never come: the cell has failed
        }
        progress(i);
      });
    };
    timer = setTimeout(() => finish(true), DELIVERY_TIMEOUT_MS);
    for (let k = 0; k < Math.min(lockstep ? 1 : inflight, count); k++) sendNext();
  });
}

// Paced (open loop): message i goes out at started + i / rate whatever the acks, and its
// latency counts from that moment, so a server that falls behind shows it (no
// coordinated omission). This is "a fixed moderate load": the same for every server.
function runPaced(sender, receivers, prefix, count, rate) {
  return new Promise((resolve) => {
    const n = receivers.length;
    const expected = count * n;
    const lat = new Float64Array(expected);
    const due = (i) => started + (i * 1000) / rate;
    let delivered = 0;
    let acked = 0;
    let ackErrors = 0;
    let firstError = null;
    let sent = 0;
    let timer = null;
    const started = performance.now() + 5;
    let finished = false;
    const finish = (timedOut) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      for (const r of receivers) r.listen(null);
      resolve({ delivered, expected, acked, ackErrors, firstError, timedOut,
        seconds: (performance.now() - started) / 1000, lat: lat.subarray(0, delivered).sort() });
    };
    const done = () => acked === count && delivered === expected && finish(false);
    for (const r of receivers) {
      r.listen((id) => {
        if (!id.startsWith(prefix)) return;
        lat[delivered++] = performance.now() - due(Number(id.slice(prefix.length)));
        if (delivered === expected) done();
      });
    }
    const pump = () => {
      const now = performance.now();
      while (sent < count && due(sent) <= now) {
        const i = sent++;
        const body = { room_id: cfg.roomId, client_msg_id: `${prefix}${i}`, envelope: ENVELOPE };
        sender.emit("message:send", body, (ack) => {
          acked += 1;
          if (!ack || ack.ok !== true) {
            ackErrors += 1;
            firstError ??= ack;
            return finish(false);
          }
          done();
        });
      }
      if (sent < count && !finished) setTimeout(pump, Math.max(0, due(sent) - performance.now()));
    };
    timer = setTimeout(() => finish(true), DELIVERY_TIMEOUT_MS);
    setTimeout(pump, 5);
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
  const connectStarted = performance.now();
  const receivers = await connectMany(cfg.recipients, connectReceiver, cfg.receiverAuth);
  const [sender] = (await connectMany(1, connectClient, cfg.senderAuth)).map((r) => r.socket);
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  process.stderr.write(`connected ${cfg.recipients} in ${connectSeconds.toFixed(1)} s\n`);
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
  out({ phase: "ready", messages, connectSeconds });
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

  if (cfg.pacedRate > 0) {
    const count = Math.max(cfg.pacedMinMessages ?? 20, Math.round(cfg.pacedRate * cfg.seconds));
    const cpuPaced = process.cpuUsage();
    const paced = await runPaced(sender, receivers, `p${cfg.tag}-`, count, cfg.pacedRate);
    const used = process.cpuUsage(cpuPaced);
    check("paced", paced);
    out({
      phase: "paced",
      pacedRate: cfg.pacedRate,
      pacedMessages: count,
      pacedSeconds: paced.seconds,
      pacedP50: percentile(paced.lat, 50),
      pacedP99: percentile(paced.lat, 99),
      pacedMax: percentile(paced.lat, 100),
      pacedLoadCpu: (used.user + used.system) / 1e6 / paced.seconds,
    });
    await waitForGo();
  }

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
