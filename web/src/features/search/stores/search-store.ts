// The search view model: opens each chosen room's history back to a depth (lib/search.ts,
// through the session's sealer, so each data key is unwrapped once), with progress and
// cancel, and turns the hits into rows with context and the matched words marked.
// What was decrypted stays in this object's memory only; nothing is written to disk.

import { errorMessage } from "@/lib/errors";
import { normalize, queryWords, searchRoom, searchableText, type SearchHit, type SearchSource } from "@/lib/search";
import { Store } from "@/lib/store";
import type { TimelineItem } from "@/lib/room-timeline";

export const DEPTHS = [200, 1000, 5000, 20000] as const;

export interface SearchRow {
  readonly key: string;
  readonly roomId: string;
  readonly roomTitle: string;
  readonly messageId: string;
  readonly seq: number;
  readonly senderName: string;
  readonly time: string;
  readonly isFile: boolean;
  /** The text as parts, the matched ones marked. */
  readonly parts: readonly TextPart[];
  readonly before: readonly ContextLine[];
  readonly after: readonly ContextLine[];
}

export interface TextPart {
  readonly text: string;
  readonly match: boolean;
}

export interface ContextLine {
  readonly senderName: string;
  readonly text: string;
}

export interface SearchState {
  readonly status: "idle" | "searching" | "done" | "cancelled" | "failed";
  readonly query: string;
  /** Messages opened so far, and the most there can be (rooms x depth). */
  readonly opened: number;
  readonly most: number;
  readonly roomsDone: number;
  readonly roomsTotal: number;
  readonly rows: readonly SearchRow[];
  readonly error: string | null;
}

export interface SearchDeps {
  source: SearchSource;
  /** Usernames by user id in a room (its members). */
  names(roomId: string): Promise<ReadonlyMap<string, string>>;
  roomTitle(roomId: string): string;
}

const IDLE: SearchState = { status: "idle", query: "", opened: 0, most: 0, roomsDone: 0, roomsTotal: 0, rows: [], error: null };
const CONTEXT_CHARS = 160;

export class SearchStore {
  readonly store = new Store<SearchState>(IDLE);
  private controller: AbortController | null = null;

  constructor(private readonly deps: SearchDeps) {}

  /** Search `roomIds` (newest `depth` messages each) for every word of `query`. */
  async search(query: string, roomIds: readonly string[], depth: number): Promise<void> {
    this.cancel();
    if (queryWords(query).length === 0) {
      this.store.set({ ...IDLE, query });
      return;
    }
    const controller = new AbortController();
    this.controller = controller;
    const most = roomIds.length * depth;
    this.store.set({ ...IDLE, status: "searching", query, most, roomsTotal: roomIds.length });
    let before = 0;
    try {
      for (const roomId of roomIds) {
        let inRoom = 0;
        const [hits, names] = await Promise.all([
          searchRoom(this.deps.source, roomId, query, {
            depth,
            signal: controller.signal,
            onProgress: (_room, opened) => {
              inRoom = opened;
              if (!controller.signal.aborted) this.store.set({ opened: before + opened });
            },
          }),
          this.deps.names(roomId).catch(() => new Map<string, string>()),
        ]);
        controller.signal.throwIfAborted();
        before += inRoom;
        const rows = hits.map((hit) => this.row(hit, names, query));
        // Newest first, as people look for the last time something was said.
        this.store.set((state) => ({ opened: before, roomsDone: state.roomsDone + 1, rows: [...state.rows, ...rows].sort(newestFirst) }));
      }
      this.store.set({ status: "done", opened: before });
    } catch (error) {
      if (controller.signal.aborted) return; // cancel() said so already
      this.store.set({ status: "failed", error: errorMessage(error) });
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  /** Stop the search on its way; the results so far stay. */
  cancel(): void {
    if (!this.controller) return;
    this.controller.abort();
    this.controller = null;
    this.store.set({ status: "cancelled" });
  }

  /** Forget the results (the decrypted texts go with them). */
  clear(): void {
    this.cancel();
    this.store.set(IDLE);
  }

  dispose(): void {
    this.clear();
  }

  private row(hit: SearchHit, names: ReadonlyMap<string, string>, query: string): SearchRow {
    const nameOf = (userId: string) => names.get(userId) ?? "former member";
    const line = (item: TimelineItem): ContextLine => ({ senderName: nameOf(item.senderId), text: clip(describe(item)) });
    const text = searchableText(hit.item) ?? "";
    return {
      key: `${hit.roomId}/${hit.item.id}`,
      roomId: hit.roomId,
      roomTitle: this.deps.roomTitle(hit.roomId),
      messageId: hit.item.id,
      seq: hit.item.seq,
      senderName: nameOf(hit.item.senderId),
      time: hit.item.time,
      isFile: hit.item.body.kind === "file",
      parts: markMatches(excerpt(text, query), queryWords(query)),
      before: hit.before.map(line),
      after: hit.after.map(line),
    };
  }
}

function newestFirst(a: SearchRow, b: SearchRow): number {
  return b.time.localeCompare(a.time) || b.seq - a.seq;
}

function describe(item: TimelineItem): string {
  switch (item.body.kind) {
    case "text":
      return item.body.text;
    case "file":
      return `File: ${item.body.file.name}`;
    case "deleted":
      return "message deleted";
    default:
      return "…";
  }
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > CONTEXT_CHARS ? `${line.slice(0, CONTEXT_CHARS)}…` : line;
}

/** A long text cut around its first match, whitespace folded. */
export function excerpt(text: string, query: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  if (line.length <= CONTEXT_CHARS * 2) return line;
  const [first] = findMatches(line, queryWords(query));
  const start = Math.max(0, (first?.start ?? 0) - CONTEXT_CHARS / 2);
  const end = Math.min(line.length, start + CONTEXT_CHARS * 2);
  return `${start > 0 ? "…" : ""}${line.slice(start, end)}${end < line.length ? "…" : ""}`;
}

/** Where the words occur in `text` (normalized as the search compares), as ranges of the
 * original text, sorted and merged. */
export function findMatches(text: string, words: readonly string[]): Array<{ start: number; end: number }> {
  // Normalize one code point at a time, remembering where each normalized unit came from.
  let folded = "";
  const origin: number[] = [];
  let index = 0;
  for (const char of text) {
    const piece = normalize(char);
    for (let k = 0; k < piece.length; k++) origin.push(index);
    folded += piece;
    index += char.length;
  }
  origin.push(text.length);
  const ranges: Array<{ start: number; end: number }> = [];
  for (const word of words) {
    if (!word) continue;
    for (let at = folded.indexOf(word); at !== -1; at = folded.indexOf(word, at + 1)) {
      const start = origin[at]!;
      const last = origin[at + word.length - 1]!;
      const end = last + (text.codePointAt(last)! > 0xffff ? 2 : 1);
      ranges.push({ start, end });
    }
  }
  ranges.sort((a, b) => a.start - b.start);
  const merged: Array<{ start: number; end: number }> = [];
  for (const range of ranges) {
    const previous = merged.at(-1);
    if (previous && range.start <= previous.end) previous.end = Math.max(previous.end, range.end);
    else merged.push({ ...range });
  }
  return merged;
}

/** The text as parts, the matched words marked. */
export function markMatches(text: string, words: readonly string[]): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const { start, end } of findMatches(text, words)) {
    if (start > at) parts.push({ text: text.slice(at, start), match: false });
    parts.push({ text: text.slice(start, end), match: true });
    at = end;
  }
  if (at < text.length || parts.length === 0) parts.push({ text: text.slice(at), match: false });
  return parts;
}
