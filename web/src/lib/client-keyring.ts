// Data keys in the browser (the twin of sealchat/client's ClientKeyring). Sending: one data
// key per room for at most 100 messages or 1 hour (the age and count of the key-lifecycle
// policy; lib/key-lifecycle.ts retires keys on the policy's events). Reading:
// unwrapped keys cached by (room, encrypted data key). Every data key is held only as a
// non-extractable CryptoKey: the raw bytes are wiped as soon as they are imported.

import { env } from "@/config/env";
import { importDataKey } from "@/lib/envelope";
import type { KeyService } from "@/lib/key-service";
import { encodeBase64 } from "@/lib/base64";

export interface SendingKey {
  key: CryptoKey;
  keyId: string;
  encryptedDataKey: Uint8Array;
}

interface HeldSendingKey extends SendingKey {
  created: number;
  uses: number;
}

export interface ClientKeyringLimits {
  maxMessages: number;
  maxAgeMs: number;
  maxUnwrapped: number;
  clock: () => number;
}

export class ClientKeyring {
  readonly calls = { generateDataKey: 0, decrypt: 0 };
  private readonly limits: ClientKeyringLimits;
  private readonly sending = new Map<string, HeldSendingKey>();
  /** (room, edk) → the data key; null when the key service unwrapped something not 32 bytes. */
  private readonly unwrapped = new Map<string, Promise<CryptoKey | null>>();
  private readonly roomLocks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly keyService: KeyService,
    private readonly keyId: string,
    limits: Partial<ClientKeyringLimits> = {},
  ) {
    this.limits = {
      maxMessages: env.dataKeyMaxMessages,
      maxAgeMs: env.dataKeyMaxAgeMs,
      maxUnwrapped: env.maxUnwrappedKeys,
      clock: () => performance.now(),
      ...limits,
    };
  }

  /** The room's current data key, counting one use; a fresh one when it is spent. */
  keyForSending(roomId: string): Promise<SendingKey> {
    return this.inRoomLock(roomId, async () => {
      let current = this.sending.get(roomId);
      if (!current || !this.usable(current)) {
        this.calls.generateDataKey += 1;
        const generated = await this.keyService.generateDataKey(this.keyId, roomId);
        const key = await importDataKey(generated.plaintext);
        current = { key, keyId: generated.keyId, encryptedDataKey: generated.ciphertextBlob, created: this.limits.clock(), uses: 0 };
        this.sending.set(roomId, current);
        this.remember(cacheKey(roomId, encodeBase64(generated.ciphertextBlob)), Promise.resolve(key));
      }
      current.uses += 1;
      return { key: current.key, keyId: current.keyId, encryptedDataKey: current.encryptedDataKey };
    });
  }

  /** Someone left the room: the next message gets a new data key. */
  retireSendingKey(roomId: string): void {
    this.sending.delete(roomId);
  }

  /** After a reconnect: every room's next message gets a new data key. */
  retireAllSendingKeys(): void {
    this.sending.clear();
  }

  /** We left the room: drop every key we hold for it. */
  forgetRoom(roomId: string): void {
    this.retireSendingKey(roomId);
    const prefix = cacheKey(roomId, "");
    for (const key of [...this.unwrapped.keys()]) if (key.startsWith(prefix)) this.unwrapped.delete(key);
  }

  /** The data key of `edk` (its canonical base64), asking the key service once per (room, edk). */
  unwrap(roomId: string, edk: string, encryptedDataKey: Uint8Array): Promise<CryptoKey | null> {
    const key = cacheKey(roomId, edk);
    const cached = this.unwrapped.get(key);
    if (cached) {
      this.unwrapped.delete(key); // most recently used goes last
      this.unwrapped.set(key, cached);
      return cached;
    }
    const request = (async () => {
      this.calls.decrypt += 1;
      const plaintext = await this.keyService.decrypt(encryptedDataKey, roomId);
      if (plaintext.length !== 32) {
        plaintext.fill(0);
        return null;
      }
      return importDataKey(plaintext);
    })();
    this.remember(key, request);
    // A failure (access denied, key service down) is not cached: a later look may succeed.
    request.catch(() => {
      if (this.unwrapped.get(key) === request) this.unwrapped.delete(key);
    });
    return request;
  }

  private usable(key: HeldSendingKey): boolean {
    return key.uses < this.limits.maxMessages && this.limits.clock() - key.created < this.limits.maxAgeMs;
  }

  private remember(key: string, value: Promise<CryptoKey | null>): void {
    this.unwrapped.set(key, value);
    while (this.unwrapped.size > this.limits.maxUnwrapped) {
      const oldest = this.unwrapped.keys().next().value as string;
      this.unwrapped.delete(oldest);
    }
  }

  private inRoomLock<T>(roomId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.roomLocks.get(roomId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(task);
    this.roomLocks.set(roomId, next);
    void next.finally(() => {
      if (this.roomLocks.get(roomId) === next) this.roomLocks.delete(roomId);
    }).catch(() => undefined);
    return next;
  }
}

function cacheKey(roomId: string, edk: string): string {
  // Room ids are at most 64 characters and never contain NUL; base64 never does either.
  return `${roomId}\u0000${edk}`;
}
