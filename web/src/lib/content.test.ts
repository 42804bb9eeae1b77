// Content v1 and its relations against the committed vectors (spec/content-v1-vectors.json),
// the same file the Python tests check: both clients parse and aggregate alike.

import { describe, expect, it } from "vitest";

import vectors from "../../../spec/content-v1-vectors.json";
import { ContentError, edit, parseContent, parsePlaintext, reaction, relationMismatch, reply, text, type Content } from "@/lib/content";
import { RoomTimeline, type TimelineItem } from "@/lib/room-timeline";

type AggregationVector = (typeof vectors.aggregation)[number];

function parseFailure(plaintext: string): string {
  try {
    parsePlaintext(plaintext);
  } catch (error) {
    expect(error).toBeInstanceOf(ContentError);
    return (error as ContentError).reason;
  }
  throw new Error("expected the content to be refused");
}

function asExpected(item: TimelineItem) {
  return {
    id: item.id,
    sender_id: item.senderId,
    text: item.body.kind === "text" ? item.body.text : null,
    edited: item.edited,
    reactions: item.reactions,
    in_reply_to: item.inReplyTo,
  };
}

function feed(vector: AggregationVector, order: string[]): ReturnType<typeof asExpected>[] {
  const timeline = new RoomTimeline();
  const byId = new Map(vector.messages.map((message) => [message.id, message]));
  for (const id of order) {
    const message = byId.get(id)!;
    const event = { id, seq: message.seq, senderId: message.sender_id, clientMsgId: `c-${id}`, time: "" };
    timeline.add(event, { kind: "opened", content: parseContent(message.content) });
  }
  return timeline.list().map(asExpected);
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) => permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]));
}

describe("content v1 vectors", () => {
  it("has vectors of both kinds", () => {
    expect(vectors.content.some((vector) => vector.valid)).toBe(true);
    expect(vectors.content.some((vector) => !vector.valid)).toBe(true);
    expect(vectors.aggregation.length).toBeGreaterThan(0);
  });

  describe.each(vectors.content.map((vector) => [vector.name, vector] as const))("content %s", (_name, vector) => {
    if (vector.valid) {
      it("parses", () => {
        expect(parsePlaintext(vector.plaintext)).toEqual(vector.parsed);
      });
    } else {
      it(`fails with ${vector.error}`, () => {
        expect(parseFailure(vector.plaintext)).toBe(vector.error);
      });
    }
  });

  describe.each(vectors.aggregation.map((vector) => [vector.name, vector] as const))("aggregation %s", (_name, vector) => {
    it("gives the expected items in the given arrival order", () => {
      expect(feed(vector, vector.arrival_order)).toEqual(vector.expected);
    });

    it("gives the same in every other arrival order", () => {
      const ids = vector.messages.map((message) => message.id);
      for (const order of permutations(ids).slice(0, 720)) expect(feed(vector, order)).toEqual(vector.expected);
    });
  });
});

type DeletionVector = (typeof vectors.deletion)[number];
type DeletionMessage = DeletionVector["messages"][number] & {
  content?: unknown;
  deleted?: boolean;
  deletes?: string;
  relates_to?: { type: string; message_id: string } | null;
};

function feedDeletion(vector: DeletionVector, order: string[]) {
  const timeline = new RoomTimeline();
  const byId = new Map((vector.messages as DeletionMessage[]).map((message) => [message.id, message]));
  for (const id of order) {
    const message = byId.get(id)!;
    const event = { id, seq: message.seq, senderId: message.sender_id, clientMsgId: `c-${id}`, time: "" };
    if (message.deletes) timeline.add({ ...event, serverRelation: { type: "delete", message_id: message.deletes } });
    else if (message.deleted) timeline.add({ ...event, deleted: true, serverRelation: message.relates_to ?? null }, { kind: "deleted" });
    else timeline.add(event, { kind: "opened", content: parseContent(message.content) });
  }
  return timeline.list().map((item) => ({ ...asExpected(item), deleted: item.body.kind === "deleted" }));
}

describe("relation and deletion vectors", () => {
  describe.each(vectors.relation_check.map((vector) => [vector.name, vector] as const))("relation check %s", (_name, vector) => {
    it(vector.valid ? "opens" : `is refused with ${vector.error}`, () => {
      const mismatch = relationMismatch(parsePlaintext(vector.plaintext), vector.relates_to);
      expect(mismatch === null ? "valid" : "relation_mismatch").toBe(vector.valid ? "valid" : vector.error);
    });
  });

  describe.each(vectors.deletion.map((vector) => [vector.name, vector] as const))("deletion %s", (_name, vector) => {
    it("gives the expected items in the given arrival order, and in every other", () => {
      expect(feedDeletion(vector, vector.arrival_order)).toEqual(vector.expected);
      const ids = vector.messages.map((message) => message.id);
      for (const order of permutations(ids).slice(0, 720)) expect(feedDeletion(vector, order)).toEqual(vector.expected);
    });
  });
});

describe("content builders", () => {
  it("build what parses back to itself", () => {
    const built: Content[] = [text("hi"), reply("yes", "m-1"), edit("m-1", "fixed"), reaction("m-1", "👍")];
    for (const content of built) expect(parseContent(JSON.parse(JSON.stringify(content)))).toEqual(content);
  });
});
