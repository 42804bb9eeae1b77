// The SDK's conversation folding over the fake server: edits, reactions taken back, deletes
// (of a message, of an edit, of a reaction), relations checked against the server's
// relates_to, and unread counts that skip edits and reactions and follow read:updated.

import { describe, expect, it } from "vitest";

import { edit, reaction, reply } from "@/lib/content";
import { ReadMarkers } from "@/lib/read-markers";
import { RoomList } from "@/lib/room-list";
import { RoomTimeline } from "@/lib/room-timeline";
import { fakeSdk, ME, OTHER, settle } from "@/testing/fakes";

async function openRoom() {
  const sdk = fakeSdk();
  sdk.server.addRoom("r");
  sdk.client.connect();
  await settle();
  const room = sdk.room("r");
  await room.load();
  await settle();
  const item = (id: string) => room.snapshot().items.find((candidate) => candidate.id === id);
  return { sdk, room, item };
}

describe("conversation folding", () => {
  it("shows the latest edit marked edited, and the one before when that edit is deleted", async () => {
    const { sdk, room, item } = await openRoom();
    room.sendText("helo");
    await settle();
    const [original] = room.snapshot().items;
    room.edit(original!.id, "hello");
    room.edit(original!.id, "hello!");
    await settle();
    expect(item(original!.id)?.body).toEqual({ kind: "text", text: "hello!" });
    expect(item(original!.id)?.edited).toBe(true);
    expect(room.snapshot().items).toHaveLength(1); // edits are not items
    expect(sdk.server.sends.slice(1).map((send) => (send as { relates_to?: unknown }).relates_to)).toEqual([
      { type: "edit", message_id: original!.id },
      { type: "edit", message_id: original!.id },
    ]);
    await room.deleteMessage("r-m3"); // the second edit
    await settle();
    expect(item(original!.id)?.body).toEqual({ kind: "text", text: "hello" });
  });

  it("counts reactions per key with who reacted, and takes mine back by deleting it", async () => {
    const { sdk, room, item } = await openRoom();
    const target = sdk.server.post("r", "react to me");
    sdk.transport.push("message:new", target);
    sdk.transport.push("message:new", sdk.server.post("r", reaction(target.id, "👍")));
    await settle();
    room.react(target.id, "👍");
    room.react(target.id, "🎉");
    await settle();
    expect(item(target.id)?.reactions).toEqual({ "👍": [ME.id, OTHER.id].sort(), "🎉": [ME.id] });
    await room.unreact(target.id, "👍");
    await settle();
    expect(item(target.id)?.reactions).toEqual({ "👍": [OTHER.id], "🎉": [ME.id] });
  });

  it("turns a deleted message into a marker: no text, no reactions", async () => {
    const { sdk, room, item } = await openRoom();
    const target = sdk.server.post("r", "regret");
    sdk.transport.push("message:new", target);
    sdk.transport.push("message:new", sdk.server.post("r", reaction(target.id, "😮"), ME));
    room.reply("what?", target.id);
    await settle();
    const replyItem = room.snapshot().items.at(-1)!;
    expect(replyItem.inReplyTo).toBe(target.id);
    sdk.transport.push("message:new", sdk.server.deleteMessage("r", target.id, OTHER));
    await settle();
    expect(item(target.id)?.body).toEqual({ kind: "deleted" });
    expect(item(target.id)?.reactions).toEqual({});
    // A reader who comes later gets it deleted from history: the same result.
    const later = sdk.room("r");
    await later.load();
    await settle();
    expect(later.snapshot().items.map((i) => i.body.kind)).toEqual(["deleted", "text"]);
  });

  it("holds a delete whose target comes later, and refuses a relation the server rewrote", () => {
    const timeline = new RoomTimeline();
    timeline.add({ id: "d", seq: 5, senderId: "u", clientMsgId: "cd", time: "", serverRelation: { type: "delete", message_id: "m1" } });
    timeline.add({ id: "m1", seq: 1, senderId: "u", clientMsgId: "c1", time: "" }, { kind: "opened", content: { type: "text", text: "x" } });
    expect(timeline.list().map((i) => i.body)).toEqual([{ kind: "deleted" }]);
  });

  it("opens a message only when its sealed relation is the server's relates_to", async () => {
    const { sdk, room } = await openRoom();
    const target = sdk.server.post("r", "target");
    const rewritten = sdk.server.post("r", reply("a reply", target.id));
    rewritten.relates_to = { type: "edit", message_id: target.id }; // the server lies
    sdk.transport.push("message:new", target);
    sdk.transport.push("message:new", rewritten);
    await settle();
    expect(room.snapshot().items.at(-1)?.body).toMatchObject({ kind: "undecryptable", reason: "relation_mismatch" });
    const edited = sdk.server.post("r", edit(target.id, "sneaky"));
    edited.relates_to = null; // a relation hidden from the server's view
    sdk.transport.push("message:new", edited);
    await settle();
    expect(room.snapshot().items.map((i) => i.body.kind)).toEqual(["text", "undecryptable", "undecryptable"]);
  });
});

describe("unread", () => {
  it("counts others' messages and replies, not edits, reactions or deletes; clears on read:updated", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("a");
    const list = new RoomList(sdk.api, sdk.client, new ReadMarkers(`${ME.id}-unread`), ME);
    sdk.client.connect();
    await settle();
    const first = sdk.server.post("a", "news");
    sdk.transport.push("message:new", first);
    sdk.transport.push("message:new", sdk.server.post("a", reply("more news", first.id)));
    sdk.transport.push("message:new", sdk.server.post("a", edit(first.id, "news!")));
    sdk.transport.push("message:new", sdk.server.post("a", reaction(first.id, "👍")));
    sdk.transport.push("message:new", sdk.server.deleteMessage("a", first.id, OTHER));
    await settle();
    expect(list.snapshot().unread).toEqual({ a: 2 });
    sdk.transport.push("read:updated", { room_id: "a", seq: sdk.client.newestSeq("a")! });
    await settle();
    expect(list.snapshot().unread).toEqual({ a: 0 });
  });

  it("takes the server's count and marker, and does not count again what sync then brings", async () => {
    const sdk = fakeSdk();
    const room = sdk.server.addRoom("a");
    sdk.server.post("a", "one");
    sdk.server.post("a", "two");
    Object.assign(room, { last_read_seq: 1, unread: 1 });
    const markers = new ReadMarkers(`${ME.id}-server`);
    const list = new RoomList(sdk.api, sdk.client, markers, ME);
    sdk.client.connect();
    await settle();
    expect(list.snapshot().unread).toEqual({ a: 1 });
    expect(markers.get("a")).toBe(1);
    sdk.transport.push("message:new", sdk.server.post("a", "three"));
    await settle();
    expect(list.snapshot().unread).toEqual({ a: 2 });
  });
});
