// The room view model against fakes: send order, retries, and merging history with live
// messages by seq.

import { describe, expect, it } from "vitest";

import { RoomViewStore } from "@/features/room/stores/room-view-store";
import type { ChatEvents } from "@/lib/chat-client";
import type { ChatSession } from "@/lib/chat-session";
import { Emitter } from "@/lib/emitter";
import { ApiError } from "@/lib/errors";
import type { Message } from "@/lib/types";

const ME = { id: "u-me", username: "me" };

function message(seq: number, text: string, sender = "u-other", clientMsgId = `c${seq}`): Message {
  return { id: `m${seq}`, room_id: "r", seq, sender_id: sender, client_msg_id: clientMsgId, envelope: { text }, created_at: new Date(seq * 1000).toISOString() };
}

interface Sent {
  clientMsgId: string;
  envelope: { text: string; n: number };
}

function fakeSession(history: Message[] = []) {
  const events = new Emitter<ChatEvents>();
  const sent: Sent[] = [];
  let seq = history.length;
  let sealed = 0;
  const acks: Array<() => void> = [];
  const control = { failNext: false, holdAcks: false };
  const session = {
    me: ME,
    config: { max_envelope_bytes: 65536 },
    api: {
      get: async (path: string) => (path.endsWith("/members") ? { members: [] } : { messages: history, has_more: false }),
    },
    sealer: {
      // Later sends seal faster, as a cached key makes them: order must not depend on it.
      sealText: async (_room: string, text: string) => {
        const n = ++sealed;
        await new Promise((resolve) => setTimeout(resolve, n === 1 ? 20 : 0));
        return { text, n };
      },
      open: async (m: Message) => ({ ok: true, content: { type: "text", text: (m.envelope as { text: string }).text } }),
    },
    client: {
      events,
      typing: () => undefined,
      send: async (_room: string, clientMsgId: string, envelope: { text: string; n: number }) => {
        sent.push({ clientMsgId, envelope });
        if (control.failNext) {
          control.failNext = false;
          throw new ApiError("disconnected", "not connected");
        }
        if (control.holdAcks) await new Promise<void>((resolve) => acks.push(resolve));
        seq += 1;
        return message(seq, envelope.text, ME.id, clientMsgId);
      },
    },
  };
  return { session: session as unknown as ChatSession, events, sent, control, acks };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 40));
const texts = (room: RoomViewStore) => room.store.get().items.map((item) => (item.body.kind === "text" ? item.body.text : item.body.kind));

describe("RoomViewStore", () => {
  it("shows history then live messages once each, in seq order", async () => {
    const { session, events } = fakeSession([message(1, "one"), message(2, "two")]);
    const room = new RoomViewStore("r", session);
    events.emit("messages", [message(4, "four"), message(2, "two")]);
    await settle();
    events.emit("messages", [message(3, "three")]);
    await settle();
    expect(texts(room)).toEqual(["one", "two", "three", "four"]);
    room.dispose();
  });

  it("sends in the order written, one at a time", async () => {
    const { session, sent, control, acks } = fakeSession();
    const room = new RoomViewStore("r", session);
    await settle();
    control.holdAcks = true;
    room.send("first");
    room.send("second");
    await settle();
    expect(sent.map((s) => s.envelope.text)).toEqual(["first"]); // the second waits for the ack
    expect(room.store.get().items.map((item) => item.delivery)).toEqual(["sending", "sending"]);
    acks.shift()?.();
    await settle();
    acks.shift()?.();
    await settle();
    expect(sent.map((s) => s.envelope.text)).toEqual(["first", "second"]);
    expect(texts(room)).toEqual(["first", "second"]);
    expect(room.store.get().items.map((item) => item.delivery)).toEqual(["sent", "sent"]);
    room.dispose();
  });

  it("retries a failed send with the same client message id and envelope", async () => {
    const { session, sent, control } = fakeSession();
    const room = new RoomViewStore("r", session);
    await settle();
    control.failNext = true;
    room.send("try me");
    await settle();
    const [failed] = room.store.get().items;
    expect(failed?.delivery).toBe("failed");
    expect(failed?.sendError).toBe("not connected");
    room.retry(failed!.clientMsgId);
    await settle();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
    expect(room.store.get().items.map((item) => [item.delivery, item.seq])).toEqual([["sent", 1]]);
    room.dispose();
  });

  it("turns a failed send into sent when sync shows it was stored", async () => {
    const { session, events, control } = fakeSession();
    const room = new RoomViewStore("r", session);
    await settle();
    control.failNext = true;
    room.send("stored after all");
    await settle();
    const [failed] = room.store.get().items;
    events.emit("messages", [message(1, "stored after all", ME.id, failed!.clientMsgId)]);
    await settle();
    expect(room.store.get().items.map((item) => [item.delivery, item.seq, item.key])).toEqual([["sent", 1, failed!.key]]);
    room.dispose();
  });
});
