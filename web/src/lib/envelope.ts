// Sealed envelope v1 (docs/envelope.md): AES-256-GCM with WebCrypto, the associated data
// binding the ciphertext to its room, sender and client message id. The Python twin is
// sealchat/client/envelope.py; both pass spec/envelope-v1-vectors.json.

import { decodeCanonicalBase64, encodeBase64 } from "@/lib/base64";
import { contentProblem, type WireContent } from "@/lib/content";

export const VERSION = 1;
export const ALGORITHM = "A256GCM";
export const IV_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
export const MAX_KID_CHARS = 256;
export const MAX_EDK_BYTES = 1024;
export const MAX_PLAINTEXT_BYTES = 65536;
export const MAX_CT_BYTES = MAX_PLAINTEXT_BYTES + TAG_BYTES;
const MEMBERS = ["v", "alg", "kid", "edk", "iv", "ct"] as const;
const AAD_LABEL = "sealchat-envelope-v1";
const KID = /^[\x20-\x7e]{1,256}$/;

export type EnvelopeFailure = "malformed" | "unsupported_version" | "authentication_failed" | "bad_content";

export class EnvelopeError extends Error {
  constructor(
    readonly reason: EnvelopeFailure,
    message: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

export interface Envelope {
  v: 1;
  alg: "A256GCM";
  kid: string;
  edk: string;
  iv: string;
  ct: string;
}

export interface ParsedEnvelope {
  keyId: string;
  /** The canonical base64 of the encrypted data key (also the unwrap cache's key). */
  edk: string;
  encryptedDataKey: Uint8Array;
  iv: Uint8Array;
  ciphertext: Uint8Array;
}

/** The ids the associated data binds, always as the server delivered them. */
export interface MessageIds {
  roomId: string;
  senderId: string;
  clientMsgId: string;
}

export interface SealInput extends MessageIds {
  /** A non-extractable AES-GCM CryptoKey made from the 32-byte data key. */
  dataKey: CryptoKey;
  keyId: string;
  encryptedDataKey: Uint8Array;
  /** Checked against the content rules (lib/content.ts) before sealing. */
  content: WireContent;
  /** For test vectors only: a fresh random IV is drawn otherwise. */
  iv?: Uint8Array;
}

const encoder = new TextEncoder();

export function associatedData({ roomId, senderId, clientMsgId }: MessageIds): Uint8Array {
  const parts = [encoder.encode(AAD_LABEL)];
  for (const field of [roomId, senderId, clientMsgId]) {
    if (typeof field !== "string") throw new TypeError("the message's ids must be strings");
    const encoded = encoder.encode(field);
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, encoded.length, false);
    parts.push(length, encoded);
  }
  const aad = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    aad.set(part, offset);
    offset += part.length;
  }
  return aad;
}

/** Import a 32-byte data key as a non-extractable AES-GCM key and wipe the raw bytes. */
export async function importDataKey(raw: Uint8Array): Promise<CryptoKey> {
  try {
    if (raw.length !== KEY_BYTES) throw new RangeError(`a data key is ${KEY_BYTES} bytes`);
    return await crypto.subtle.importKey("raw", raw as BufferSource, { name: "AES-GCM" }, false, [
      "encrypt",
      "decrypt",
    ]);
  } finally {
    raw.fill(0);
  }
}

export async function seal(input: SealInput): Promise<Envelope> {
  if (!KID.test(input.keyId)) throw new RangeError("the key id must be 1 to 256 printable ASCII characters");
  if (input.encryptedDataKey.length < 1 || input.encryptedDataKey.length > MAX_EDK_BYTES) {
    throw new RangeError(`the encrypted data key must be 1 to ${MAX_EDK_BYTES} bytes`);
  }
  const iv = input.iv ?? crypto.getRandomValues(new Uint8Array(IV_BYTES));
  if (iv.length !== IV_BYTES) throw new RangeError(`the iv must be ${IV_BYTES} bytes`);
  const problem = contentProblem(input.content);
  if (problem) throw new RangeError(problem);
  const plaintext = encoder.encode(JSON.stringify(input.content));
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new RangeError(`the message is ${plaintext.length} bytes; the limit is ${MAX_PLAINTEXT_BYTES}`);
  }
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: iv as BufferSource, additionalData: associatedData(input) as BufferSource, tagLength: 128 },
    input.dataKey,
    plaintext as BufferSource,
  );
  return {
    v: VERSION,
    alg: ALGORITHM,
    kid: input.keyId,
    edk: encodeBase64(input.encryptedDataKey),
    iv: encodeBase64(iv),
    ct: encodeBase64(new Uint8Array(ciphertext)),
  };
}

