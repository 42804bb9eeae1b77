// Sealed files v1 (docs/envelope.md §12): a file encrypted in segments under its own key,
// each segment AES-256-GCM with its index and a final-segment flag in the associated data,
// so segments cannot be reordered, dropped, repeated or cut off. The Python twin is
// sealchat/client/file_seal.py; both pass spec/file-v1-vectors.json.

export const HEADER_BYTES = 16;
export const KEY_BYTES = 32;
export const NONCE_PREFIX_BYTES = 8;
export const TAG_BYTES = 16;
export const DEFAULT_SEGMENT_BYTES = 64 * 1024;
export const MIN_SEGMENT_BYTES = 16;
export const MAX_SEGMENT_BYTES = 4 * 1024 * 1024;
const MAGIC = [0x53, 0x43, 0x46, 0x31]; // "SCF1"

export type FileSealFailure = "malformed" | "unsupported_version" | "authentication_failed" | "hash_mismatch";

/** A blob that does not open. Nothing of a file that fails may be shown as the file. */
export class FileSealError extends Error {
  constructor(
    readonly reason: FileSealFailure,
    message: string,
  ) {
    super(message);
    this.name = "FileSealError";
  }
}

export function header(segmentBytes: number, noncePrefix: Uint8Array): Uint8Array {
  if (!Number.isInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
    throw new RangeError(`segment size must be ${MIN_SEGMENT_BYTES} to ${MAX_SEGMENT_BYTES}`);
  }
  if (noncePrefix.length !== NONCE_PREFIX_BYTES) throw new RangeError(`the nonce prefix is ${NONCE_PREFIX_BYTES} bytes`);
  const out = new Uint8Array(HEADER_BYTES);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, segmentBytes, false);
  out.set(noncePrefix, 8);
  return out;
}

function segmentIv(head: Uint8Array, index: number): Uint8Array {
  const iv = new Uint8Array(12);
  iv.set(head.subarray(8, 16), 0);
  new DataView(iv.buffer).setUint32(8, index, false);
  return iv;
}

function segmentAad(head: Uint8Array, index: number, final: boolean): Uint8Array {
  const aad = new Uint8Array(HEADER_BYTES + 5);
  aad.set(head, 0);
  new DataView(aad.buffer).setUint32(HEADER_BYTES, index, false);
  aad[HEADER_BYTES + 4] = final ? 1 : 0;
  return aad;
}

/** The blob's size for a file of `plaintextBytes`. */
export function sealedSize(plaintextBytes: number, segmentBytes = DEFAULT_SEGMENT_BYTES): number {
  const segments = Math.max(1, Math.ceil(plaintextBytes / segmentBytes));
  return HEADER_BYTES + plaintextBytes + segments * TAG_BYTES;
}

export function newFileKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

/** A non-extractable AES-GCM key from a file key's 32 bytes. */
export function importFileKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== KEY_BYTES) throw new FileSealError("authentication_failed", `a file key is ${KEY_BYTES} bytes`);
  return crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, ["encrypt", "decrypt"]);
}

/** Seals one file segment by segment; `seal(..., true)` exactly once, last. */
export class SegmentSealer {
  readonly header: Uint8Array;
  private index = 0;
  private done = false;

  constructor(
    private readonly key: CryptoKey,
    readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
    /** For test vectors only: a fresh random prefix is drawn otherwise. */
    noncePrefix?: Uint8Array,
  ) {
    this.header = header(segmentBytes, noncePrefix ?? crypto.getRandomValues(new Uint8Array(NONCE_PREFIX_BYTES)));
  }

  async seal(plaintext: Uint8Array, final: boolean): Promise<Uint8Array> {
    if (this.done) throw new Error("the final segment is already sealed");
    if (plaintext.length > this.segmentBytes || (!final && plaintext.length !== this.segmentBytes)) {
      throw new RangeError("every segment but the last is exactly the segment size");
    }
    const index = this.index++;
    this.done = final;
    const params = { name: "AES-GCM", iv: segmentIv(this.header, index), additionalData: segmentAad(this.header, index, final) };
    return new Uint8Array(await crypto.subtle.encrypt(params as AesGcmParams, this.key, plaintext as BufferSource));
  }
}

export interface SealedFile {
  /** The blob to upload. */
  blob: Blob;
  /** The file key's 32 bytes (they go, base64, into the sealed message only). */
  key: Uint8Array;
  /** SHA-256 of the blob, lowercase hex. */
  sha256: string;
  /** Bytes of the file. */
  size: number;
}

