// The room view model over the SDK (fake transport): history and live messages merged by
// seq, sends in order with retries, and incremental projection: unchanged messages keep
// their identity, so React.memo skips them.

import { describe, expect, it } from "vitest";

import { RoomViewStore } from "@/features/room/stores/room-view-store";
import { reaction } from "@/lib/content";
import { ApiError } from "@/lib/errors";
import { fakeSdk, ME, OTHER, settle } from "@/testing/fakes";

async function openRoom(history: string[] = []) {
  const sdk = fakeSdk();
  sdk.server.addRoom("r");
  for (const text of history) sdk.server.post("r", text);
  sdk.client.connect();
  await settle();
  const room = sdk.room("r");
  const view = new RoomViewStore(room, ME);
  await room.load();
  await settle();
  const texts = () => view.store.get().items.map((item) => (item.body.kind === "text" ? item.body.text : item.body.kind));
  return { sdk, room, view, texts };
}

describe("RoomViewStore", () => {
  it("shows history then live messages once each, in seq order", async () => {
    const { sdk, texts } = await openRoom(["one", "two"]);
    const [three, four] = [sdk.server.post("r", "three"), sdk.server.post("r", "four")];
    sdk.transport.push("message:new", four);
    sdk.transport.push("message:new", three);
    await settle();
    expect(texts()).toEqual(["one", "two", "three", "four"]);
  });

  it("sends in the order written; a send shows sending, then sent", async () => {
    const { view, sdk, texts } = await openRoom();
    view.send("first");
    view.send("second");
    expect(view.store.get().items).toEqual([]); // announced on the next microtask
    await Promise.resolve();
    await Promise.resolve();
    expect(view.store.get().items.map((item) => item.delivery)).toEqual(["sending", "sending"]);
    await settle();
    expect(sdk.server.sends.map((send) => JSON.parse((send.envelope as { ct: string }).ct).text)).toEqual(["first", "second"]);
    expect(texts()).toEqual(["first", "second"]);
    expect(view.store.get().items.map((item) => [item.delivery, item.seq])).toEqual([
      ["sent", 1],
      ["sent", 2],
    ]);
  });

  it("shows a send lost with its connection as waiting, then resends it (same id and envelope) on reconnect", async () => {
    const { view, sdk, room } = await openRoom();
    sdk.transport.dropNextSend = true;
    view.send("try me");
    await settle();
    const [waiting] = view.store.get().items;
    expect(waiting?.delivery).toBe("waiting");
    expect(waiting?.sendError).toBeNull();
    expect(room.snapshot().connected).toBe(false);
    sdk.transport.up();
    await settle();
    expect(sdk.server.sends).toHaveLength(2);
    expect(sdk.server.sends[1]).toEqual(sdk.server.sends[0]);
    expect(view.store.get().items.map((item) => [item.delivery, item.seq, item.key])).toEqual([["sent", 1, waiting!.key]]);
  });

  it("retries a refused send with the same client message id and envelope, keeping its key", async () => {
    const { view, sdk } = await openRoom();
    sdk.transport.failNextSend = new ApiError("invalid_input", "refused once");
    view.send("try me");
    await settle();
    const [failed] = view.store.get().items;
    expect(failed?.delivery).toBe("failed");
    expect(failed?.sendError).toBe("refused once");
    view.retry(failed!.clientMsgId);
    await settle();
    expect(view.store.get().items.map((item) => [item.delivery, item.seq, item.key])).toEqual([["sent", 1, failed!.key]]);
  });

  it("turns a send lost on its way into sent when sync shows it was stored", async () => {
    const { view, sdk } = await openRoom();
    sdk.transport.dropNextSend = true;
    view.send("stored after all");
    await settle();
    const [failed] = view.store.get().items;
    // The server had stored it; the reconnect's sync brings it.
    const sent = sdk.server.sends[0]!;
    sdk.server.send(sent);
    sdk.transport.up();
    await settle();
    expect(view.store.get().items.map((item) => [item.delivery, item.seq, item.key])).toEqual([["sent", 1, failed!.key]]);
    expect(sdk.outbox.pending("r")).toEqual([]);
  });

  it("keeps the identity of unchanged messages: a new message or a reaction re-makes only what changed", async () => {
    const { view, sdk } = await openRoom(["one", "two", "three"]);
    const before = view.store.get().items;
    expect(before).toHaveLength(3);

    sdk.transport.push("message:new", sdk.server.post("r", "four"));
    await settle();
    const after = view.store.get().items;
    expect(after).toHaveLength(4);
    before.forEach((item, index) => expect(after[index]).toBe(item));

    sdk.transport.push("message:new", sdk.server.post("r", reaction(before[1]!.messageId!, "👍"), ME));
    await settle();
    const reacted = view.store.get().items;
    expect(reacted[0]).toBe(before[0]);
    expect(reacted[1]).not.toBe(before[1]);
    expect(reacted[2]).toBe(before[2]);
    expect(reacted[3]).toBe(after[3]);

    // An unrelated change (someone typing) keeps the very same item list.
    sdk.transport.push("typing", { room_id: "r", user_id: OTHER.id, username: OTHER.username, typing: true });
    await settle();
    expect(view.store.get().items).toBe(reacted);
    expect(view.store.get().typing).toEqual(["other"]);
  });

  it("shows a message that cannot be opened as such", async () => {
    const { view, sdk } = await openRoom();
    const message = sdk.server.post("r", "x");
    message.envelope = { ...(message.envelope as object), ct: "tampered" };
    sdk.transport.push("message:new", message);
    await settle();
    expect(view.store.get().items[0]?.body).toMatchObject({ kind: "undecryptable", reason: "authentication_failed" });
  });

  it("loads a room whose load failed again by itself when the connection comes back", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.server.post("r", "held");
    sdk.client.connect();
    await settle();
    const room = sdk.room("r");
    const view = new RoomViewStore(room, ME, sdk.client);
    const history = sdk.api.get;
    sdk.api.get = async () => {
      throw new ApiError("unavailable", "the server is unreachable");
    };
    await room.load();
    await settle();
    expect(view.store.get()).toMatchObject({ status: "error", items: [] });

    sdk.api.get = history;
    sdk.transport.down();
    sdk.transport.up();
    await settle();

    expect(view.store.get().status).toBe("ready");
    expect(view.store.get().items.map((item) => item.body)).toEqual([{ kind: "text", text: "held" }]);
    view.dispose();
  });
});
