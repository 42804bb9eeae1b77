// The AWS KMS key service against a fake KMS at the send() level: the room is bound in the
// EncryptionContext on both calls, AES_256 data keys, the key ARN KMS returns becomes the
// envelope's kid, AWS errors become the SDK's reasons, and ClientKeyring caches as ever.

import { DecryptCommand, GenerateDataKeyCommand } from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";

import { AwsKmsKeyService, type KmsSender } from "@/lib/aws-kms-key-service";
import { ClientKeyring } from "@/lib/client-keyring";
import { text } from "@/lib/content";
import { Sealer } from "@/lib/sealer";

const ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** A KMS that wraps a data key as context + key bytes, and refuses any other context. */
class FakeKms implements KmsSender {
  readonly calls: Array<GenerateDataKeyCommand | DecryptCommand> = [];
  failNext: Error | null = null;

  async send(command: GenerateDataKeyCommand | DecryptCommand): Promise<unknown> {
    this.calls.push(command);
    if (this.failNext) {
      const error = this.failNext;
      this.failNext = null;
      throw error;
    }
    if (command instanceof GenerateDataKeyCommand) {
      const plaintext = crypto.getRandomValues(new Uint8Array(32));
      const context = new TextEncoder().encode(JSON.stringify(command.input.EncryptionContext));
      const blob = new Uint8Array([context.length, ...context, ...plaintext]);
      return { KeyId: ARN, Plaintext: plaintext.slice(), CiphertextBlob: blob };
    }
    const blob = command.input.CiphertextBlob as Uint8Array;
    const context = new TextDecoder().decode(blob.slice(1, 1 + blob[0]!));
    if (context !== JSON.stringify(command.input.EncryptionContext)) throw named("InvalidCiphertextException", "context mismatch");
    return { KeyId: ARN, Plaintext: blob.slice(1 + blob[0]!) };
  }
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

function setUp() {
  const kms = new FakeKms();
  let refused = 0;
  const service = new AwsKmsKeyService({
    region: "eu-west-1",
    credentials: () => Promise.resolve({ accessKeyId: "AK", secretAccessKey: "SK" }),
    onCredentialsRefused: () => (refused += 1),
    client: kms,
  });
  return { kms, service, refused: () => refused };
}

describe("AwsKmsKeyService", () => {
  it("asks GenerateDataKey for an AES_256 key bound to the room", async () => {
    const { kms, service } = setUp();
    const key = await service.generateDataKey("alias/sealchat", "room-1");
    const command = kms.calls[0] as GenerateDataKeyCommand;
    expect(command).toBeInstanceOf(GenerateDataKeyCommand);
    expect(command.input).toEqual({ KeyId: "alias/sealchat", KeySpec: "AES_256", EncryptionContext: { room_id: "room-1" } });
    expect(key.keyId).toBe(ARN);
    expect(key.plaintext).toHaveLength(32);
  });

  it("decrypts with the same room in the context, and only that room", async () => {
    const { kms, service } = setUp();
    const key = await service.generateDataKey(ARN, "room-1");
    expect(await service.decrypt(key.ciphertextBlob, "room-1")).toEqual(key.plaintext);
    expect((kms.calls[1] as DecryptCommand).input.EncryptionContext).toEqual({ room_id: "room-1" });
    await expect(service.decrypt(key.ciphertextBlob, "room-2")).rejects.toMatchObject({ code: "invalid_ciphertext" });
  });

  it("turns AWS refusals into access_denied and other failures into kms_unavailable", async () => {
    const { kms, service } = setUp();
    kms.failNext = named("AccessDeniedException", "not allowed");
    await expect(service.generateDataKey(ARN, "r")).rejects.toMatchObject({ code: "access_denied" });
    kms.failNext = named("TypeError", "Failed to fetch");
    await expect(service.generateDataKey(ARN, "r")).rejects.toMatchObject({ code: "kms_unavailable" });
  });

  it("fetches new credentials once when AWS says they expired", async () => {
    const { kms, service, refused } = setUp();
    kms.failNext = named("ExpiredTokenException", "expired");
    await service.generateDataKey(ARN, "r");
    expect(refused()).toBe(1);
    expect(kms.calls).toHaveLength(2);
  });

  it("seals and opens through ClientKeyring: one GenerateDataKey, no Decrypt for my own messages", async () => {
    const { kms, service } = setUp();
    const sealer = new Sealer(new ClientKeyring(service, ARN), "alice");
    const first = await sealer.seal("room-1", text("hello"), "m1");
    await sealer.seal("room-1", text("again"), "m2");
    expect(kms.calls.filter((c) => c instanceof GenerateDataKeyCommand)).toHaveLength(1);
    expect((first as { kid: string }).kid).toBe(ARN);
    const opened = await sealer.open({ id: "1", room_id: "room-1", seq: 1, sender_id: "alice", client_msg_id: "m1", envelope: first, created_at: "" });
    expect(opened).toMatchObject({ ok: true, content: { type: "text", text: "hello" } });
    expect(kms.calls.filter((c) => c instanceof DecryptCommand)).toHaveLength(0);

    // Another reader unwraps through KMS once per data key.
    const reader = new Sealer(new ClientKeyring(service, ARN), "bob");
    const message = { id: "1", room_id: "room-1", seq: 1, sender_id: "alice", client_msg_id: "m1", envelope: first, created_at: "" };
    expect(await reader.open(message)).toMatchObject({ ok: true });
    expect(await reader.open(message)).toMatchObject({ ok: true });
    expect(kms.calls.filter((c) => c instanceof DecryptCommand)).toHaveLength(1);
  });
});