/** Check an envelope's shape (docs/envelope.md §7 steps 1-2) and decode it. */
export function parseEnvelope(envelope: unknown): ParsedEnvelope {
  if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)) {
    throw malformed("the envelope is not a JSON object");
  }
  const members = envelope as Record<string, unknown>;
  const version = Object.hasOwn(members, "v") ? members.v : undefined;
  // The version comes first: a later version may have other members entirely.
  if (Number.isInteger(version) && version !== VERSION) {
    throw new EnvelopeError("unsupported_version", `envelope version ${String(version)} needs a newer Sealchat`);
  }
  for (const name of Object.keys(members)) {
    if (!(MEMBERS as readonly string[]).includes(name)) throw malformed(`unexpected member ${JSON.stringify(name).slice(0, 42)}`);
  }
  for (const name of MEMBERS) {
    if (!Object.hasOwn(members, name)) throw malformed(`missing '${name}'`);
  }
  if (version !== VERSION) throw malformed(`v must be the integer ${VERSION}`);
  if (members.alg !== ALGORITHM) throw malformed(`alg must be '${ALGORITHM}'`);
  const kid = members.kid;
  if (typeof kid !== "string" || !KID.test(kid)) throw malformed(`kid must be 1 to ${MAX_KID_CHARS} printable ASCII characters`);
  const encryptedDataKey = binary(members, "edk", 1, MAX_EDK_BYTES);
  const iv = binary(members, "iv", IV_BYTES, IV_BYTES);
  const ciphertext = binary(members, "ct", TAG_BYTES, MAX_CT_BYTES);
  return { keyId: kid, edk: members.edk as string, encryptedDataKey, iv, ciphertext };
}

/**
 * Decrypt and return the content. `ids` must come from the message as the server delivered
 * it, never from the envelope or its plaintext. `dataKey` is null when the key service
 * unwrapped something that is not a 32-byte data key.
 */
export async function openEnvelope(parsed: ParsedEnvelope, dataKey: CryptoKey | null, ids: MessageIds): Promise<WireContent> {
  let aad: Uint8Array;
  try {
    aad = associatedData(ids);
  } catch {
    throw malformed("the message's ids must be strings");
  }
  if (dataKey === null) throw new EnvelopeError("authentication_failed", `the data key is not ${KEY_BYTES} bytes`);
  let plaintext: ArrayBuffer;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: parsed.iv as BufferSource, additionalData: aad as BufferSource, tagLength: 128 },
      dataKey,
      parsed.ciphertext as BufferSource,
    );
  } catch {
    throw new EnvelopeError(
      "authentication_failed",
      "the envelope does not authenticate: tampered with, wrong key, or not sealed for this room, sender and message id",
    );
  }
  return parseContent(new Uint8Array(plaintext));
}

function parseContent(plaintext: Uint8Array): WireContent {
  let content: unknown;
  try {
    content = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(plaintext));
  } catch {
    throw new EnvelopeError("bad_content", "the content is not UTF-8 JSON");
  }
  const problem = contentProblem(content);
  if (problem) throw new EnvelopeError("bad_content", problem);
  return content as WireContent;
}

function binary(members: Record<string, unknown>, name: string, least: number, most: number): Uint8Array {
  const value = members[name];
  const sizes = least === most ? `${least} bytes` : `${least} to ${most} bytes`;
  if (typeof value !== "string") throw malformed(`${name} must be a base64 string`);
  if (value.length > 8 * Math.ceil(most / 3)) throw malformed(`${name} must be ${sizes}; ${value.length} characters is too long`);
  const bytes = decodeCanonicalBase64(value);
  if (bytes === null) throw malformed(`${name} must be standard base64 with padding (RFC 4648 §4)`);
  if (bytes.length < least || bytes.length > most) throw malformed(`${name} must be ${sizes}, not ${bytes.length}`);
  return bytes;
}

function malformed(message: string): EnvelopeError {
  return new EnvelopeError("malformed", `envelope must be a sealed envelope v1: ${message}`);
}
