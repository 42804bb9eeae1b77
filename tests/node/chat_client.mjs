// A line-oriented bridge to the official socket.io-client, driven by the Python tests.
//
//   node chat_client.mjs <server-url> <access-token> [transports, default websocket]
//
// Prints one JSON object per line on stdout:
//   {"type": "connected", "id": ...} | {"type": "connect_error", "message", "data"}
//   {"type": "event", "event": name, "payload": ...}
//   {"type": "ack", "ref": ref, "payload": ...}
// Reads one JSON object per line on stdin: {"ref": any, "emit": event, "data": payload}
// (the ack is printed back with the same ref) or {"close": true}.
import { io } from "socket.io-client";
import { createInterface } from "node:readline";

const [url, token, transports = "websocket"] = process.argv.slice(2);
const print = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const socket = io(url, {
  auth: token === "-" ? undefined : { token },
  transports: transports.split(","),
  upgrade: transports.includes("websocket"),
  reconnection: false,
});

socket.on("connect", () => print({ type: "connected", id: socket.id }));
socket.on("connect_error", (err) => {
  print({ type: "connect_error", message: err.message, data: err.data ?? null });
  process.exit(0);
});
socket.on("disconnect", (reason) => print({ type: "disconnected", reason }));
socket.onAny((event, payload) => print({ type: "event", event, payload }));

const lines = createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  const command = JSON.parse(line);
  if (command.close) {
    socket.close();
    process.exit(0);
  }
  const payload = await socket.timeout(10000).emitWithAck(command.emit, command.data);
  print({ type: "ack", ref: command.ref, payload });
});
