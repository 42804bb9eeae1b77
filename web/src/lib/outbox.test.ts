// The outbox against a fake transport and fake-indexeddb: sends wait out a disconnect,
// failures stay visible until retried with the same id and envelope, and what was pending
// survives a "reload" (a new SDK over the same IndexedDB database).

import { IDBFactory } from "fake-indexeddb";
import { describe, expect, it } from "vitest";

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

  it("shows a send lost with its connection as failed until retried with the same id and envelope", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.client.connect();
    await settle();
    sdk.transport.dropNextSend = true;
    sdk.outbox.send("r", { type: "text", text: "lost" });
    await settle();
    sdk.transport.up(); // reconnected by itself: a failed send is not resent silently
    await settle();
    const [failed] = sdk.outbox.pending("r");
    expect(failed?.state).toBe("failed");
    expect(sdk.server.sends).toHaveLength(1);
    sdk.outbox.retry(failed!.clientMsgId);
    await settle();
    expect(sdk.server.sends).toHaveLength(2);
    expect(sdk.server.sends[1]).toEqual(sdk.server.sends[0]);
    expect(sdk.server.rooms.get("r")!.messages).toHaveLength(1); // stored once
    expect(sdk.outbox.pending("r")).toEqual([]);
  });

  it("survives a reload: pending sends go out with the same id, failed ones stay failed", async () => {
    const indexedDB = new IDBFactory();
    const server = new FakeServer();
    server.addRoom("r");
    const first = fakeSdk(server, IndexedDbOutboxStorage.forUser(ME.id, indexedDB));
    first.client.connect();
    await settle();
    first.transport.dropNextSend = true;
    const failed = first.outbox.send("r", { type: "text", text: "failed before the reload" });
    await settle();
    first.transport.down();
    const waiting = first.outbox.send("r", { type: "text", text: "written offline" });
    await settle();
    expect(first.outbox.pending("r").map((e) => e.state)).toEqual(["failed", "sending"]);
    first.client.close(); // the page goes away

    const second = fakeSdk(server, IndexedDbOutboxStorage.forUser(ME.id, indexedDB));
    await second.outbox.load();
    const reloaded = second.outbox.pending("r");
    expect(reloaded.map((e) => [e.clientMsgId, e.state])).toEqual([
      [failed.clientMsgId, "failed"],
      [waiting.clientMsgId, "sending"],
    ]);
    const room = second.room("r");
    second.client.connect();
    await settle();
    expect(server.sends.map((send) => send.client_msg_id)).toEqual([failed.clientMsgId, waiting.clientMsgId]);
    expect(second.outbox.pending("r").map((e) => [e.clientMsgId, e.state])).toEqual([[failed.clientMsgId, "failed"]]);
    expect(room.snapshot().pending).toHaveLength(1); // still visible, with its Retry

    second.outbox.retry(failed.clientMsgId);
    await settle();
    expect(server.sends.at(-1)).toEqual(server.sends[0]); // the envelope sealed before the reload
    const third = fakeSdk(server, IndexedDbOutboxStorage.forUser(ME.id, indexedDB));
    await third.outbox.load();
    expect(third.outbox.pending("r")).toEqual([]);
  });
});
