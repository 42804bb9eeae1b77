// My sends that the server has not acknowledged yet, kept across reloads (IndexedDB).
//
// A send is an entry with its client message id and its content; it is sealed once (the
// envelope is kept with it) and sent one at a time in the order written. A send written
// while disconnected waits, "sending", and goes out after the next connect; so do the
// entries found after a reload, and a send whose connection dropped on its way (resent with
// the same id and envelope: the server stores it once, protocol.md §5.3). A send the server
// refused (too long, forbidden) becomes "failed" and stays, visible with its reason, until it
// is retried or is seen stored after all through sync; one that failed for a passing reason
// while connected (the key service down, no answer) is "failed" too, and is tried again by
// itself on the next connect. Later sends of the room wait behind it, to keep the order.
// Nothing leaves the outbox silently.

import { contentProblem, parseContent, type Relation, type WireContent } from "@/lib/content";
import { Emitter } from "@/lib/emitter";
import { attachmentsOf } from "@/lib/content";
import type { Envelope } from "@/lib/envelope";
import { ApiError, errorMessage } from "@/lib/errors";
import type { Message } from "@/lib/types";

export interface OutboxEntry {
  readonly clientMsgId: string;
  readonly roomId: string;
  readonly content: WireContent;
  /** Sealed once, then resent as is. */
  readonly envelope: Envelope | null;
  readonly state: "sending" | "failed";
  readonly error: string | null;
  /** A failure the next connect may cure: tried again then by itself. */
  readonly transient?: boolean;
  /** Local time written (ISO). */
  readonly time: string;
  /** Order of writing, across reloads. */
  readonly order: number;
}

/** Where entries are kept: IndexedDB in the browser, memory in tests. */
export interface OutboxStorage {
  load(): Promise<OutboxEntry[]>;
  put(entry: OutboxEntry): Promise<void>;
  remove(clientMsgId: string): Promise<void>;
  clear(): Promise<void>;
}

export interface OutboxDeps {
  seal(roomId: string, content: WireContent, clientMsgId: string): Promise<Envelope>;
  /** `relatesTo`: the content's relation, which the server stores beside the envelope;
   * `attachments`: the blob ids a file content names (the server keeps those blobs). */
  send(roomId: string, clientMsgId: string, envelope: Envelope, relatesTo: Relation | null, attachments: string[]): Promise<Message>;
  /** False while disconnected: sends wait for resume(). */
  canSend(): boolean;
  maxEnvelopeBytes: number;
  newClientMsgId(): string;
}

export class Outbox {
  /** The room whose pending sends changed. */
  readonly events = new Emitter<{ change: string }>();
  private readonly entries = new Map<string, OutboxEntry>();
  private readonly queued = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private nextOrder = 0;
  private closed = false;

  constructor(
    private readonly storage: OutboxStorage,
    private readonly deps: OutboxDeps,
  ) {}

  /** Read what a previous page left (call once, before the first connect). */
  async load(): Promise<void> {
    let stored: OutboxEntry[] = [];
    try {
      stored = await this.storage.load();
    } catch (error) {
      console.warn("outbox unreadable", error);
    }
    for (const entry of stored.sort((a, b) => a.order - b.order)) {
      if (this.entries.has(entry.clientMsgId)) continue;
      this.entries.set(entry.clientMsgId, entry);
      this.nextOrder = Math.max(this.nextOrder, entry.order + 1);
      this.events.emit("change", entry.roomId);
    }
  }

  /** The room's pending sends, in the order written. */
  pending(roomId: string): OutboxEntry[] {
    return [...this.entries.values()].filter((entry) => entry.roomId === roomId).sort((a, b) => a.order - b.order);
  }

  get(clientMsgId: string): OutboxEntry | undefined {
    return this.entries.get(clientMsgId);
  }

