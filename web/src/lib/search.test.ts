// Client-side search over sealed history: normalization, depth, edits, file names, progress,
// cancel, and one key-service unwrap per data key (a real Sealer over a fake key service).

import { describe, expect, it } from "vitest";

import { ClientKeyring } from "@/lib/client-keyring";
import type { WireContent } from "@/lib/content";
import { normalize, searchRoom, searchRooms, sealedSource, type SearchSource } from "@/lib/search";
import { Sealer } from "@/lib/sealer";
import type { Message, ServerRelation } from "@/lib/types";
import { FakeKeyService } from "@/testing/fakes";

const ROOM = "room-1";
const ALICE = "u-alice";

/** A room's sealed history, as the server would page it. */
async function sealedHistory(contents: WireContent[]) {
  const service = new FakeKeyService();
  const sender = new Sealer(new ClientKeyring(service, "kid"), ALICE);
  const messages: Message[] = [];
  for (const [index, content] of contents.entries()) {
    const clientMsgId = `c${index}`;
    const envelope = await sender.seal(ROOM, content, clientMsgId);
    // The server delivers a relation beside the envelope, as the sealed content names it.
    const relatesTo = "relates_to" in content ? (content.relates_to as ServerRelation | undefined) : undefined;
    messages.push({
      id: `m${index + 1}`,
      room_id: ROOM,
      seq: index + 1,
      sender_id: ALICE,
      client_msg_id: clientMsgId,
      envelope,
      created_at: "2026-01-01T00:00:00Z",
      ...(relatesTo ? { relates_to: relatesTo } : {}),
    });
  }
  const reader = new FakeKeyService();
  (reader as unknown as { keys: unknown }).keys = (service as unknown as { keys: unknown }).keys;
  const pages: number[] = [];
  const history = async (roomId: string, beforeSeq: number | null, limit: number) => {
    pages.push(limit);
    const older = messages.filter((m) => m.room_id === roomId && (beforeSeq === null || m.seq < beforeSeq));
    return older.slice(Math.max(0, older.length - limit));
  };
  const source = sealedSource(history, new Sealer(new ClientKeyring(reader, "kid"), "u-bob"));
  return { source, reader, pages, generated: () => service.generated };
}

const text = (body: string): WireContent => ({ type: "text", text: body });

describe("normalize", () => {
  it("ignores case and accents", () => {
    expect(normalize("Crème BRÛLÉE")).toBe("creme brulee");
    expect(normalize("Straße")).toBe("strasse");
    expect(normalize("ｆｕｌｌ")).toBe("full");
  });
});

describe("searchRoom", () => {
  it("finds a message 500 back with context, unwrapping each data key once", async () => {
    const contents = Array.from({ length: 520 }, (_, i) => text(`filler ${i}`));
    contents[19] = text("Meet at the Café Crème at noon");
    const { source, reader, generated } = await sealedHistory(contents);
    const seen: number[] = [];
    const hits = await searchRoom(source, ROOM, "cafe CREME", { depth: 600, onProgress: (_, n) => seen.push(n) });
    expect(hits.map((h) => h.item.id)).toEqual(["m20"]);
    expect(hits[0]?.before.map((i) => i.id)).toEqual(["m19"]);
    expect(hits[0]?.after.map((i) => i.id)).toEqual(["m21"]);
    expect(seen).toEqual([200, 400, 520]);
    // 520 messages sealed under ceil(520 / 100) data keys: one unwrap each.
    expect(generated()).toBe(6);
    expect(reader.decrypted).toBe(6);
  });

  it("stops at the depth", async () => {
    const contents = Array.from({ length: 300 }, (_, i) => text(i === 0 ? "needle" : "hay"));
    const { source } = await sealedHistory(contents);
    expect(await searchRoom(source, ROOM, "needle", { depth: 250 })).toEqual([]);
    expect((await searchRoom(source, ROOM, "needle", { depth: 300 })).length).toBe(1);
  });

  it("searches the latest text of an edited message, and file names", async () => {
    const file = { type: "file", name: "Résumé-2026.pdf", media_type: "application/pdf", size: 1, blob_id: "b1", key: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", sha256: "0".repeat(64) };
    const { source } = await sealedHistory([
      text("old wording"),
      { type: "text", text: "new wording", relates_to: { type: "edit", message_id: "m1" } },
      file,
    ]);
    expect((await searchRoom(source, ROOM, "old")).length).toBe(0);
    expect((await searchRoom(source, ROOM, "new")).map((h) => h.item.id)).toEqual(["m1"]);
    expect((await searchRoom(source, ROOM, "resume")).map((h) => h.item.id)).toEqual(["m3"]);
    expect(await searchRoom(source, ROOM, "   ")).toEqual([]);
  });

  it("can be cancelled", async () => {
    const { source } = await sealedHistory([text("a"), text("b")]);
    const controller = new AbortController();
    const slow: SearchSource = {
      history: source.history,
      open: async (message) => {
        controller.abort();
        return source.open(message);
      },
    };
    await expect(searchRooms(slow, [ROOM, ROOM], "a", { signal: controller.signal })).rejects.toMatchObject({ name: "AbortError" });
  });
});
