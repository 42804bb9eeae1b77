// A minimal Engine.IO v4 / Socket.IO v5 client on `ws`, for the load generators: it
// answers pings, finds the client_msg_id in each "message:new" frame without parsing
// it, and sends events with acks. It costs the load generator several times less CPU
// per delivery than socket.io-client, so one core of load can keep a fast server busy.
// Like browsers, it offers permessage-deflate.

import { WebSocket } from "ws";

const EVENT_PREFIX = Buffer.from('42["message:new"');
const ID_KEY = Buffer.from('"client_msg_id":');

// Resolves to {listen(fn), emit(event, body, ack), close()} once the Socket.IO connect
// is accepted. listen(fn) calls fn(client_msg_id) per message:new; ack(reply) gets the
// parsed ack.
export function connectRaw(baseUrl, auth) {
  return new Promise((resolve, reject) => {
    const url = `${baseUrl.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url);
    let live = false;
    let handler = null;
    let nextAck = 0;
    const acks = new Map();
    const client = {
      listen(fn) {
        handler = fn;
      },
      emit(event, body, ack) {
        const id = nextAck++;
        acks.set(id, ack);
        ws.send(`42${id}${JSON.stringify([event, body])}`);
      },
      close: () => ws.close(),
    };
    ws.on("message", (data) => {
      if (live) {
        if (data.length === 1 && data[0] === 0x32) ws.send("3"); // ping -> pong
        else if (data.indexOf(EVENT_PREFIX) === 0) {
          if (handler === null) return;
          // Python's json puts a space after ':', JavaScript's does not.
          let at = data.indexOf(ID_KEY) + ID_KEY.length;
          if (data[at] === 0x20) at += 1;
          handler(data.toString("latin1", at + 1, data.indexOf(0x22, at + 1)));
        } else if (data[0] === 0x34 && data[1] === 0x33) {
          const text = data.toString();
          const bracket = text.indexOf("[");
          const id = Number(text.slice(2, bracket));
          const ack = acks.get(id);
          acks.delete(id);
          if (ack) ack(JSON.parse(text.slice(bracket))[0]);
        }
        return;
      }
      const text = data.toString();
      if (text[0] === "0") ws.send(`40${JSON.stringify(auth)}`); // Engine.IO open
      else if (text.startsWith("40")) {
        live = true;
        resolve(client);
      } else if (text.startsWith("44")) reject(new Error(`connect refused: ${text}`));
      else if (text === "2") ws.send("3");
    });
    ws.once("error", reject);
  });
}

export async function connectMany(count, connect, concurrency = 25) {
  const sockets = [];
  for (let start = 0; start < count; start += concurrency) {
    const batch = Math.min(concurrency, count - start);
    sockets.push(...(await Promise.all(Array.from({ length: batch }, (_, k) => connect(start + k)))));
  }
  return sockets;
}