  /** Queue a send; it goes out now if connected, else after the next connect. */
  send(roomId: string, content: WireContent): OutboxEntry {
    const entry: OutboxEntry = {
      clientMsgId: this.deps.newClientMsgId(),
      roomId,
      content,
      envelope: null,
      state: "sending",
      error: null,
      time: new Date().toISOString(),
      order: this.nextOrder++,
    };
    this.set(entry);
    this.deliver(entry.clientMsgId);
    return entry;
  }

  /** Resend a failed entry: the same client message id and the same envelope. */
  retry(clientMsgId: string): void {
    const entry = this.entries.get(clientMsgId);
    if (!entry || entry.state !== "failed") return;
    this.set({ ...entry, state: "sending", error: null, transient: false });
    this.flush(); // and the room's later sends that waited behind it
  }

  /** After a connect: send what waits, in order, with what failed for a passing reason. */
  resume(): void {
    for (const entry of this.ordered()) {
      if (entry.state === "failed" && entry.transient) this.set({ ...entry, state: "sending", error: null, transient: false });
    }
    this.flush();
  }

  /** How many sends are not acknowledged yet (sending or failed), in every room. */
  unsent(): number {
    return this.entries.size;
  }

  /** A message of mine came through sync or live delivery: its entry is done. */
  delivered(message: Message): void {
    const entry = this.entries.get(message.client_msg_id);
    if (entry && entry.roomId === message.room_id) this.drop(entry);
  }

  /** Drop a room's entries (we left it; they can no longer be sent). */
  forgetRoom(roomId: string): void {
    for (const entry of this.pending(roomId)) this.drop(entry);
  }

  /** Sign-out: the device keeps nothing of this account's unsent messages. */
  async clear(): Promise<void> {
    this.closed = true;
    const rooms = new Set([...this.entries.values()].map((entry) => entry.roomId));
    this.entries.clear();
    for (const roomId of rooms) this.events.emit("change", roomId);
    await this.storage.clear().catch(() => undefined);
  }

  close(): void {
    this.closed = true;
    this.events.clear();
  }

  private ordered(): OutboxEntry[] {
    return [...this.entries.values()].sort((a, b) => a.order - b.order);
  }

  private flush(): void {
    for (const entry of this.ordered()) if (entry.state === "sending") this.deliver(entry.clientMsgId);
  }

  /** An earlier send of the room failed for a passing reason: this one waits behind it. */
  private waitsBehind(entry: OutboxEntry): boolean {
    for (const other of this.entries.values()) {
      if (other.roomId === entry.roomId && other.order < entry.order && other.state === "failed" && other.transient) return true;
    }
    return false;
  }

  /**
   * One send at a time, in the order written: sealing is asynchronous and the server may
   * handle two concurrent sends in either order, so each waits for the previous ack.
   */
  private deliver(clientMsgId: string): void {
    if (this.queued.has(clientMsgId)) return;
    this.queued.add(clientMsgId);
    this.queue = this.queue.then(async () => {
      try {
        await this.deliverNow(clientMsgId);
      } finally {
        this.queued.delete(clientMsgId);
      }
    });
  }

  private async deliverNow(clientMsgId: string): Promise<void> {
    let entry = this.entries.get(clientMsgId);
    if (!entry || entry.state !== "sending" || this.closed) return;
    if (!this.deps.canSend() || this.waitsBehind(entry)) return; // waits for resume() or retry()
    try {
      if (!entry.envelope) {
        // Sealed once: a retry after a lost ack must send what the server may have stored.
        const envelope = await this.deps.seal(entry.roomId, entry.content, clientMsgId);
        entry = this.entries.get(clientMsgId);
        if (!entry) return;
        entry = { ...entry, envelope };
        this.set(entry);
      }
      const size = new TextEncoder().encode(JSON.stringify(entry.envelope)).length;
      if (size > this.deps.maxEnvelopeBytes) {
        throw new Error(`This message is too long (${size} bytes sealed; the limit is ${this.deps.maxEnvelopeBytes}).`);
      }
      await this.deps.send(entry.roomId, clientMsgId, entry.envelope!, relationOf(entry.content), attachmentsOf(entry.content));
      const done = this.entries.get(clientMsgId);
      if (done) this.drop(done);
    } catch (error) {
      const current = this.entries.get(clientMsgId);
      if (!current) return; // delivered meanwhile (seen through sync)
      if (!this.deps.canSend() || (error instanceof ApiError && error.code === "disconnected")) {
        // The connection went (or was gone): not a failure of this message. It waits and
        // goes out again, the same id and envelope, after the next connect.
        this.set({ ...current, state: "sending", error: null, transient: false });
        return;
      }
      const transient = error instanceof ApiError && TRANSIENT.has(error.code);
      this.set({ ...current, state: "failed", error: errorMessage(error), transient });
    }
  }

