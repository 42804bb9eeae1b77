import { describe, expect, it } from "vitest";

import { keyServiceUrl } from "@/lib/chat-session";

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