export interface SealOptions {
  segmentBytes?: number;
  /** For test vectors only. */
  key?: Uint8Array;
  noncePrefix?: Uint8Array;
  /** (plaintext bytes sealed, bytes in all) */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Seal a file (read a segment at a time) under a fresh file key. */
export async function sealFile(source: Blob, options: SealOptions = {}): Promise<SealedFile> {
  const key = options.key ?? newFileKey();
  const sealer = new SegmentSealer(await importFileKey(key), options.segmentBytes, options.noncePrefix);
  const size = source.size;
  const segments = Math.max(1, Math.ceil(size / sealer.segmentBytes));
  const parts: Uint8Array[] = [sealer.header];
  for (let index = 0; index < segments; index++) {
    options.signal?.throwIfAborted();
    const start = index * sealer.segmentBytes;
    const plain = new Uint8Array(await source.slice(start, Math.min(size, start + sealer.segmentBytes)).arrayBuffer());
    parts.push(await sealer.seal(plain, index === segments - 1));
    options.onProgress?.(Math.min(size, start + sealer.segmentBytes), size);
  }
  const blob = new Blob(parts as BlobPart[], { type: "application/octet-stream" });
  return { blob, key, sha256: await sha256Hex(new Uint8Array(await blob.arrayBuffer())), size };
}

/** Opens a blob fed in chunks of any size; only `finish` says the file is whole. */
export class SegmentOpener {
  private buffer: Uint8Array = new Uint8Array(0);
  private head: Uint8Array | null = null;
  private segmentBytes = 0;
  private index = 0;

  constructor(private readonly key: CryptoKey) {}

  /** Plaintext of the segments `chunk` completes (never the last one). */
  async feed(chunk: Uint8Array): Promise<Uint8Array[]> {
    this.buffer = concat([this.buffer, chunk]);
    const out: Uint8Array[] = [];
    if (this.head === null) {
      if (this.buffer.length < HEADER_BYTES) return out;
      this.readHeader(this.buffer.slice(0, HEADER_BYTES));
      this.buffer = this.buffer.slice(HEADER_BYTES);
    }
    const full = this.segmentBytes + TAG_BYTES;
    // A full segment is known not to be the last only once a byte follows it.
    let at = 0;
    while (this.buffer.length - at > full) {
      out.push(await this.open(this.buffer.subarray(at, at + full), false));
      at += full;
    }
    this.buffer = this.buffer.slice(at);
    return out;
  }

  /** The last segment's plaintext; throws if the blob was cut short. */
  async finish(): Promise<Uint8Array> {
    if (this.head === null) throw new FileSealError("malformed", "the blob is shorter than its header");
    if (this.buffer.length < TAG_BYTES) throw new FileSealError("malformed", "the blob ends inside a segment's tag");
    if (this.buffer.length === TAG_BYTES && this.index > 0) {
      throw new FileSealError("malformed", "an empty final segment after a full one");
    }
    const last = await this.open(this.buffer, true);
    this.buffer = new Uint8Array(0);
    return last;
  }

  private readHeader(head: Uint8Array): void {
    if (head[0] !== MAGIC[0] || head[1] !== MAGIC[1] || head[2] !== MAGIC[2]) {
      throw new FileSealError("malformed", "not a sealed file (bad magic)");
    }
    if (head[3] !== MAGIC[3]) throw new FileSealError("unsupported_version", "a sealed file of another version");
    const segmentBytes = new DataView(head.buffer, head.byteOffset).getUint32(4, false);
    if (segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES) {
      throw new FileSealError("malformed", `segment size ${segmentBytes} is out of range`);
    }
    this.head = head;
    this.segmentBytes = segmentBytes;
  }

  private async open(segment: Uint8Array, final: boolean): Promise<Uint8Array> {
    const head = this.head!;
    const index = this.index;
    const params = { name: "AES-GCM", iv: segmentIv(head, index), additionalData: segmentAad(head, index, final) };
    try {
      const plain = await crypto.subtle.decrypt(params as AesGcmParams, this.key, segment as BufferSource);
      this.index++;
      return new Uint8Array(plain);
    } catch {
      throw new FileSealError(
        "authentication_failed",
        `segment ${index} does not verify: the file was changed, cut short, reordered or the key is wrong`,
      );
    }
  }
}

/** Open a whole blob: every segment, then the announced SHA-256 when given. */
export async function openFile(keyBytes: Uint8Array, blob: Uint8Array, expectedSha256?: string): Promise<Uint8Array> {
  const opener = new SegmentOpener(await importFileKey(keyBytes));
  const parts = await opener.feed(blob);
  parts.push(await opener.finish());
  if (expectedSha256 !== undefined && (await sha256Hex(blob)) !== expectedSha256.toLowerCase()) {
    throw new FileSealError("hash_mismatch", "the blob's SHA-256 is not the one announced");
  }
  return concat(parts);
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
