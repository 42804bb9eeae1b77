// Message content v1, apart from the envelope crypto: what a sealed plaintext means
// (docs/envelope.md §5). `text` (optionally a reply or an edit) and `reaction`, each relation
// naming its target by the server's message id. Any other `type` is unsupported content:
// opened fine, shown as a placeholder. The Python twin is sealchat/client/content.py; both
// pass spec/content-v1-vectors.json.

import { parseFile, type FileContent } from "@/lib/file-content";

export type { FileContent } from "@/lib/file-content";

export const MAX_MESSAGE_ID_CHARS = 64;
export const MAX_REACTION_KEY_CHARS = 64;

export type RelationType = "reply" | "edit" | "reaction";
const RELATION_TYPES: readonly string[] = ["reply", "edit", "reaction"];

export type Relation = {
  type: RelationType;
  /** The target's server message id. */
  message_id: string;
};

export type TextContent = {
  type: "text";
  text: string;
  relates_to?: Relation;
};

export type ReactionContent = {
  type: "reaction";
  key: string;
  relates_to: Relation & { type: "reaction" };
};

/** A content type this client does not know (a newer sender's, perhaps). */
export type UnsupportedContent = {
  type: string;
  unsupported: true;
};

export type Content = TextContent | ReactionContent | FileContent | UnsupportedContent;

/** The JSON object that is sealed: a known content, or any object with a string `type`. */
export type WireContent = { type: string; [member: string]: unknown };

/** Authentic plaintext that is not valid content; its reason code is `bad_content`. */
export class ContentError extends Error {
  readonly reason = "bad_content";

  constructor(message: string) {
    super(message);
    this.name = "ContentError";
  }
}

export const text = (body: string): TextContent => ({ type: "text", text: body });

export const reply = (body: string, messageId: string): TextContent => ({
  type: "text",
  text: body,
  relates_to: { type: "reply", message_id: messageId },
});

export const edit = (messageId: string, newText: string): TextContent => ({
  type: "text",
  text: newText,
  relates_to: { type: "edit", message_id: messageId },
});

export const reaction = (messageId: string, key: string): ReactionContent => ({
  type: "reaction",
  key,
  relates_to: { type: "reaction", message_id: messageId },
});

export function isUnsupported(content: Content): content is UnsupportedContent {
  return content.type !== "text" && content.type !== "reaction" && content.type !== "file";
}

/** The blob ids a content names, sent beside its envelope so the server keeps them. */
export function attachmentsOf(content: WireContent): string[] {
  return content.type === "file" && typeof content.blob_id === "string" ? [content.blob_id] : [];
}

/** UTF-8 JSON text (already decoded) to content; throws `ContentError`. */
export function parsePlaintext(plaintext: string): Content {
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    throw new ContentError("the content is not UTF-8 JSON");
  }
  return parseContent(value);
}

/** A JSON value to content; throws `ContentError`. Unknown members are dropped. */
export function parseContent(value: unknown): Content {
  if (!isObject(value)) throw new ContentError("the content is not a JSON object");
  const kind = value.type;
  if (typeof kind !== "string") throw new ContentError("the content has no string 'type'");
  if (kind === "text") {
    if (typeof value.text !== "string") throw new ContentError("text content has no string 'text'");
    const relation = parseRelation(value);
    if (relation?.type === "reaction") throw new ContentError("text content cannot relate as a reaction");
    return relation ? { type: "text", text: value.text, relates_to: relation } : { type: "text", text: value.text };
  }
  if (kind === "reaction") {
    const relation = parseRelation(value);
    if (relation?.type !== "reaction") throw new ContentError("reaction content needs relates_to of type 'reaction'");
    const key = value.key;
    if (typeof key !== "string" || !withinCodePoints(key, 1, MAX_REACTION_KEY_CHARS)) {
      throw new ContentError(`a reaction key is 1 to ${MAX_REACTION_KEY_CHARS} characters`);
    }
    return { type: "reaction", key, relates_to: { type: "reaction", message_id: relation.message_id } };
  }
  if (kind === "file") return parseFile(value);
  // Not interpreted at all, relates_to included: a newer type may define new relations.
  return { type: kind, unsupported: true };
}

/** Why `value` cannot be sealed or opened as content, or null when it can. */
export function contentProblem(value: unknown): string | null {
  try {
    parseContent(value);
    return null;
  } catch (error) {
    return (error as ContentError).message;
  }
}

function parseRelation(value: Record<string, unknown>): Relation | null {
  if (!Object.hasOwn(value, "relates_to")) return null;
  const relatesTo = value.relates_to;
  if (!isObject(relatesTo)) throw new ContentError("relates_to must be an object");
  const kind = relatesTo.type;
  if (typeof kind !== "string" || !RELATION_TYPES.includes(kind)) {
    throw new ContentError("relates_to.type must be reply, edit or reaction");
  }
  const target = relatesTo.message_id;
  if (typeof target !== "string" || !withinCodePoints(target, 1, MAX_MESSAGE_ID_CHARS)) {
    throw new ContentError(`relates_to.message_id must be 1 to ${MAX_MESSAGE_ID_CHARS} characters`);
  }
  return { type: kind as RelationType, message_id: target };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Lengths count Unicode code points, as Python's len() does, not UTF-16 units. */
export function withinCodePoints(value: string, least: number, most: number): boolean {
  if (value.length < least) return false;
  if (value.length <= most) return true;
  let count = 0;
  for (const _ of value) if (++count > most) return false;
  return count >= least;
}

/**
 * Why the opened content's relation is not the one the server delivered (`relates_to`), or
 * null when they agree: a server that rewrites a relation (makes a reply an edit, points a
 * reaction elsewhere) is caught here. Unsupported content is not interpreted, so not checked.
 */
export function relationMismatch(content: Content, server: { type: string; message_id: string } | null | undefined): string | null {
  if (isUnsupported(content)) return null;
  const sealed = "relates_to" in content ? content.relates_to : undefined;
  if (!sealed && !server) return null;
  if (!sealed) return `the server says this message relates to ${server!.message_id} (${server!.type}); its sealed content does not`;
  if (!server) return `the sealed content relates to ${sealed.message_id} (${sealed.type}); the server says it relates to nothing`;
  if (sealed.type !== server.type || sealed.message_id !== server.message_id) {
    return `the sealed content relates to ${sealed.message_id} (${sealed.type}); the server says ${server.message_id} (${server.type})`;
  }
  return null;
}
