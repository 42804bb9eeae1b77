// The room list against a fake transport: unread counts from the one newest-seq record and
// the read markers, the room being viewed counted as read, rooms lost while away dropped.

import { describe, expect, it } from "vitest";

import { ReadMarkers } from "@/lib/read-markers";
import { RoomList } from "@/lib/room-list";
import { fakeSdk, ME, settle } from "@/testing/fakes";

async function setup() {
  const sdk = fakeSdk();
  sdk.server.addRoom("a");
  sdk.server.addRoom("b");
  const markers = new ReadMarkers(ME.id);
  const list = new RoomList(sdk.api, sdk.client, markers, ME);
  sdk.client.connect();
  await settle();
  return { sdk, list, markers };
}

describe("RoomList", () => {
  it("counts others' messages in rooms not viewed; viewing reads them", async () => {
    const { sdk, list, markers } = await setup();
    list.viewing("a");
    sdk.transport.push("message:new", sdk.server.post("a", "seen"));
    sdk.transport.push("message:new", sdk.server.post("b", "unseen 1"));
    sdk.transport.push("message:new", sdk.server.post("b", "unseen 2"));
    await settle();
    expect(list.snapshot().unread).toEqual({ a: 0, b: 2 });
    // The marker moves when the view has seen the end (markRead), not merely by opening.
    expect(markers.get("a")).toBe(0);
    list.markRead("a", 1);
    expect(markers.get("a")).toBe(1);

    list.viewing("b");
    expect(list.snapshot().unread).toEqual({ a: 0, b: 0 });
    list.markRead("b", sdk.client.newestSeq("b")!);
    expect(markers.get("b")).toBe(sdk.client.newestSeq("b"));
  });

  it("counts what arrived while away after a reconnect, and drops rooms lost meanwhile", async () => {
    const { sdk, list } = await setup();
    sdk.transport.down();
    sdk.server.post("a", "while away");
    sdk.server.rooms.delete("b");
    sdk.transport.up();
    await settle();
    expect(list.snapshot().rooms.map((room) => room.id)).toEqual(["a"]);
    expect(list.snapshot().unread).toEqual({ a: 1 });
  });
});
