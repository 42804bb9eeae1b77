// The reference for bench/broadcast.py: the official Node socket.io v4 server doing what
// Sealchat does on its hot path, minus the database. On "message:send" it checks the
// payload about as much as Sealchat does (shape, id pattern, envelope size and base64
// fields), gives the message the room's next seq, broadcasts "message:new" to the room
// except the sender, and acks {ok: true, message}. Stock settings, like Sealchat's.
//
// Usage: node reference-server.mjs PORT. Every socket joins the room named in its
// handshake auth ({room}). GET /healthz answers 200; GET /_bench/lag/start and
// /_bench/lag/stop run the same event-loop lag probe as bench/sealchat_server.py.

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
const CLIENT_MSG_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_ENVELOPE_BYTES = 65536;
const seqByRoom = new Map();

// -- event-loop lag probe: a timer every 2 ms, recording how late it fires ---------------
const PROBE_MS = 2;
let probe = null;

function startProbe() {
  stopProbe();
  const samples = [];
  let due = performance.now() + PROBE_MS;
  const tick = () => {
    const now = performance.now();
    samples.push(now - due);
    due = now + PROBE_MS;
    probe.timer = setTimeout(tick, PROBE_MS);
  };
  probe = { samples, timer: setTimeout(tick, PROBE_MS) };
}

function stopProbe() {
  if (probe === null) return [];
  clearTimeout(probe.timer);
  const { samples } = probe;
  probe = null;
  return samples;
}

function lagSummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] : null);
  return { samples: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
}

const http = createServer((req, res) => {
  const send = (body) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.url === "/healthz") send({ status: "ok" });
  else if (req.url === "/_bench/lag/start") {
    startProbe();
    send({ ok: true });
  } else if (req.url === "/_bench/lag/stop") send(lagSummary(stopProbe()));
  else {
    res.writeHead(404);
    res.end();
  }
});

const io = new Server(http, { serveClient: false });

function isBase64(value, least, most) {
  if (typeof value !== "string") return false;
  const raw = Buffer.from(value, "base64");
  return raw.length >= least && raw.length <= most && raw.toString("base64") === value;
}

function refuse(ack, message) {
  ack({ ok: false, error: { code: "invalid_input", message } });
}

io.on("connection", (socket) => {
  const room = socket.handshake.auth?.room ?? "bench";
  const senderId = randomUUID(); // a user id as long as Sealchat's
  socket.join(room);

  socket.on("message:send", (body, ack) => {
    if (typeof ack !== "function") return;
    if (typeof body !== "object" || body === null) return refuse(ack, "payload");
    const { room_id: roomId, client_msg_id: clientMsgId, envelope } = body;
    if (typeof roomId !== "string" || !CLIENT_MSG_ID.test(clientMsgId ?? "")) {
      return refuse(ack, "room_id or client_msg_id");
    }
    if (typeof envelope !== "object" || envelope === null) return refuse(ack, "envelope");
    if (Buffer.byteLength(JSON.stringify(envelope)) > MAX_ENVELOPE_BYTES) {
      return refuse(ack, "envelope too large");
    }
    const shapeOk =
      envelope.v === 1 &&
      envelope.alg === "A256GCM" &&
      typeof envelope.kid === "string" &&
      isBase64(envelope.edk, 1, 1024) &&
      isBase64(envelope.iv, 12, 12) &&
      isBase64(envelope.ct, 16, 65552);
    if (!shapeOk) return refuse(ack, "envelope shape");
    if (!socket.rooms.has(roomId)) {
      return ack({ ok: false, error: { code: "forbidden", message: "not a member" } });
    }
    const seq = (seqByRoom.get(roomId) ?? 0) + 1;
    seqByRoom.set(roomId, seq);
    const message = {
      id: randomUUID(),
      room_id: roomId,
      seq,
      sender_id: senderId,
      client_msg_id: clientMsgId,
      envelope,
      created_at: new Date().toISOString(),
    };
    socket.to(roomId).emit("message:new", message);
    ack({ ok: true, message });
  });
});

http.listen(port, "127.0.0.1");
