// Everything a signed-in person needs, built once after sign-in: the key service, the
// keyring and sealer, and the realtime client. Disposed on sign-out.

import type { ApiClient } from "@/lib/api-client";
import { ChatClient } from "@/lib/chat-client";
import { EmbeddedKeyService } from "@/lib/key-service";
import { ClientKeyring } from "@/lib/client-keyring";
import { RoomGrants } from "@/lib/room-grants";
import { Sealer } from "@/lib/sealer";
import type { ClientConfig, User } from "@/lib/types";

export class ChatSession {
  private readonly cleanups: Array<() => void> = [];

  private constructor(
    readonly api: ApiClient,
    readonly me: User,
    readonly config: ClientConfig,
    readonly grants: RoomGrants,
    readonly sealer: Sealer,
    readonly client: ChatClient,
  ) {
    const keyring = sealer.keyring;
    const events = client.events;
    // Someone left: they saw the current data key, so what follows gets a fresh one.
    this.cleanups.push(events.on("member:left", ({ room_id }) => keyring.retireSendingKey(room_id)));
    // We left or were removed: drop the room's grant and every key we hold for it.
    const forget = (roomId: string) => {
      grants.forget(roomId);
      keyring.forgetRoom(roomId);
    };
    this.cleanups.push(events.on("room:left", ({ room_id }) => forget(room_id)));
    this.cleanups.push(events.on("room:gone", forget));
  }

  static async start(api: ApiClient): Promise<ChatSession> {
    const me = api.user;
    if (!me) throw new Error("sign in first");
    if (!globalThis.crypto?.subtle) {
      throw new Error("This browser offers no WebCrypto here: open Sealchat over HTTPS (or on localhost).");
    }
    const config = await api.publicGet<ClientConfig>("/api/config");
    const grants = new RoomGrants(api);
    const kmsUrl = keyServiceUrl(config.kms_url, api.baseUrl);
    const keyService = new EmbeddedKeyService(kmsUrl, () => api.freshKmsToken(), grants.get, () => api.refresh());
    const sealer = new Sealer(new ClientKeyring(keyService, config.kms_key_id), me.id);
    const session = new ChatSession(api, me, config, grants, sealer, new ChatClient(api));
    session.client.connect();
    return session;
  }

  /** We left a room ourselves (the room:left event will follow; act now anyway). */
  leftRoom(roomId: string): void {
    this.grants.forget(roomId);
    this.sealer.keyring.forgetRoom(roomId);
    this.client.forget(roomId);
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.client.close();
  }
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Where to reach the key service from this page. A relative kms_url ("/kms") shares the
 * page's origin. The server names itself by its configured URL (say 127.0.0.1:8000) while
 * the page may have been opened as localhost:8000: the same server, but another origin to
 * the browser (CSP, CORS), so a loopback alias on the same port is read as the page's own.
 */
export function keyServiceUrl(configured: string, pageOrigin: string): string {
  const url = new URL(configured, pageOrigin);
  const page = new URL(pageOrigin);
  const sameServer =
    LOOPBACK.has(url.hostname) && LOOPBACK.has(page.hostname) && url.port === page.port && url.protocol === page.protocol;
  if (url.origin !== page.origin && sameServer) url.host = page.host;
  return url.toString().replace(/\/+$/, "");
}
