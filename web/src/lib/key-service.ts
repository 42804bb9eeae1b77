// The key-service port of the SDK (KeyService: GenerateDataKey and Decrypt, the AWS KMS
// shapes) and its embedded implementation over HTTP (docs/key-service.md §2). Every call
// carries the key-service token (never the chat token) and a room-access grant from the
// chat server. ChatSession takes a factory, so an AWS KMS client can stand in.

import { decodeCanonicalBase64, encodeBase64 } from "@/lib/base64";
import type { ApiClient } from "@/lib/api-client";
import { ApiError } from "@/lib/errors";

export interface GeneratedDataKey {
  keyId: string;
  /** The 32-byte data key; wiped once imported as a CryptoKey. */
  plaintext: Uint8Array;
  ciphertextBlob: Uint8Array;
}

export interface KeyService {
  generateDataKey(keyId: string, roomId: string): Promise<GeneratedDataKey>;
  decrypt(ciphertextBlob: Uint8Array, roomId: string): Promise<Uint8Array>;
}

type TokenSource = () => Promise<string>;
type GrantSource = (roomId: string) => Promise<string>;

export class EmbeddedKeyService implements KeyService {
  private readonly url: string;

  constructor(
    kmsUrl: string,
    private readonly token: TokenSource,
    private readonly grant: GrantSource,
    private readonly refreshToken: () => Promise<void>,
  ) {
    this.url = kmsUrl.replace(/\/+$/, "");
  }

  async generateDataKey(keyId: string, roomId: string): Promise<GeneratedDataKey> {
    const body = await this.call("/generate-data-key", { key_id: keyId }, roomId);
    return { keyId: String(body.key_id), plaintext: bytes(body.plaintext), ciphertextBlob: bytes(body.ciphertext_blob) };
  }

  async decrypt(ciphertextBlob: Uint8Array, roomId: string): Promise<Uint8Array> {
    const body = await this.call("/decrypt", { ciphertext_blob: encodeBase64(ciphertextBlob) }, roomId);
    return bytes(body.plaintext);
  }

  private async call(path: string, fields: object, roomId: string): Promise<Record<string, unknown>> {
    try {
      return await this.post(path, fields, roomId);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "token_expired") throw error;
    }
    await this.refreshToken();
    return this.post(path, fields, roomId);
  }

  private async post(path: string, fields: object, roomId: string): Promise<Record<string, unknown>> {
    const payload = { ...fields, encryption_context: { room_id: roomId }, grant: await this.grant(roomId) };
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${await this.token()}` },
        body: JSON.stringify(payload),
        credentials: "omit",
        cache: "no-store",
      });
    } catch {
      throw new ApiError("kms_unavailable", "the key service is unreachable");
    }
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const error = ApiError.fromBody(body, response.status);
      if (response.status >= 500) throw new ApiError("kms_unavailable", error.message, response.status);
      throw error;
    }
    if (typeof body !== "object" || body === null) throw new ApiError("kms_unavailable", "the key service sent an unexpected reply");
    return body as Record<string, unknown>;
  }
}

function bytes(value: unknown): Uint8Array {
  const decoded = typeof value === "string" ? decodeCanonicalBase64(value) : null;
  if (!decoded) throw new ApiError("kms_unavailable", "the key service sent bad base64");
  return decoded;
}

/** The embedded key service at the configured URL (the default of app/sdk-config.ts). */
export function embeddedKeyService({ url, api, grants }: { url: string; api: ApiClient; grants: { get: GrantSource } }): KeyService {
  return new EmbeddedKeyService(url, () => api.auth.keyServiceToken(), grants.get, () => api.auth.refresh());
}
