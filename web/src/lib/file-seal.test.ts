// Sealed files against the committed vectors (spec/file-v1-vectors.json), the same file the
// Python tests check: a file sealed in the browser opens in Python and the reverse.

import { describe, expect, it } from "vitest";

import vectors from "../../../spec/file-v1-vectors.json";
import { FileSealError, importFileKey, openFile, sealedSize, sealFile, SegmentOpener, sha256Hex } from "@/lib/file-seal";

function hex(value: string): Uint8Array {
  return Uint8Array.from(value.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FileSealError);
    return (error as FileSealError).reason;
  }
  throw new Error("expected the blob to be refused");
}

describe("sealed file vectors", () => {
  it.each(vectors.positive.map((v) => [v.name, v] as const))("seals %s to the vector blob", async (_name, vector) => {
    const plaintext = hex(vector.plaintext_hex);
    const sealed = await sealFile(new Blob([plaintext as BlobPart]), {
      key: hex(vector.key_hex),
      segmentBytes: vector.segment_bytes,
      noncePrefix: hex(vector.nonce_prefix_hex),
    });
    expect(toHex(new Uint8Array(await sealed.blob.arrayBuffer()))).toBe(vector.blob_hex);
    expect(sealed.sha256).toBe(vector.sha256_hex);
    expect(sealed.blob.size).toBe(sealedSize(plaintext.length, vector.segment_bytes));
  });

  it.each(vectors.positive.map((v) => [v.name, v] as const))("opens %s in chunks of any size", async (_name, vector) => {
    const blob = hex(vector.blob_hex);
    expect(toHex(await openFile(hex(vector.key_hex), blob, vector.sha256_hex))).toBe(vector.plaintext_hex);
    for (const size of [1, 7, 1000]) {
      const opener = new SegmentOpener(await importFileKey(hex(vector.key_hex)));
      const parts: Uint8Array[] = [];
      for (let at = 0; at < blob.length; at += size) parts.push(...(await opener.feed(blob.slice(at, at + size))));
      parts.push(await opener.finish());
      expect(parts.map(toHex).join("")).toBe(vector.plaintext_hex);
    }
  });

  it.each(vectors.negative.map((v) => [v.name, v] as const))("refuses %s", async (_name, vector) => {
    const expected = "sha256_hex" in vector ? (vector.sha256_hex as string) : undefined;
    expect(await failure(openFile(hex(vector.key_hex), hex(vector.blob_hex), expected))).toBe(vector.expected_reason);
  });
});

describe("sealFile", () => {
  it("draws a fresh key and nonce prefix, reports progress and round-trips", async () => {
    const data = Uint8Array.from({ length: 150_000 }, (_, i) => (i * 31 + 7) & 255);
    const seen: number[] = [];
    const one = await sealFile(new Blob([data as BlobPart]), { onProgress: (done) => seen.push(done) });
    const two = await sealFile(new Blob([data as BlobPart]));
    expect(toHex(one.key)).not.toBe(toHex(two.key));
    expect(seen).toEqual([65536, 131072, 150000]);
    const blob = new Uint8Array(await one.blob.arrayBuffer());
    expect(await sha256Hex(blob)).toBe(one.sha256);
    expect(await openFile(one.key, blob, one.sha256)).toEqual(data);
  });

  it("stops when cancelled", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(sealFile(new Blob([new Uint8Array(10)]), { signal: controller.signal })).rejects.toThrow();
  });
});
