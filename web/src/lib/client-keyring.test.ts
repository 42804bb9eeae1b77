// The keyring caches like sealchat/client/keyring.py: one data key per room for at most
// 100 messages or an hour, retired when someone leaves; one unwrap per (room, edk).

import { describe, expect, it } from "vitest";

import { encodeBase64 } from "@/lib/base64";
import { ClientKeyring } from "@/lib/client-keyring";
import { FakeKeyService } from "@/testing/fakes";

function keyring(clock = { now: 0 }) {
  const service = new FakeKeyService();
  return { service, ring: new ClientKeyring(service, "kid", { clock: () => clock.now }), clock };
}

describe("ClientKeyring", () => {
  it("reuses a room's data key for 100 messages, then makes a new one", async () => {
    const { service, ring } = keyring();
    const first = await ring.keyForSending("r");
    for (let i = 1; i < 100; i += 1) expect((await ring.keyForSending("r")).key).toBe(first.key);
    expect(service.generated).toBe(1);
    expect((await ring.keyForSending("r")).key).not.toBe(first.key);
    expect(service.generated).toBe(2);
  });

  it("makes a new key after an hour", async () => {
    const { service, ring, clock } = keyring();
    await ring.keyForSending("r");
    clock.now += 60 * 60 * 1000;
    await ring.keyForSending("r");
    expect(service.generated).toBe(2);
  });

  it("makes one key for concurrent first sends", async () => {
    const { service, ring } = keyring();
    await Promise.all([ring.keyForSending("r"), ring.keyForSending("r"), ring.keyForSending("r")]);
    expect(service.generated).toBe(1);
  });

  it("retires the sending key when someone leaves", async () => {
    const { service, ring } = keyring();
    await ring.keyForSending("r");
    ring.retireSendingKey("r");
    await ring.keyForSending("r");
    expect(service.generated).toBe(2);
  });

  it("unwraps each (room, edk) once and holds non-extractable keys", async () => {
    const { service, ring } = keyring();
    const other = keyring();
    const sent = await other.ring.keyForSending("r");
    (service as unknown as { keys: Map<string, Uint8Array> }).keys = (other.service as unknown as { keys: Map<string, Uint8Array> }).keys;
    const edk = encodeBase64(sent.encryptedDataKey);
    const [a, b] = await Promise.all([ring.unwrap("r", edk, sent.encryptedDataKey), ring.unwrap("r", edk, sent.encryptedDataKey)]);
    await ring.unwrap("r", edk, sent.encryptedDataKey);
    expect(service.decrypted).toBe(1);
    expect(a).toBe(b);
    expect(a?.extractable).toBe(false);
    expect(sent.key.extractable).toBe(false);
  });

  it("opens its own messages without asking the key service", async () => {
    const { service, ring } = keyring();
    const sent = await ring.keyForSending("r");
    expect(await ring.unwrap("r", encodeBase64(sent.encryptedDataKey), sent.encryptedDataKey)).toBe(sent.key);
    expect(service.decrypted).toBe(0);
  });

  it("does not cache refusals, and forgets a room's keys when we leave it", async () => {
    const { service, ring } = keyring();
    const sent = await ring.keyForSending("r");
    const edk = encodeBase64(sent.encryptedDataKey);
    await expect(ring.unwrap("elsewhere", edk, sent.encryptedDataKey)).rejects.toThrow();
    await expect(ring.unwrap("elsewhere", edk, sent.encryptedDataKey)).rejects.toThrow();
    expect(service.decrypted).toBe(2);
    ring.forgetRoom("r");
    await ring.unwrap("r", edk, sent.encryptedDataKey);
    expect(service.decrypted).toBe(3);
    await ring.keyForSending("r");
    expect(service.generated).toBe(2);
  });
});
