// One built client serves every mode: GET /api/config picks the authenticator and the key service.

import { describe, expect, it } from "vitest";

import { keyServiceFor, signInFor } from "@/app/sdk-config";
import { AwsKmsKeyService } from "@/lib/aws-kms-key-service";
import { CognitoAuthenticator } from "@/lib/cognito-authenticator";
import { EmbeddedAuthenticator } from "@/lib/embedded-authenticator";
import { embeddedKeyService } from "@/lib/key-service";
import { OidcAuthenticator } from "@/lib/oidc-authenticator";
import type { ClientConfig } from "@/lib/types";

const base: ClientConfig = { version: "1", kms_url: "/kms", kms_key_id: "sealchat-messages", kms_audience: "kms", max_envelope_bytes: 65536 };
const cognito = {
  mode: "cognito" as const,
  region: "eu-west-1",
  user_pool_id: "eu-west-1_pool",
  client_id: "app",
  identity_pool_id: "eu-west-1:ip",
  endpoints: { cognito_idp: "http://127.0.0.1:5000", cognito_identity: "http://127.0.0.1:5000" },
};

describe("sdk-config", () => {
  it("keeps the embedded sign-in and key service when the config names none (or embedded)", async () => {
    for (const auth of [undefined, { mode: "embedded" as const }]) {
      const signIn = await signInFor(auth, "http://127.0.0.1:8000");
      expect(signIn.kind).toBe("password");
      expect(signIn.auth).toBeInstanceOf(EmbeddedAuthenticator);
      expect(signIn.kind === "password" && signIn.canRegister).toBe(true);
      expect(await keyServiceFor(base, signIn.auth)).toBe(embeddedKeyService);
    }
  });

  it("signs in with Cognito (no account creation) and seals with AWS KMS", async () => {
    const signIn = await signInFor(cognito, "http://127.0.0.1:8000");
    expect(signIn.auth).toBeInstanceOf(CognitoAuthenticator);
    expect(signIn.kind === "password" && signIn.canRegister).toBe(false);
    const config: ClientConfig = { ...base, auth: cognito, key_service: { type: "aws-kms", key_id: "arn:k", region: "eu-west-1", endpoint: null } };
    const factory = await keyServiceFor(config, signIn.auth);
    expect(factory({} as never)).toBeInstanceOf(AwsKmsKeyService);
  });

  it("offers the OIDC provider's button", async () => {
    const signIn = await signInFor({ mode: "oidc", issuer: "https://id.example.com/realms/t", client_id: "sealchat", scopes: "openid profile" }, "http://127.0.0.1:8000");
    expect(signIn.kind).toBe("redirect");
    expect(signIn.auth).toBeInstanceOf(OidcAuthenticator);
    expect(signIn.provider).toBe("id.example.com");
  });

  it("refuses AWS KMS without a Cognito identity pool, rather than sealing with nothing", async () => {
    const signIn = await signInFor(undefined, "http://127.0.0.1:8000");
    const config: ClientConfig = { ...base, key_service: { type: "aws-kms", key_id: "arn:k", region: "eu-west-1" } };
    const service = (await keyServiceFor(config, signIn.auth))({} as never);
    await expect(service.generateDataKey("arn:k", "r")).rejects.toMatchObject({ code: "kms_unavailable" });
  });
});
