// The outbox against a fake transport and fake-indexeddb: sends wait out a disconnect (also
// one that drops a send on its way) and go out once, in order; refusals stay visible until
// retried with the same id and envelope; what was pending survives a "reload" (a new SDK
// over the same IndexedDB database).

import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";

import { ApiError } from "@/lib/errors";
import { IndexedDbOutboxStorage } from "@/lib/outbox";
import { fakeSdk, FakeServer, ME, settle } from "@/testing/fakes";

describe("Outbox", () => {
  it("keeps a send written while disconnected and sends it after the connect", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    const entry = sdk.outbox.send("r", { type: "text", text: "offline" });
    await settle();
    expect(sdk.outbox.pending("r").map((e) => e.state)).toEqual(["sending"]);
    expect(sdk.server.sends).toEqual([]);
    sdk.client.connect();
    await settle();
    expect(sdk.server.sends.map((send) => send.client_msg_id)).toEqual([entry.clientMsgId]);
    expect(sdk.outbox.pending("r")).toEqual([]);
  });

  it("sends a file content's blob id as its attachment, and nothing extra for a text", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.client.connect();
    await settle();
    const key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    sdk.outbox.send("r", { type: "file", name: "a.png", media_type: "image/png", size: 1, blob_id: "b-1", key, sha256: "0".repeat(64) });
    sdk.outbox.send("r", { type: "text", text: "hi" });
    await settle();
    expect(sdk.server.sends.map((send) => send.attachments)).toEqual([["b-1"], undefined]);
  });

  it("resends a send lost with its connection after the reconnect, with the same id and envelope, once", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.client.connect();
    await settle();
    sdk.transport.dropNextSend = true;
    sdk.outbox.send("r", { type: "text", text: "lost" });
    await settle();
    // Not a failure of the message: it waits for the connection.
    expect(sdk.outbox.pending("r").map((e) => [e.state, e.error])).toEqual([["sending", null]]);
    expect(sdk.outbox.unsent()).toBe(1);
    sdk.transport.up();
    await settle();
    expect(sdk.server.sends).toHaveLength(2);
    expect(sdk.server.sends[1]).toEqual(sdk.server.sends[0]);
    expect(sdk.server.rooms.get("r")!.messages).toHaveLength(1); // stored once
    expect(sdk.outbox.pending("r")).toEqual([]);
    expect(sdk.outbox.unsent()).toBe(0);
  });

  it("sends what was written offline after the connect, once each, in the order written", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.client.connect();
    await settle();
    sdk.transport.down();
    for (const text of ["one", "two", "three"]) sdk.outbox.send("r", { type: "text", text });
    await settle();
    expect(sdk.server.sends).toEqual([]);
    sdk.transport.up();
    await settle();
    const texts = sdk.server.rooms.get("r")!.messages.map((m) => JSON.parse((m.envelope as { ct: string }).ct).text);
    expect(texts).toEqual(["one", "two", "three"]);
    expect(sdk.server.sends).toHaveLength(3);
  });

  it("keeps a passing failure visible, later sends waiting behind it, and tries again on the next connect", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.client.connect();
    await settle();
    sdk.transport.failNextSend = new ApiError("kms_unavailable", "the key service is unreachable");
    sdk.outbox.send("r", { type: "text", text: "first" });
    sdk.outbox.send("r", { type: "text", text: "second" });
    await settle();
    expect(sdk.outbox.pending("r").map((e) => [e.state, e.transient ?? false])).toEqual([
      ["failed", true],
      ["sending", false],
    ]);
    expect(sdk.server.rooms.get("r")!.messages).toHaveLength(0); // "second" did not overtake
    sdk.transport.down();
    sdk.transport.up();
    await settle();
    const texts = sdk.server.rooms.get("r")!.messages.map((m) => JSON.parse((m.envelope as { ct: string }).ct).text);
    expect(texts).toEqual(["first", "second"]);
    expect(sdk.outbox.pending("r")).toEqual([]);
  });

  it("keeps a refused send failed until retried; the room's later sends go on", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.client.connect();
    await settle();
    sdk.transport.failNextSend = new ApiError("forbidden", "you are not a member of this room");
    const refused = sdk.outbox.send("r", { type: "text", text: "refused" });
    sdk.outbox.send("r", { type: "text", text: "next" });
    await settle();
    expect(sdk.outbox.pending("r").map((e) => [e.clientMsgId, e.state, e.error])).toEqual([
      [refused.clientMsgId, "failed", "you are not a member of this room"],
    ]);
    sdk.transport.down();
    sdk.transport.up();
    await settle();
    expect(sdk.outbox.pending("r").map((e) => e.state)).toEqual(["failed"]); // not resent by itself
    sdk.outbox.retry(refused.clientMsgId);
    await settle();
    expect(sdk.outbox.pending("r")).toEqual([]);
  });

  it("survives a reload: what waited goes out with the same id and envelope, a refused send stays failed", async () => {
    const indexedDB = new IDBFactory();
    const server = new FakeServer();
    server.addRoom("r");
    const first = fakeSdk(server, IndexedDbOutboxStorage.forUser(ME.id, indexedDB));
    first.client.connect();
    await settle();
    first.transport.failNextSend = new ApiError("invalid_input", "refused");
    const failed = first.outbox.send("r", { type: "text", text: "refused before the reload" });
    await settle();
    first.transport.dropNextSend = true;
    const lost = first.outbox.send("r", { type: "text", text: "lost with the connection" });
    await settle();
    const waiting = first.outbox.send("r", { type: "text", text: "written offline" });
    await settle();
    expect(first.outbox.pending("r").map((e) => e.state)).toEqual(["failed", "sending", "sending"]);
    first.client.close(); // the page goes away

    const second = fakeSdk(server, IndexedDbOutboxStorage.forUser(ME.id, indexedDB));
    await second.outbox.load();
    const reloaded = second.outbox.pending("r");
    expect(reloaded.map((e) => [e.clientMsgId, e.state])).toEqual([
      [failed.clientMsgId, "failed"],
      [lost.clientMsgId, "sending"],
      [waiting.clientMsgId, "sending"],
    ]);
    const room = second.room("r");
    second.client.connect();
    await settle();
    expect(server.sends.map((send) => send.client_msg_id)).toEqual([lost.clientMsgId, lost.clientMsgId, waiting.clientMsgId]);
    expect(server.sends[1]).toEqual(server.sends[0]); // the envelope sealed before the reload
    expect(server.rooms.get("r")!.messages).toHaveLength(2);
    expect(second.outbox.pending("r").map((e) => [e.clientMsgId, e.state])).toEqual([[failed.clientMsgId, "failed"]]);
    expect(room.snapshot().pending).toHaveLength(1); // still visible, with its Retry

    second.outbox.retry(failed.clientMsgId);
    await settle();
    const third = fakeSdk(server, IndexedDbOutboxStorage.forUser(ME.id, indexedDB));
    await third.outbox.load();
    expect(third.outbox.pending("r")).toEqual([]);
  });
});
