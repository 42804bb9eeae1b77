// The reference for bench/: the stack of Sealchat's original design, Node.js + Express +
// socket.io 4 + a database, doing what Sealchat does on its hot path.
//
//   node reference-server.mjs PORT [--nostore] [--db FILE]
//
// Storing (the default, `node` in the bench): a socket's handshake carries a JWT
// ({token}), verified with jose (HS256, the secret in BENCH_JWT_SECRET, minted by the
// harness); the socket joins every room its user is a member of. Each "message:send" is
// checked (shape, id pattern, envelope size and base64 fields), then stored with
// better-sqlite3 (WAL, synchronous=NORMAL: the durability of Sealchat's SQLite) in one
// transaction that checks membership, returns the stored original for a repeated
// client_msg_id and takes the room's next seq (rooms.last_seq + 1). After the commit it
// acks {ok: true, message} and broadcasts "message:new" to the room except the sender.
//
// --nostore (`node-nostore`): no token, no database. A socket joins the room named in its
// handshake auth ({room}); the seq is a counter in memory.
//
// HTTP (Express): GET /healthz; POST /_bench/setup {users: [id], rooms: [{id, name,
// members: [id]}]} creates users, rooms and memberships (what the product's REST routes
// would do; not timed); GET /_bench/lag/start and /_bench/lag/stop run the same
// event-loop lag probe as bench/sealchat_server.py.

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";
import express from "express";
import { jwtVerify } from "jose";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
const store = !process.argv.includes("--nostore");
const dbIndex = process.argv.indexOf("--db");
const dbPath = dbIndex > 0 ? process.argv[dbIndex + 1] : "reference.sqlite3";
const CLIENT_MSG_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_ENVELOPE_BYTES = 65536;

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

// -- storage: better-sqlite3, one transaction per message -----------------------------
function openStore(path) {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  db.exec(`
    CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS rooms (
      id TEXT PRIMARY KEY, name TEXT NOT NULL, last_seq INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS memberships (
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      PRIMARY KEY (room_id, user_id));
    CREATE TABLE IF NOT EXISTS messages (
      id TEXT PRIMARY KEY,
      room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      sender_id TEXT NOT NULL,
      client_msg_id TEXT NOT NULL,
      envelope TEXT NOT NULL,
      created_at TEXT NOT NULL,
      UNIQUE (room_id, seq),
      UNIQUE (room_id, sender_id, client_msg_id));
  `);
  const roomsOf = db.prepare("SELECT room_id FROM memberships WHERE user_id = ?").pluck();
  const isMember = db.prepare("SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?");
  const original = db.prepare(
    "SELECT id, room_id, seq, sender_id, client_msg_id, envelope, created_at FROM messages " +
      "WHERE room_id = ? AND sender_id = ? AND client_msg_id = ?",
  );
  const nextSeq = db.prepare("UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq").pluck();
  const insert = db.prepare(
    "INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, envelope, created_at) " +
      "VALUES (@id, @room_id, @seq, @sender_id, @client_msg_id, @envelope, @created_at)",
  );
  // Returns {created, message} or null when the sender is not a member.
  const append = db.transaction((roomId, senderId, clientMsgId, envelopeJson) => {
    if (isMember.get(roomId, senderId) === undefined) return null;
    const stored = original.get(roomId, senderId, clientMsgId);
    if (stored !== undefined) return { created: false, row: stored };
    const row = {
      id: randomUUID(),
      room_id: roomId,
      seq: nextSeq.get(roomId),
      sender_id: senderId,
      client_msg_id: clientMsgId,
      envelope: envelopeJson,
      created_at: new Date().toISOString(),
    };
    insert.run(row);
    return { created: true, row };
  });
  const addUser = db.prepare("INSERT OR IGNORE INTO users (id) VALUES (?)");
  const addRoom = db.prepare("INSERT OR IGNORE INTO rooms (id, name) VALUES (?, ?)");
  const addMember = db.prepare("INSERT OR IGNORE INTO memberships (room_id, user_id) VALUES (?, ?)");
  const setup = db.transaction(({ users = [], rooms = [] }) => {
    for (const id of users) addUser.run(id);
    for (const room of rooms) {
      addRoom.run(room.id, room.name ?? room.id);
      for (const member of room.members) addMember.run(room.id, member);
    }
  });
  return { roomsOf: (userId) => roomsOf.all(userId), append, setup };
}

