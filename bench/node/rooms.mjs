// Load generator for small rooms (bench/smallrooms.py): M members in one room, every
// member sending with acks, at an offered rate the driver chooses step by step.
//
// Usage: node rooms.mjs '<json config>'; config {url, roomId, members: [auth, ...],
// ctBytes, tag}. It connects one raw client (raw-client.mjs) per member, prints
// {"phase":"ready"}, then answers one JSON line per command line on stdin:
//   {"probe": seconds, "window": w}  closed loop: each member keeps w sends unacknowledged;
//                                    -> {"phase":"probe", messagesPerSecond, loadCpu}
//   {"rate": r, "seconds": s, "grace": g, "drain": d}
//       open loop: message i leaves at start + i / r (members take turns) whatever the
//       acks, and its latencies count from that moment. A message is complete when its
//       ack (ok) and all M - 1 deliveries arrived; one not complete g seconds after the
//       last send is counted late. Then it waits up to d more seconds for stragglers, so
//       the next step starts on an idle server.
//       -> {"phase":"step", offered, sent, complete, late, ackErrors, messagesPerSecond,
//           p50, p99, max (ms, over every ack and delivery), loadCpu}
//   quit

import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { connectMany, connectRaw } from "./raw-client.mjs";

const cfg = JSON.parse(process.argv[2]);
const ENVELOPE = {
  v: 1,
  alg: "A256GCM",
  kid: "sealchat-messages",
  edk: randomBytes(60).toString("base64"),
  iv: randomBytes(12).toString("base64"),
  ct: randomBytes(cfg.ctBytes + 16).toString("base64"),
};

const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

let stepNo = 0;

// Tracks one batch of messages: send times, acks and deliveries.
function tracker(members, prefix) {
  const others = members.length - 1;
  const state = { due: [], pending: [], complete: 0, ackErrors: 0, firstError: null, samples: [] };
  const settle = (i) => {
    if (state.pending[i] === 0) state.complete += 1;
  };
  for (const m of members) {
    m.listen((id) => {
      if (!id.startsWith(prefix)) return;
      const i = Number(id.slice(prefix.length));
      state.samples.push(performance.now() - state.due[i]);
      state.pending[i] -= 1;
      settle(i);
    });
  }
  state.send = (i, at, onAck) => {
    state.due[i] = at;
    state.pending[i] = others + 1;
    const body = { room_id: cfg.roomId, client_msg_id: `${prefix}${i}`, envelope: ENVELOPE };
    members[i % members.length].emit("message:send", body, (ack) => {
      state.samples.push(performance.now() - at);
      if (!ack || ack.ok !== true) {
        state.ackErrors += 1;
        state.firstError ??= ack;
      } else {
        state.pending[i] -= 1;
        settle(i);
      }
      onAck?.();
    });
  };
  return state;
}

async function probe(members, { probe: seconds, window }) {
  const t = tracker(members, `${cfg.tag}-q${stepNo++}-`);
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  let next = 0;
  let acked = 0;
  const fire = () => {
    if (performance.now() < end) t.send(next++, performance.now(), onAck);
  };
  const onAck = () => {
    acked += 1;
    fire();
  };
  for (let k = 0; k < window * members.length; k++) fire();
  await sleep(seconds * 1000);
  const complete = t.complete;
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - started) / 1000;
  // Let the server finish what is in flight, so the first step starts on an idle server.
  const drainUntil = performance.now() + 5000;
  while ((acked < next || t.complete + t.ackErrors < next) && performance.now() < drainUntil) {
    await sleep(5);
  }
  out({ phase: "probe", messagesPerSecond: complete / seconds, ackErrors: t.ackErrors,
    loadCpu: (cpu.user + cpu.system) / 1e6 / wall });
}

async function step(members, { rate, seconds, grace, drain }) {
  const t = tracker(members, `${cfg.tag}-s${stepNo++}-`);
  const count = Math.max(1, Math.round(rate * seconds));
  const cpu0 = process.cpuUsage();
  const started = performance.now() + 2;
  const due = (i) => started + (i * 1000) / rate;
  let sent = 0;
  await new Promise((resolve) => {
    const pump = () => {
      const now = performance.now();
      while (sent < count && due(sent) <= now) {
        const i = sent++;
        t.send(i, due(i));
      }
      if (sent < count) setTimeout(pump, Math.max(0, due(sent) - performance.now()));
      else resolve();
    };
    setTimeout(pump, 2);
  });
  const lastSend = performance.now();
  while (t.complete + t.ackErrors < count && performance.now() - lastSend < grace * 1000) await sleep(2);
  const complete = t.complete;
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - started) / 1000;
  const samples = Float64Array.from(t.samples).sort();
  const drainUntil = performance.now() + drain * 1000;
  while (t.complete + t.ackErrors < count && performance.now() < drainUntil) await sleep(5);
  out({
    phase: "step",
    offered: rate,
    seconds,
    sent: count,
    complete,
    late: count - complete - t.ackErrors,
    ackErrors: t.ackErrors,
    firstError: t.firstError,
    messagesPerSecond: complete / wall,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    max: percentile(samples, 100),
    loadCpu: (cpu.user + cpu.system) / 1e6 / wall,
  });
}

async function main() {
  const members = await connectMany(cfg.members.length, (k) => connectRaw(cfg.url, cfg.members[k]));
  out({ phase: "ready", members: members.length });
  for await (const line of createInterface({ input: process.stdin })) {
    const command = line.trim() === "quit" ? null : JSON.parse(line);
    if (command === null) break;
    if (command.probe) await probe(members, command);
    else await step(members, command);
  }
  for (const m of members) m.close();
  process.exit(0);
}

main().catch((err) => {
  out({ phase: "error", message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
