import { describe, expect, it } from "vitest";

import type { ApiClient } from "@/lib/api-client";
import { ChatSession, keyServiceUrl, type KeyServiceContext } from "@/lib/chat-session";
import { MemoryOutboxStorage } from "@/lib/outbox";
import { FakeKeyService, FakeServer, FakeTransport, fakeApi, ME, settle } from "@/testing/fakes";

describe("keyServiceUrl", () => {
  it.each([
    ["/kms", "https://chat.example", "https://chat.example/kms"],
    ["https://chat.example/kms", "https://chat.example", "https://chat.example/kms"],
    ["https://keys.example/kms/", "https://chat.example", "https://keys.example/kms"],
    ["http://127.0.0.1:8000/kms", "http://localhost:8000", "http://localhost:8000/kms"],
    ["http://127.0.0.1:8001/kms", "http://localhost:8000", "http://127.0.0.1:8001/kms"],
  ])("%s seen from %s is %s", (configured, page, expected) => {
    expect(keyServiceUrl(configured, page)).toBe(expected);
  });
});

describe("ChatSession.start", () => {
  it("takes its key service and transport from the caller, and connects", async () => {
    const server = new FakeServer();
    server.addRoom("r");
    const config = { version: "test", kms_url: "/kms", kms_key_id: "kid", kms_audience: "sealchat-kms", max_envelope_bytes: 65536 };
    const api = {
      ...fakeApi(server),
      baseUrl: "https://chat.example",
      auth: { user: ME },
      publicGet: async () => config,
    } as unknown as ApiClient;
    const contexts: KeyServiceContext[] = [];
    const keyService = new FakeKeyService();
    const transport = new FakeTransport(server);
    const session = await ChatSession.start(api, {
      keyService: (context) => {
        contexts.push(context);
        return keyService;
      },
      transport,
      outboxStorage: new MemoryOutboxStorage(),
    });
    await settle();
    expect(contexts.map((context) => context.url)).toEqual(["https://chat.example/kms"]);
    expect(transport.connected).toBe(true);
    expect(session.client.connection).toBe("connected");
    expect(session.roomList.snapshot().rooms.map((room) => room.id)).toEqual(["r"]);

    await session.sealer.seal("r", { type: "text", text: "hi" }, "c1");
    expect(keyService.generated).toBe(1); // sealing went to the injected key service
    session.dispose();
  });
});
