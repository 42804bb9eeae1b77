// The key-lifecycle policy (docs/envelope.md), each of its four rules, driven through the
// sync core with a fake transport: a room's sending key is retired when a member leaves,
// after a reconnect, after an hour and after 100 messages.

import { describe, expect, it } from "vitest";

import { ClientKeyring } from "@/lib/client-keyring";
import { applyKeyLifecycle } from "@/lib/key-lifecycle";
import { FakeKeyService, fakeSdk, settle } from "@/testing/fakes";

async function setup() {
  const sdk = fakeSdk();
  sdk.server.addRoom("r");
  sdk.server.addRoom("s");
  const service = new FakeKeyService();
  const clock = { now: 0 };
  const keyring = new ClientKeyring(service, "kid", { clock: () => clock.now });
  const forgotten: string[] = [];
  applyKeyLifecycle(sdk.client.events, keyring, { forget: (roomId) => forgotten.push(roomId) });
  sdk.client.connect();
  await settle();
  const key = async (roomId = "r") => (await keyring.keyForSending(roomId)).key;
  return { sdk, service, clock, keyring, forgotten, key };
}

describe("key lifecycle", () => {
  it("retires a room's key when a member leaves or is removed", async () => {
    const { sdk, key } = await setup();
    const [before, other] = [await key("r"), await key("s")];
    sdk.transport.push("member:left", { room_id: "r", user_id: "u-other", reason: "removed" });
    expect(await key("r")).not.toBe(before);
    expect(await key("s")).toBe(other); // other rooms keep theirs
  });

  it("retires every room's key after a reconnect", async () => {
    const { sdk, key } = await setup();
    const [r, s] = [await key("r"), await key("s")];
    expect(await key("r")).toBe(r); // a plain reuse before
    sdk.transport.down();
    sdk.transport.up();
    await settle();
    expect(await key("r")).not.toBe(r);
    expect(await key("s")).not.toBe(s);
  });

  it("retires a key after one hour", async () => {
    const { clock, key } = await setup();
    const first = await key();
    clock.now += 60 * 60 * 1000 - 1;
    expect(await key()).toBe(first);
    clock.now += 1;
    expect(await key()).not.toBe(first);
  });

  it("retires a key after 100 messages", async () => {
    const { service, key } = await setup();
    const first = await key();
    for (let i = 1; i < 100; i += 1) expect(await key()).toBe(first);
    expect(await key()).not.toBe(first);
    expect(service.generated).toBe(2);
  });

  it("forgets a room's keys and grant when I leave it or lose it", async () => {
    const { sdk, forgotten, service, key } = await setup();
    await key("r");
    sdk.transport.push("room:left", { room_id: "r", reason: "left" });
    await key("r");
    expect(service.generated).toBe(2);
    expect(forgotten).toEqual(["r"]);
  });
});