const db = store ? openStore(dbPath) : null;
const seqByRoom = new Map(); // --nostore only

// -- HTTP ------------------------------------------------------------------------------
const app = express();
app.use(express.json());
app.get("/healthz", (req, res) => res.json({ status: "ok" }));
app.get("/_bench/lag/start", (req, res) => {
  startProbe();
  res.json({ ok: true });
});
app.get("/_bench/lag/stop", (req, res) => res.json(lagSummary(stopProbe())));
app.post("/_bench/setup", (req, res) => {
  if (db !== null) db.setup(req.body);
  res.json({ ok: true });
});

const http = createServer(app);
const io = new Server(http, { serveClient: false });

// -- Socket.IO -------------------------------------------------------------------------
if (store) {
  const secret = new TextEncoder().encode(process.env.BENCH_JWT_SECRET ?? "");
  io.use(async (socket, next) => {
    try {
      const { payload } = await jwtVerify(String(socket.handshake.auth?.token ?? ""), secret, {
        algorithms: ["HS256"],
      });
      socket.data.userId = payload.sub;
      next();
    } catch (err) {
      next(new Error(`unauthorized: ${err.code ?? err.message}`));
    }
  });
}

function isBase64(value, least, most) {
  if (typeof value !== "string") return false;
  const raw = Buffer.from(value, "base64");
  return raw.length >= least && raw.length <= most && raw.toString("base64") === value;
}

function refuse(ack, message) {
  ack({ ok: false, error: { code: "invalid_input", message } });
}

const forbidden = { ok: false, error: { code: "forbidden", message: "not a member of this room" } };

io.on("connection", (socket) => {
  let senderId;
  if (store) {
    senderId = socket.data.userId;
    socket.join(db.roomsOf(senderId));
  } else {
    senderId = randomUUID(); // a user id as long as Sealchat's
    socket.join(socket.handshake.auth?.room ?? "bench");
  }

  socket.on("message:send", (body, ack) => {
    if (typeof ack !== "function") return;
    if (typeof body !== "object" || body === null) return refuse(ack, "payload");
    const { room_id: roomId, client_msg_id: clientMsgId, envelope } = body;
    if (typeof roomId !== "string" || !CLIENT_MSG_ID.test(clientMsgId ?? "")) {
      return refuse(ack, "room_id or client_msg_id");
    }
    if (typeof envelope !== "object" || envelope === null) return refuse(ack, "envelope");
    const envelopeJson = JSON.stringify(envelope);
    if (Buffer.byteLength(envelopeJson) > MAX_ENVELOPE_BYTES) {
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

    let message;
    if (store) {
      const result = db.append(roomId, senderId, clientMsgId, envelopeJson);
      if (result === null) return ack(forbidden);
      const { row } = result;
      // A resend gets the stored original back, as in Sealchat.
      message = { ...row, envelope: result.created ? envelope : JSON.parse(row.envelope) };
      ack({ ok: true, message }); // after the commit
      if (!result.created) return;
    } else {
      if (!socket.rooms.has(roomId)) return ack(forbidden);
      const seq = (seqByRoom.get(roomId) ?? 0) + 1;
      seqByRoom.set(roomId, seq);
      message = {
        id: randomUUID(),
        room_id: roomId,
        seq,
        sender_id: senderId,
        client_msg_id: clientMsgId,
        envelope,
        created_at: new Date().toISOString(),
      };
      ack({ ok: true, message });
    }
    socket.to(roomId).emit("message:new", message);
  });
});

http.listen(port, "127.0.0.1");
