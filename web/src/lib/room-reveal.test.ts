// Room.reveal (a search hit far back: older pages until it is held) and the session's search
// source, which opens through the rooms' own keyring: one unwrap per data key, also while
// searching what the room has already opened.

import { describe, expect, it } from "vitest";

import type { ApiClient } from "@/lib/api-client";
import { ChatSession } from "@/lib/chat-session";
import { ClientKeyring } from "@/lib/client-keyring";
import { MemoryOutboxStorage } from "@/lib/outbox";
import { searchRoom } from "@/lib/search";
import { Sealer } from "@/lib/sealer";
import { FakeKeyService, FakeServer, FakeTransport, fakeApi, fakeSdk, ME, OTHER, settle } from "@/testing/fakes";

describe("Room.reveal", () => {
  it("loads older pages until the message is held, concurrent scroll loads included", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    for (let i = 1; i <= 230; i++) sdk.server.post("r", `m${i}`);
    sdk.client.connect();
    await settle();
    const room = sdk.room("r");
    void room.load(); // still loading: reveal waits for the first page
    const scrolling = room.loadOlder();
    expect(await room.reveal(7)).toBe(true);
    await scrolling;
    const items = room.snapshot().items;
    expect(items[0]!.seq).toBeLessThanOrEqual(7);
    expect(items.some((item) => item.seq === 7)).toBe(true);
    expect(new Set(items.map((item) => item.id)).size).toBe(items.length); // no duplicates
    expect(await room.reveal(1)).toBe(true);
    expect(room.snapshot().hasOlder).toBe(false);
    expect(await room.reveal(0)).toBe(false); // before the beginning: not there
  });
});

describe("ChatSession.searchSource", () => {
  it("opens with the rooms' keyring: no unwrap again for keys the room already used", async () => {
    const server = new FakeServer();
    server.addRoom("r");
    const keys = new FakeKeyService();
    const other = new Sealer(new ClientKeyring(keys, "kid"), OTHER.id);
    for (let i = 1; i <= 40; i++) {
      const message = server.post("r", `note ${i}`);
      message.envelope = await other.seal("r", { type: "text", text: i === 3 ? "the Élan report" : `note ${i}` }, message.client_msg_id);
    }
    const config = { version: "test", kms_url: "/kms", kms_key_id: "kid", kms_audience: "sealchat-kms", max_envelope_bytes: 65536 };
    const api = { ...fakeApi(server), baseUrl: "https://chat.example", auth: { user: ME }, publicGet: async () => config } as unknown as ApiClient;
    const session = await ChatSession.start(api, { keyService: () => keys, transport: new FakeTransport(server), outboxStorage: new MemoryOutboxStorage() });
    await settle();
    const room = session.room("r");
    await settle();
    expect(room.snapshot().items).toHaveLength(40);
    const unwraps = keys.decrypted;
    expect(unwraps).toBe(1); // one data key for the 40 messages
    const hits = await searchRoom(session.searchSource(), "r", "elan", { depth: 1000 });
    expect(hits.map((hit) => hit.item.seq)).toEqual([3]);
    expect(keys.decrypted).toBe(unwraps);
    session.dispose();
  });
});
