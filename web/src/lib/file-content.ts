// File content (docs/envelope.md §5.1): what a `{"type": "file"}` message says about a
// sealed file. The name, the media type and the file key travel only inside the sealed
// message. The Python twin is sealchat/client/content_file.py.

import { decodeCanonicalBase64 } from "@/lib/base64";
import { ContentError, withinCodePoints } from "@/lib/content";

export const MAX_NAME_CHARS = 255;
export const MAX_MEDIA_TYPE_CHARS = 255;
export const MAX_BLOB_ID_CHARS = 64;
export const MAX_DIMENSION = 65535;
export const MAX_THUMBNAIL_BYTES = 32 * 1024;
export const THUMBNAIL_TYPES: readonly string[] = ["image/jpeg", "image/png", "image/webp"];
const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface Thumbnail {
  media_type: string;
  /** Canonical base64 of the image bytes. */
  data: string;
}

export interface FileContent {
  type: "file";
  name: string;
  media_type: string;
  /** Bytes of the file (the plaintext). */
  size: number;
  blob_id: string;
  /** Canonical base64 of the 32-byte file key. */
  key: string;
  /** SHA-256 of the blob (the ciphertext), lowercase hex. */
  sha256: string;
  width?: number;
  height?: number;
  thumbnail?: Thumbnail;
}

/** A `file` content's members, checked; throws `ContentError`. Unknown members are dropped. */
export function parseFile(value: Record<string, unknown>): FileContent {
  const name = text(value, "name", MAX_NAME_CHARS);
  const mediaType = text(value, "media_type", MAX_MEDIA_TYPE_CHARS);
  const size = integer(value.size, "size", 0, Number.MAX_SAFE_INTEGER);
  const blobId = text(value, "blob_id", MAX_BLOB_ID_CHARS);
  const key = value.key;
  if (typeof key !== "string" || decodeCanonicalBase64(key)?.length !== 32) {
    throw new ContentError("file key must be 32 bytes in canonical base64");
  }
  const sha256 = value.sha256;
  if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256)) {
    throw new ContentError("file sha256 must be 64 lowercase hex digits");
  }
  const parsed: FileContent = { type: "file", name, media_type: mediaType, size, blob_id: blobId, key, sha256 };
  if (Object.hasOwn(value, "width") || Object.hasOwn(value, "height")) {
    parsed.width = integer(value.width, "width", 1, MAX_DIMENSION);
    parsed.height = integer(value.height, "height", 1, MAX_DIMENSION);
  }
  if (Object.hasOwn(value, "thumbnail")) parsed.thumbnail = thumbnail(value.thumbnail);
  return parsed;
}

function text(value: Record<string, unknown>, name: string, most: number): string {
  const found = value[name];
  if (typeof found !== "string" || !withinCodePoints(found, 1, most)) {
    throw new ContentError(`file ${name} must be a string of 1 to ${most} characters`);
  }
  return found;
}

function integer(found: unknown, name: string, least: number, most: number): number {
  if (typeof found !== "number" || !Number.isInteger(found) || found < least || found > most) {
    throw new ContentError(`file ${name} must be an integer from ${least} to ${most}`);
  }
  return found;
}

function thumbnail(found: unknown): Thumbnail {
  if (typeof found !== "object" || found === null || Array.isArray(found)) {
    throw new ContentError("thumbnail must be an object");
  }
  const { media_type: mediaType, data } = found as Record<string, unknown>;
  if (typeof mediaType !== "string" || !THUMBNAIL_TYPES.includes(mediaType)) {
    throw new ContentError("thumbnail media_type must be image/jpeg, image/png or image/webp");
  }
  const bytes = typeof data === "string" ? decodeCanonicalBase64(data) : null;
  if (bytes === null || bytes.length < 1 || bytes.length > MAX_THUMBNAIL_BYTES) {
    throw new ContentError(`thumbnail data must be 1 to ${MAX_THUMBNAIL_BYTES} bytes of base64`);
  }
  return { media_type: mediaType, data: data as string };
}
