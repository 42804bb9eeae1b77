// The sync core against a fake transport: each message once, in seq order, whatever the
// arrival order; after a reconnect exactly what was missed; one newest-seq per room.

import { describe, expect, it } from "vitest";

import { fakeSdk, settle } from "@/testing/fakes";
import type { Message } from "@/lib/types";

function collect(sdk: ReturnType<typeof fakeSdk>): Message[] {
  const seen: Message[] = [];
  sdk.client.events.on("messages", (messages) => seen.push(...messages));
  return seen;
}

describe("ChatClient", () => {
  it("releases live messages once each, in seq order, syncing over a gap", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    const seen = collect(sdk);
    sdk.client.connect();
    await settle();
    const [m1, m2, m3] = [sdk.server.post("r", "one"), sdk.server.post("r", "two"), sdk.server.post("r", "three")];
    sdk.transport.push("message:new", m3!); // a gap: held, and a sync fills it
    sdk.transport.push("message:new", m1!);
    await settle();
    sdk.transport.push("message:new", m2!); // a duplicate by now
    await settle();
    expect(seen.map((message) => message.seq)).toEqual([1, 2, 3]);
    expect(sdk.client.newestSeq("r")).toBe(3);
  });

  it("resumes after a reconnect with exactly what was missed, paging through has_more", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.server.post("r", "before");
    const seen = collect(sdk);
    const resumed: boolean[] = [];
    sdk.client.events.on("resumed", ({ reconnect }) => resumed.push(reconnect));
    sdk.client.connect();
    await settle();
    expect(seen).toEqual([]); // history is not "missed"
    expect(sdk.client.connection).toBe("connected");

    sdk.transport.down();
    expect(sdk.client.connection).toBe("reconnecting");
    for (let i = 0; i < 5; i += 1) sdk.server.post("r", `away ${i}`);
    sdk.transport.syncLimit = 2;
    sdk.transport.up();
    await settle();
    expect(seen.map((message) => message.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(resumed).toEqual([false, true]);
    expect(sdk.client.connection).toBe("connected");
  });

  it("drops rooms I was removed from while away", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("a");
    sdk.server.addRoom("b");
    const gone: string[] = [];
    sdk.client.events.on("room:gone", (roomId) => gone.push(roomId));
    sdk.client.connect();
    await settle();
    sdk.transport.down();
    sdk.server.rooms.delete("b");
    sdk.transport.up();
    await settle();
    expect(gone).toEqual(["b"]);
    expect(sdk.client.newestSeq("b")).toBeUndefined();
  });
});
