// The trust line says what the server's layout means, in the words every client uses.

import { describe, expect, it } from "vitest";

import { trustIndicator } from "@/lib/trust";

describe("trustIndicator", () => {
  it("says the operator could read messages when the key service shares the server's process", () => {
    const trust = trustIndicator({ key_service_layout: "embedded-same-process", docs_url: null });
    expect(trust.summary).toBe("key service in the same process as the server: the server's operator could read messages");
    expect(trust.docsUrl).toBeNull();
    expect(trust.docsName).toBe("docs/key-service.md#12-what-clients-say-about-the-layout");
  });

  it("names a separate key service and AWS KMS, and links to published docs", () => {
    const separate = trustIndicator({ key_service_layout: "separate", docs_url: "https://docs.example/sealchat/" });
    expect(separate.summary.startsWith("separate key service:")).toBe(true);
    expect(separate.docsUrl).toBe("https://docs.example/sealchat/key-service.md#12-what-clients-say-about-the-layout");
    expect(trustIndicator({ key_service_layout: "aws-kms" }).summary.startsWith("AWS KMS:")).toBe(true);
  });

  it("assumes the worst for an unknown layout, and reads older servers from key_service", () => {
    expect(trustIndicator({ key_service_layout: "something-new" }).summary).toContain("assume the server's operator could read messages");
    expect(trustIndicator({ key_service: { type: "aws-kms", key_id: "k", region: "r" } }).layout).toBe("aws-kms");
    expect(trustIndicator({}).layout).toBe("embedded-same-process");
  });
});
