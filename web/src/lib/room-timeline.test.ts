// RoomTimeline beyond the shared vectors: item identity (a change makes a new object for
// the one item it touches only), and messages still being opened.

import { describe, expect, it } from "vitest";

import { edit, reaction, reply, text, type Content } from "@/lib/content";
import { RoomTimeline } from "@/lib/room-timeline";

const event = (seq: number, senderId = "u-a") => ({ id: `m${seq}`, seq, senderId, clientMsgId: `c${seq}`, time: "" });
const opened = (content: Content) => ({ kind: "opened", content }) as const;

describe("RoomTimeline", () => {
  it("keeps the identity of every item a change does not touch", () => {
    const timeline = new RoomTimeline();
    for (let seq = 1; seq <= 3; seq += 1) timeline.add(event(seq), opened(text(`t${seq}`)));
    const [one, two, three] = timeline.list();
    const before = timeline.list();
    expect(timeline.list()).toBe(before); // nothing changed: the same array

    timeline.add(event(4, "u-b"), opened(reaction("m2", "👍")));
    const after = timeline.list();
    expect(after).not.toBe(before);
    expect(after[0]).toBe(one);
    expect(after[1]).not.toBe(two);
    expect(after[1]?.reactions).toEqual({ "👍": ["u-b"] });
    expect(after[2]).toBe(three);

    timeline.add(event(5), opened(text("t5")));
    expect(timeline.list().slice(0, 3)).toEqual(after);
    timeline.list().slice(0, 3).forEach((item, index) => expect(item).toBe(after[index]));
  });

  it("holds an edit and a reply whose target is not loaded, and applies them when it arrives", () => {
    const timeline = new RoomTimeline();
    expect(timeline.add(event(9), opened(edit("m5", "fixed")))).toBeNull();
    timeline.add(event(10, "u-b"), opened(reply("ok", "m5")));
    expect(timeline.held()).toBe(1);
    expect(timeline.list().map((item) => item.id)).toEqual(["m10"]);
    timeline.add(event(5), opened(text("fxed")));
    expect(timeline.held()).toBe(0);
    expect(timeline.list().map((item) => [item.id, item.body, item.edited, item.inReplyTo])).toEqual([
      ["m5", { kind: "text", text: "fixed" }, true, null],
      ["m10", { kind: "text", text: "ok" }, false, "m5"],
    ]);
  });

  it("shows a message while it is opened, and folds it away if it turns out to be an edit", () => {
    const timeline = new RoomTimeline();
    timeline.add(event(1), opened(text("helo")));
    timeline.add(event(2));
    expect(timeline.list().map((item) => item.body.kind)).toEqual(["text", "opening"]);
    timeline.update("m2", opened(edit("m1", "hello")));
    expect(timeline.list().map((item) => [item.id, item.body])).toEqual([["m1", { kind: "text", text: "hello" }]]);
  });

  it("shows why a message could not be opened", () => {
    const timeline = new RoomTimeline();
    timeline.add(event(1), { kind: "undecryptable", reason: "authentication_failed", detail: "x" });
    expect(timeline.list()[0]?.body).toEqual({ kind: "undecryptable", reason: "authentication_failed", detail: "x" });
  });
});
