// Search over sealed history, in the browser: the server cannot read what it would search.
// It pages back through a room's history to a chosen depth, opens every message (the
// keyring unwraps each data key once), applies edits through a RoomTimeline and matches
// every word of the query against texts and file names, normalized for case and accents.
// Decrypted text stays in memory. The Python twin is sealchat/client/search.py.

import type { Content } from "@/lib/content";
import { RoomTimeline, type TimelineItem } from "@/lib/room-timeline";
import type { Message } from "@/lib/types";

export const DEFAULT_DEPTH = 1000;
export const PAGE = 200;

/** Lower case without accents: "Élan" and "elan" match; so do "ß" and "ss". */
export function normalize(text: string): string {
  return text.normalize("NFKD").replace(/\p{M}/gu, "").normalize("NFC").toLowerCase().replace(/ß/g, "ss");
}

export function queryWords(query: string): string[] {
  return normalize(query).split(/\s+/u).filter(Boolean);
}

/** What a search looks at: a text's (latest) text, a file's name. */
export function searchableText(item: TimelineItem): string | null {
  if (item.body.kind === "text") return item.body.text;
  if (item.body.kind === "file") return item.body.file.name;
  return null;
}

export function matches(text: string, words: readonly string[]): boolean {
  const found = normalize(text);
  return words.length > 0 && words.every((word) => found.includes(word));
}

export interface SearchHit {
  roomId: string;
  item: TimelineItem;
  /** Context: the items just before (oldest first) and after. */
  before: TimelineItem[];
  after: TimelineItem[];
}

export interface SearchSource {
  /** One page of history, oldest first, before `beforeSeq` (the newest page when null). */
  history(roomId: string, beforeSeq: number | null, limit: number): Promise<Message[]>;
  /** The message's content, or null when it does not open. */
  open(message: Message): Promise<Content | null>;
}

export interface SearchOptions {
  depth?: number;
  context?: number;
  /** Messages opened so far in this room. */
  onProgress?: (roomId: string, opened: number) => void;
  signal?: AbortSignal;
}

/** Hits among each room's last `depth` messages, room by room, oldest first. Cancelled
 * through `signal` (rejects with an AbortError). */
export async function searchRooms(
  source: SearchSource,
  roomIds: readonly string[],
  query: string,
  options: SearchOptions = {},
): Promise<SearchHit[]> {
  const hits: SearchHit[] = [];
  for (const roomId of roomIds) hits.push(...(await searchRoom(source, roomId, query, options)));
  return hits;
}

export async function searchRoom(source: SearchSource, roomId: string, query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
  const words = queryWords(query);
  const depth = options.depth ?? DEFAULT_DEPTH;
  const context = options.context ?? 1;
  const timeline = new RoomTimeline();
  let beforeSeq: number | null = null;
  let seen = 0;
  while (seen < depth) {
    options.signal?.throwIfAborted();
    const page = await source.history(roomId, beforeSeq, Math.min(PAGE, depth - seen));
    if (page.length === 0) break;
    seen += page.length;
    for (const message of page) {
      options.signal?.throwIfAborted();
      const content = await source.open(message);
      if (content === null) continue;
      const event = { id: message.id, seq: message.seq, senderId: message.sender_id, clientMsgId: message.client_msg_id, time: message.created_at };
      timeline.add(event, { kind: "opened", content });
    }
    options.onProgress?.(roomId, seen);
    beforeSeq = page[0]!.seq;
    if (beforeSeq <= 1) break;
  }
  const items = timeline.list();
  const hits: SearchHit[] = [];
  items.forEach((item, index) => {
    const text = searchableText(item);
    if (text !== null && matches(text, words)) {
      hits.push({ roomId, item, before: items.slice(Math.max(0, index - context), index), after: items.slice(index + 1, index + 1 + context) });
    }
  });
  return hits;
}

/** A search source over the REST history and a sealer (whose keyring unwraps each data
 * key once, so a deep search costs one key-service call per data key, not per message). */
export function sealedSource(
  history: (roomId: string, beforeSeq: number | null, limit: number) => Promise<Message[]>,
  sealer: { open(message: Message): Promise<{ ok: true; content: Content } | { ok: false }> },
): SearchSource {
  return {
    history,
    open: async (message) => {
      const opened = await sealer.open(message);
      return opened.ok ? opened.content : null;
    },
  };
}
