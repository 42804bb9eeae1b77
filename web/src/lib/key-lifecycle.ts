// The key-lifecycle policy, in one place (docs/envelope.md, the same as the Python client):
// a room's sending key is retired
//   - when a member leaves or is removed (member:left): they saw the current key;
//   - after a reconnect: what happened while we were away is not known to us;
//   - after 1 hour and after 100 messages (ClientKeyring's limits, env.dataKeyMax*).
// When we leave a room or lose it, every key and the grant we hold for it are dropped.

import type { ChatEvents } from "@/lib/chat-client";
import type { ClientKeyring } from "@/lib/client-keyring";
import type { Emitter } from "@/lib/emitter";

export interface RoomGrantCache {
  forget(roomId: string): void;
}

/** Apply the policy to a client's events; returns the function that stops it. */
export function applyKeyLifecycle(events: Emitter<ChatEvents>, keyring: ClientKeyring, grants: RoomGrantCache): () => void {
  const forget = (roomId: string) => {
    grants.forget(roomId);
    keyring.forgetRoom(roomId);
  };
  const stops = [
    events.on("member:left", ({ room_id }) => keyring.retireSendingKey(room_id)),
    events.on("resumed", ({ reconnect }) => {
      if (reconnect) keyring.retireAllSendingKeys();
    }),
    events.on("room:left", ({ room_id }) => forget(room_id)),
    events.on("room:gone", forget),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}
