// OIDC sign-in against a fake oidc-client-ts UserManager, and the real library's sign-in
// request (code flow, PKCE S256, redirect to /auth/callback).

import { InMemoryWebStorage, OidcClient, User as OidcUser, WebStorageStateStore } from "oidc-client-ts";
import { describe, expect, it } from "vitest";

import { OidcAuthenticator, oidcSettings, type OidcUserManager } from "@/lib/oidc-authenticator";

function oidcUser(n: number, expiresIn = 300): OidcUser {
  return new OidcUser({
    access_token: `access-${n}`,
    id_token: `id-${n}`,
    token_type: "Bearer",
    scope: "openid profile",
    profile: { sub: "sub-carol", preferred_username: "carol", iss: "https://id.example.com", aud: "sealchat", exp: 0, iat: 0 },
    expires_at: Math.floor(Date.now() / 1000) + expiresIn,
  });
}

class FakeManager implements OidcUserManager {
  stored: OidcUser | null = null;
  redirects = 0;
  callbacks: string[] = [];
  renewals = 0;
  refuseRenewal = false;
  signedOutAtProvider = 0;
  private loaded: Array<(user: OidcUser) => void> = [];
  events = {
    addUserLoaded: (cb: (user: OidcUser) => void) => {
      this.loaded.push(cb);
      return () => undefined;
    },
    addAccessTokenExpired: () => () => undefined,
    addSilentRenewError: () => () => undefined,
  };
  getUser = () => Promise.resolve(this.stored);
  signinRedirect = () => {
    this.redirects += 1;
    return Promise.resolve();
  };
  signinCallback = (url?: string) => {
    this.callbacks.push(url ?? "");
    this.stored = oidcUser(1);
    return Promise.resolve(this.stored);
  };
  signinSilent = () => {
    if (this.refuseRenewal) return Promise.reject(new Error("login_required"));
    this.renewals += 1;
    this.stored = oidcUser(1 + this.renewals);
    return Promise.resolve(this.stored);
  };
  signoutRedirect = () => {
    this.signedOutAtProvider += 1;
    return Promise.resolve();
  };
  removeUser = () => {
    this.stored = null;
    return Promise.resolve();
  };
}

function setUp(path = "/auth/callback?code=abc&state=xyz", audience: string | null = null) {
  const manager = new FakeManager();
  const auth = new OidcAuthenticator({
    issuer: "https://id.example.com/realms/team",
    clientId: "sealchat",
    scopes: "openid profile",
    audience,
    origin: "https://chat.example.com",
    location: () => new URL(path, "https://chat.example.com"),
    manager,
  });
  return { manager, auth };
}

describe("OidcAuthenticator", () => {
  it("names the provider by its host", () => {
    expect(setUp().auth.providerName).toBe("id.example.com");
  });

  it("finishes the code exchange on /auth/callback and hands the chat server the ID token", async () => {
    const { manager, auth } = setUp();
    expect(await auth.resume()).toEqual({ id: "sub-carol", username: "carol" });
    expect(manager.callbacks).toEqual(["https://chat.example.com/auth/callback?code=abc&state=xyz"]);
    expect(await auth.accessToken()).toBe("id-1");
  });

  it("hands over the access token when the server expects another audience", async () => {
    const { auth } = setUp(undefined, "https://chat.example.com/api");
    await auth.resume();
    expect(await auth.accessToken()).toBe("access-1");
  });

  it("resumes the kept user elsewhere, renews silently near expiry, and reports the new tokens", async () => {
    const { manager, auth } = setUp("/rooms/r1");
    expect(await auth.resume()).toBeNull();
    manager.stored = oidcUser(1, 10);
    expect(await auth.resume()).toEqual({ id: "sub-carol", username: "carol" });
    let renewed = 0;
    auth.onTokens(() => (renewed += 1));
    expect(await auth.accessToken()).toBe("id-2");
    expect(renewed).toBe(1);
  });

  it("signs out when the provider refuses to renew", async () => {
    const { manager, auth } = setUp();
    await auth.resume();
    let ended = 0;
    auth.onSignedOut(() => (ended += 1));
    manager.refuseRenewal = true;
    await expect(auth.refresh()).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    expect(ended).toBe(1);
    expect(auth.user).toBeNull();
  });

  it("signs out here and at the provider", async () => {
    const { manager, auth } = setUp();
    await auth.resume();
    await auth.signOut();
    expect(manager.stored).toBeNull();
    expect(manager.signedOutAtProvider).toBe(1);
    await expect(auth.accessToken()).rejects.toMatchObject({ code: "unauthorized" });
  });
});

describe("oidcSettings with oidc-client-ts", () => {
  it("asks for an authorization code with a PKCE S256 challenge, back to /auth/callback", async () => {
    const settings = oidcSettings({ issuer: "https://id.example.com", clientId: "sealchat", scopes: "openid profile", origin: "https://chat.example.com" });
    const client = new OidcClient({
      ...settings,
      stateStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
      metadata: { issuer: "https://id.example.com", authorization_endpoint: "https://id.example.com/auth", token_endpoint: "https://id.example.com/token" },
    });
    const request = await client.createSigninRequest({});
    const url = new URL(request.url);
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get("redirect_uri")).toBe("https://chat.example.com/auth/callback");
    expect(url.searchParams.get("scope")).toBe("openid profile");
  });
});
