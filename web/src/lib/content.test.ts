// Content v1 and its relations against the committed vectors (spec/content-v1-vectors.json),
// the same file the Python tests check: both clients parse and aggregate alike.

import { describe, expect, it } from "vitest";

import vectors from "../../../spec/content-v1-vectors.json";
import { ContentError, edit, parseContent, parsePlaintext, reaction, reply, text, type Content } from "@/lib/content";
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

describe("content builders", () => {
  it("build what parses back to itself", () => {
    const built: Content[] = [text("hi"), reply("yes", "m-1"), edit("m-1", "fixed"), reaction("m-1", "👍")];
    for (const content of built) expect(parseContent(JSON.parse(JSON.stringify(content)))).toEqual(content);
  });
});
