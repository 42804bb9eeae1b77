// The browser's sealing against the committed vectors (spec/envelope-v1-vectors.json),
// the same file the Python tests check: what one side seals, the other opens.

import { describe, expect, it } from "vitest";

import vectors from "../../../spec/envelope-v1-vectors.json";
import { decodeCanonicalBase64, encodeBase64 } from "@/lib/base64";
import {
  associatedData,
  EnvelopeError,
  importDataKey,
  openEnvelope,
  parseEnvelope,
  seal,
} from "@/lib/envelope";
import type { WireContent } from "@/lib/content";

function hex(value: string): Uint8Array {
  return Uint8Array.from(value.match(/../g) ?? [], (byte) => parseInt(byte, 16));
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function ids(vector: { room_id: string; sender_id: string; client_msg_id: string }) {
  return { roomId: vector.room_id, senderId: vector.sender_id, clientMsgId: vector.client_msg_id };
}

async function openVector(vector: (typeof vectors.negative)[number] | (typeof vectors.positive)[number]): Promise<WireContent> {
  const parsed = parseEnvelope(vector.envelope);
  return openEnvelope(parsed, await importDataKey(hex(vector.data_key_hex)), ids(vector));
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EnvelopeError);
    return (error as EnvelopeError).reason;
  }
  throw new Error("expected the envelope not to open");
}

describe("envelope v1 vectors", () => {
  it("has vectors of both kinds", () => {
    expect(vectors.format).toBe("sealchat-envelope-v1");
    expect(vectors.positive.length).toBeGreaterThan(0);
    expect(vectors.negative.length).toBeGreaterThan(0);
  });

  describe.each(vectors.positive.map((vector) => [vector.name, vector] as const))("positive %s", (_name, vector) => {
    it("builds the associated data", () => {
      expect(toHex(associatedData(ids(vector)))).toBe(vector.aad_hex);
    });

    it("seals to the envelope byte for byte", async () => {
      const envelope = await seal({
        ...ids(vector),
        dataKey: await importDataKey(hex(vector.data_key_hex)),
        keyId: vector.key_id,
        encryptedDataKey: decodeCanonicalBase64(vector.encrypted_data_key_b64)!,
        content: vector.content as WireContent,
        iv: hex(vector.iv_hex),
      });
      expect(JSON.stringify(envelope)).toBe(JSON.stringify(vector.envelope));
      expect(toHex(new TextEncoder().encode(JSON.stringify(vector.content)))).toBe(vector.plaintext_utf8_hex);
    });

    it("opens to the content", async () => {
      expect(await openVector(vector)).toEqual(vector.content);
    });
  });

  describe.each(vectors.negative.map((vector) => [vector.name, vector] as const))("negative %s", (_name, vector) => {
    it(`fails with ${vector.expected_reason}`, async () => {
      expect(await failure(openVector(vector))).toBe(vector.expected_reason);
    });
  });
});

describe("sealing in the browser", () => {
  const base = vectors.positive[0]!;

  it("draws a fresh iv for every message and round-trips", async () => {
    const dataKey = await importDataKey(hex(base.data_key_hex));
    const input = { ...ids(base), dataKey, keyId: "k", encryptedDataKey: new Uint8Array([1, 2, 3]), content: { type: "text", text: "hi" } };
    const first = await seal(input);
    const second = await seal(input);
    expect(first.iv).not.toBe(second.iv);
    expect(decodeCanonicalBase64(first.iv)).toHaveLength(12);
    expect(await openEnvelope(parseEnvelope(first), dataKey, ids(base))).toEqual({ type: "text", text: "hi" });
  });

  it("keeps data keys non-extractable and wipes the raw bytes", async () => {
    const raw = hex(base.data_key_hex);
    const key = await importDataKey(raw);
    expect(key.extractable).toBe(false);
    expect(raw.every((byte) => byte === 0)).toBe(true);
    await expect(crypto.subtle.exportKey("raw", key)).rejects.toThrow();
  });

  it("refuses a data key that is not 32 bytes", async () => {
    await expect(importDataKey(new Uint8Array(16))).rejects.toThrow(RangeError);
    const parsed = parseEnvelope(base.envelope);
    expect(await failure(openEnvelope(parsed, null, ids(base)))).toBe("authentication_failed");
  });

  it("refuses content over 65536 bytes", async () => {
    const dataKey = await importDataKey(hex(base.data_key_hex));
    const content = { type: "text", text: "x".repeat(65536) };
    await expect(seal({ ...ids(base), dataKey, keyId: "k", encryptedDataKey: new Uint8Array([1]), content })).rejects.toThrow(RangeError);
  });

  it("treats an unknown content type as content, not a failure", async () => {
    const unknown = vectors.positive.find((vector) => vector.name === "unknown_content_type")!;
    expect((await openVector(unknown)).type).not.toBe("text");
  });
});

describe("canonical base64", () => {
  it.each([
    ["QQ==", [0x41]],
    ["QUI=", [0x41, 0x42]],
    ["QUJD", [0x41, 0x42, 0x43]],
    ["", []],
  ])("accepts %s", (text, bytes) => {
    expect(Array.from(decodeCanonicalBase64(text)!)).toEqual(bytes);
    expect(encodeBase64(Uint8Array.from(bytes))).toBe(text);
  });

  it.each(["QQ", "QQ=", "QR==", "QUJD====", "QU JD", "QUJD\n", "-_8=", "Q===", "=QQQ"])("refuses %j", (text) => {
    expect(decodeCanonicalBase64(text)).toBeNull();
  });

  it("encodes long inputs", () => {
    const bytes = Uint8Array.from({ length: 100_000 - 1 }, (_, i) => (i * 7919) % 256);
    expect(decodeCanonicalBase64(encodeBase64(bytes))).toEqual(bytes);
  });
});
