// The same cases as tests/unit/test_timeline.py: the browser orders messages like Python.

import { describe, expect, it } from "vitest";

import { ReorderBuffer } from "@/lib/reorder-buffer";
import type { Message } from "@/lib/types";

const msg = (seq: number, room = "r"): Message => ({
  id: `${room}-${seq}`,
  room_id: room,
  seq,
  sender_id: "u",
  client_msg_id: `m${seq}`,
  envelope: {},
  created_at: "",
});
const seqs = (messages: Message[]) => messages.map((message) => message.seq);

describe("ReorderBuffer", () => {
  it("passes in-order messages straight through", () => {
    const timeline = new ReorderBuffer();
    timeline.startAt("r", 0);
    expect(seqs(timeline.accept(msg(1)))).toEqual([1]);
    expect(seqs(timeline.accept(msg(2)))).toEqual([2]);
    expect(timeline.hasGap()).toBe(false);
  });

  it("drops duplicates", () => {
    const timeline = new ReorderBuffer();
    timeline.startAt("r", 0);
    timeline.accept(msg(1));
    expect(timeline.accept(msg(1))).toEqual([]);
  });

  it("holds later messages until a gap is filled", () => {
    const timeline = new ReorderBuffer();
    timeline.startAt("r", 5);
    expect(timeline.accept(msg(7))).toEqual([]);
    expect(timeline.hasGap()).toBe(true);
    expect(seqs(timeline.accept(msg(6)))).toEqual([6, 7]);
    expect(timeline.hasGap()).toBe(false);
    expect(timeline.cursors.get("r")).toBe(7);
  });

  it("starts an untracked room at its first message", () => {
    const timeline = new ReorderBuffer();
    expect(seqs(timeline.accept(msg(40, "new")))).toEqual([40]);
    expect(timeline.accept(msg(3, "new"))).toEqual([]);
  });

  it("does not count history before the start as missed", () => {
    const timeline = new ReorderBuffer();
    timeline.startAt("r", 10);
    timeline.startAt("r", 3); // a later, older claim does not rewind the cursor
    expect(timeline.accept(msg(10))).toEqual([]);
    expect(seqs(timeline.accept(msg(11)))).toEqual([11]);
  });

  it("releases each message once, in order, whatever order live, sync and acks arrive in", () => {
    const timeline = new ReorderBuffer();
    timeline.startAt("r", 0);
    const order = [3, 1, 3, 5, 2, 1, 4, 5, 6];
    const released = order.flatMap((seq) => timeline.accept(msg(seq)));
    expect(seqs(released)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("keeps rooms apart and forgets them", () => {
    const timeline = new ReorderBuffer();
    timeline.startAt("a", 0);
    timeline.startAt("b", 0);
    timeline.accept(msg(2, "a"));
    expect(seqs(timeline.accept(msg(1, "b")))).toEqual([1]);
    expect(timeline.hasGap()).toBe(true);
    timeline.forget("a");
    expect(timeline.hasGap()).toBe(false);
    expect(timeline.cursorObject()).toEqual({ b: 1 });
  });
});