  private set(entry: OutboxEntry): void {
    if (this.closed) return;
    this.entries.set(entry.clientMsgId, entry);
    this.events.emit("change", entry.roomId);
    this.storage.put(entry).catch((error: unknown) => console.warn("outbox not saved", error));
  }

  private drop(entry: OutboxEntry): void {
    this.entries.delete(entry.clientMsgId);
    this.events.emit("change", entry.roomId);
    this.storage.remove(entry.clientMsgId).catch(() => undefined);
  }
}

/** The relation a content declares (reply, edit, reaction), as message:send's relates_to. */
export function relationOf(content: WireContent): Relation | null {
  if (contentProblem(content) !== null) return null;
  const parsed = parseContent(content);
  return "relates_to" in parsed && parsed.relates_to ? parsed.relates_to : null;
}

/** Refusals a later attempt may overcome: tried again by themselves on the next connect. */
const TRANSIENT = new Set(["timeout", "unavailable", "kms_unavailable", "rate_limited", "token_expired", "unauthorized"]);

/** Entries in memory only (tests, and browsers without IndexedDB). */
export class MemoryOutboxStorage implements OutboxStorage {
  readonly entries = new Map<string, OutboxEntry>();

  async load(): Promise<OutboxEntry[]> {
    return [...this.entries.values()];
  }

  async put(entry: OutboxEntry): Promise<void> {
    this.entries.set(entry.clientMsgId, structuredClone(entry));
  }

  async remove(clientMsgId: string): Promise<void> {
    this.entries.delete(clientMsgId);
  }

  async clear(): Promise<void> {
    this.entries.clear();
  }
}

const STORE = "outbox";

/** One IndexedDB database per account ("sealchat-outbox:<user id>"), one object store. */
export class IndexedDbOutboxStorage implements OutboxStorage {
  private db: Promise<IDBDatabase> | null = null;

  constructor(
    private readonly name: string,
    private readonly factory: IDBFactory = globalThis.indexedDB,
  ) {}

  static forUser(userId: string, factory?: IDBFactory): IndexedDbOutboxStorage {
    return new IndexedDbOutboxStorage(`sealchat-outbox:${userId}`, factory);
  }

  async load(): Promise<OutboxEntry[]> {
    return (await this.run("readonly", (store) => store.getAll())) as OutboxEntry[];
  }

  async put(entry: OutboxEntry): Promise<void> {
    await this.run("readwrite", (store) => store.put(entry));
  }

  async remove(clientMsgId: string): Promise<void> {
    await this.run("readwrite", (store) => store.delete(clientMsgId));
  }

  async clear(): Promise<void> {
    await this.run("readwrite", (store) => store.clear());
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise((resolve, reject) => {
      const request = this.factory.open(this.name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "clientMsgId" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error("IndexedDB unavailable"));
    });
    return this.db;
  }

  private async run(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest): Promise<unknown> {
    const db = await this.open();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = action(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error ?? new Error("IndexedDB failed"));
      transaction.onabort = () => reject(transaction.error ?? new Error("IndexedDB aborted"));
    });
  }

  /** Close the connection (tests simulate a reload with a new storage object). */
  async close(): Promise<void> {
    if (this.db) (await this.db).close();
    this.db = null;
  }
}
