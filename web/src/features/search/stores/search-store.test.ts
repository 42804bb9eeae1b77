// The search view model: rows with context and marked matches, progress over rooms x depth,
// cancel, and highlight ranges that survive case and accent folding.

import { describe, expect, it } from "vitest";

import { findMatches, markMatches, SearchStore } from "@/features/search/stores/search-store";
import type { WireContent } from "@/lib/content";
import { fakeSealer } from "@/testing/fakes";
import { sealedSource } from "@/lib/search";
import type { Message } from "@/lib/types";
import { fakeEnvelope } from "@/testing/fakes";

function history(rooms: Record<string, string[]>) {
  const messages = new Map<string, Message[]>();
  for (const [roomId, texts] of Object.entries(rooms)) {
    messages.set(
      roomId,
      texts.map((text, index) => ({
        id: `${roomId}-m${index + 1}`,
        room_id: roomId,
        seq: index + 1,
        sender_id: index % 2 ? "u-bob" : "u-alice",
        client_msg_id: `c${index}`,
        envelope: fakeEnvelope({ type: "text", text } as WireContent),
        created_at: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
      })),
    );
  }
  let gate: Promise<void> | null = null;
  const source = sealedSource(async (roomId, beforeSeq, limit) => {
    // The second page waits at the gate, if one is set.
    if (gate && beforeSeq !== null) await gate;
    const older = (messages.get(roomId) ?? []).filter((m) => beforeSeq === null || m.seq < beforeSeq);
    return older.slice(Math.max(0, older.length - limit));
  }, fakeSealer);
  return { source, hold: (promise: Promise<void>) => (gate = promise) };
}

const names = async () =>
  new Map([
    ["u-alice", "alice"],
    ["u-bob", "bob"],
  ]);

describe("SearchStore", () => {
  it("finds across rooms, newest first, with context and the match marked", async () => {
    const { source } = history({ a: ["hello", "the Café opens", "bye"], b: ["cafe later?", "ok"] });
    const search = new SearchStore({ source, names, roomTitle: (id) => `#${id}` });
    await search.search("CAFE", ["a", "b"], 1000);
    const state = search.store.get();
    expect(state.status).toBe("done");
    expect(state.roomsDone).toBe(2);
    expect(state.rows.map((row) => [row.roomTitle, row.messageId, row.senderName])).toEqual([
      ["#a", "a-m2", "bob"],
      ["#b", "b-m1", "alice"],
    ]);
    const [first] = state.rows;
    expect(first!.parts).toEqual([
      { text: "the ", match: false },
      { text: "Café", match: true },
      { text: " opens", match: false },
    ]);
    expect(first!.before).toEqual([{ senderName: "alice", text: "hello" }]);
    expect(first!.after).toEqual([{ senderName: "alice", text: "bye" }]);
  });

  it("reports progress and stops when cancelled, keeping what it found", async () => {
    const texts = Array.from({ length: 450 }, (_, i) => `message ${i}`);
    const { source, hold } = history({ a: texts });
    const search = new SearchStore({ source, names, roomTitle: () => "a" });
    const seen: number[] = [];
    search.store.subscribe(() => seen.push(search.store.get().opened));
    let release!: () => void;
    hold(new Promise<void>((resolve) => (release = resolve)));
    const running = search.search("message", ["a"], 1000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(search.store.get()).toMatchObject({ status: "searching", most: 1000 });
    expect(Math.max(...seen)).toBe(200); // the first page opened, the second held
    search.cancel();
    release();
    await running;
    expect(search.store.get().status).toBe("cancelled");
  });

  it("an empty query searches nothing", async () => {
    const { source } = history({ a: ["x"] });
    const search = new SearchStore({ source, names, roomTitle: () => "a" });
    await search.search("   ", ["a"], 200);
    expect(search.store.get()).toMatchObject({ status: "idle", rows: [] });
  });
});

describe("findMatches / markMatches", () => {
  it("maps folded matches back to the original text", () => {
    const text = "Straße und ÉLAN, élan";
    expect(findMatches(text, ["strasse"])).toEqual([{ start: 0, end: 6 }]);
    expect(markMatches(text, ["elan"]).filter((part) => part.match).map((part) => part.text)).toEqual(["ÉLAN", "élan"]);
  });

  it("merges overlapping words and keeps text without matches whole", () => {
    expect(findMatches("abcdef", ["abc", "cde"])).toEqual([{ start: 0, end: 5 }]);
    expect(markMatches("nothing here", ["zzz"])).toEqual([{ text: "nothing here", match: false }]);
  });
});
