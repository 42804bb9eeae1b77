// Which implementations the SDK runs with in this app: the one place that names them.
// GET /api/config says which sign-in (embedded, OIDC, Cognito) and which key service
// (embedded, AWS KMS) this server uses, so one built client serves every mode. The AWS
// SDK and oidc-client-ts are loaded only in the modes that use them (separate chunks).

import { ApiClient } from "@/lib/api-client";
import type { Authenticator } from "@/lib/authenticator";
import { ChatSession, type KeyServiceFactory } from "@/lib/chat-session";
import type { CognitoAuthenticator } from "@/lib/cognito-authenticator";
import { EmbeddedAuthenticator } from "@/lib/embedded-authenticator";
import { ApiError } from "@/lib/errors";
import { embeddedKeyService } from "@/lib/key-service";
import type { OidcAuthenticator } from "@/lib/oidc-authenticator";
import type { AuthConfig, ClientConfig } from "@/lib/types";

export type SignIn =
  | { kind: "password"; auth: EmbeddedAuthenticator | CognitoAuthenticator; canRegister: boolean; provider: string | null }
  | { kind: "redirect"; auth: OidcAuthenticator; provider: string };

export interface SdkSetup {
  config: ClientConfig;
  signIn: SignIn;
  api: ApiClient;
  start: () => Promise<ChatSession>;
}

/** The authenticator of the configured sign-in. */
export async function signInFor(auth: AuthConfig | undefined, apiUrl: string): Promise<SignIn> {
  switch (auth?.mode ?? "embedded") {
    case "embedded":
      return { kind: "password", auth: new EmbeddedAuthenticator(apiUrl), canRegister: true, provider: null };
    case "cognito": {
      const cognito = auth as Extract<AuthConfig, { mode: "cognito" }>;
      const { CognitoAuthenticator } = await import("@/lib/cognito-authenticator");
      const authenticator = new CognitoAuthenticator({
        region: cognito.region,
        clientId: cognito.client_id,
        endpoint: cognito.endpoints?.cognito_idp ?? null,
      });
      return { kind: "password", auth: authenticator, canRegister: false, provider: "Cognito" };
    }
    case "oidc": {
      const oidc = auth as Extract<AuthConfig, { mode: "oidc" }>;
      const { OidcAuthenticator } = await import("@/lib/oidc-authenticator");
      const authenticator = new OidcAuthenticator({
        issuer: oidc.issuer,
        clientId: oidc.client_id,
        scopes: oidc.scopes,
        audience: oidc.audience ?? null,
        origin: apiUrl,
      });
      return { kind: "redirect", auth: authenticator, provider: authenticator.providerName };
    }
  }
}

/** The key service of the configured kind. */
export async function keyServiceFor(config: ClientConfig, auth: Authenticator): Promise<KeyServiceFactory> {
  const keyService = config.key_service;
  if (!keyService || keyService.type === "embedded") return embeddedKeyService;
  const cognito = config.auth?.mode === "cognito" ? config.auth : null;
  const idToken = (auth as Partial<CognitoAuthenticator>).idToken?.bind(auth);
  if (!cognito?.identity_pool_id || !idToken) {
    // AWS credentials come from the Cognito Identity Pool; without it there are none.
    return () => {
      const refuse = () => Promise.reject(new ApiError("kms_unavailable", "AWS KMS needs Cognito sign-in with an identity pool"));
      return { generateDataKey: refuse, decrypt: refuse };
    };
  }
  const [{ AwsKmsKeyService }, { IdentityPoolCredentials }] = await Promise.all([
    import("@/lib/aws-kms-key-service"),
    import("@/lib/cognito-credentials"),
  ]);
  return () => {
    const credentials = new IdentityPoolCredentials({
      region: cognito.region,
      userPoolId: cognito.user_pool_id,
      identityPoolId: cognito.identity_pool_id as string,
      idToken,
      endpoint: cognito.endpoints?.cognito_identity ?? null,
    });
    return new AwsKmsKeyService({
      region: keyService.region,
      endpoint: keyService.endpoint ?? null,
      credentials: () => credentials.get(),
      onCredentialsRefused: () => credentials.clear(),
    });
  };
}

/** Read /api/config, then build the authenticator, the REST client and the session factory. */
export async function setUpSdk(apiUrl: string): Promise<SdkSetup> {
  const config = (await new ApiClient(apiUrl, unauthenticated).publicGet<ClientConfig>("/api/config")) satisfies ClientConfig;
  const signIn = await signInFor(config.auth, apiUrl);
  const api = new ApiClient(apiUrl, signIn.auth);
  const keyService = await keyServiceFor(config, signIn.auth);
  return { config, signIn, api, start: () => ChatSession.start(api, { keyService }) };
}

const refuse = () => Promise.reject(new ApiError("unauthorized", "not signed in"));
const unauthenticated: Authenticator = {
  user: null,
  resume: () => Promise.resolve(null),
  accessToken: refuse,
  keyServiceToken: refuse,
  refresh: refuse,
  signOut: () => Promise.resolve(),
  onTokens: () => () => undefined,
  onSignedOut: () => () => undefined,
};
