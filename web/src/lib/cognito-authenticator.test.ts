// Cognito sign-in against a fake user pool at the send() level: USER_PASSWORD_AUTH, the
// access token for the chat server, the ID token for the identity pool, REFRESH_TOKEN_AUTH,
// resume after a reload, sign-out revoking the refresh token.

import { InitiateAuthCommand, RevokeTokenCommand } from "@aws-sdk/client-cognito-identity-provider";
import { describe, expect, it } from "vitest";

import { CognitoAuthenticator, type CognitoIdpSender } from "@/lib/cognito-authenticator";

function jwt(claims: object): string {
  const part = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "RS256" })}.${part(claims)}.sig`;
}

class FakePool implements CognitoIdpSender {
  readonly calls: Array<InitiateAuthCommand | RevokeTokenCommand> = [];
  issued = 0;
  refuse = false;
  /** Refresh-token rotation on: REFRESH_TOKEN_AUTH answers with a new refresh token too. */
  rotate = false;

  async send(command: InitiateAuthCommand | RevokeTokenCommand): Promise<unknown> {
    this.calls.push(command);
    if (command instanceof RevokeTokenCommand) return {};
    if (this.refuse) {
      const error = new Error("Refresh Token has been revoked");
      error.name = "NotAuthorizedException";
      throw error;
    }
    const params = command.input.AuthParameters ?? {};
    if (command.input.AuthFlow === "USER_PASSWORD_AUTH" && params.PASSWORD !== "correct horse") {
      const error = new Error("Incorrect username or password.");
      error.name = "NotAuthorizedException";
      throw error;
    }
    this.issued += 1;
    return {
      AuthenticationResult: {
        AccessToken: `access-${this.issued}`,
        IdToken: jwt({ sub: "sub-alice", "cognito:username": "alice", token_use: "id" }),
        RefreshToken: command.input.AuthFlow === "USER_PASSWORD_AUTH" ? "refresh-1" : this.rotate ? `refresh-${this.issued}` : undefined,
        ExpiresIn: 3600,
      },
    };
  }
}

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

function setUp(clock = { now: 0 }) {
  const pool = new FakePool();
  const storage = memoryStorage();
  const auth = new CognitoAuthenticator({ region: "eu-west-1", clientId: "app-client", client: pool, storage, clock: () => clock.now });
  return { pool, storage, auth, clock };
}

describe("CognitoAuthenticator", () => {
  it("signs in with USER_PASSWORD_AUTH and gives the chat server the access token", async () => {
    const { pool, auth } = setUp();
    const user = await auth.signIn("alice", "correct horse");
    expect(user).toEqual({ id: "sub-alice", username: "alice" });
    const command = pool.calls[0] as InitiateAuthCommand;
    expect(command.input).toEqual({ AuthFlow: "USER_PASSWORD_AUTH", ClientId: "app-client", AuthParameters: { USERNAME: "alice", PASSWORD: "correct horse" } });
    expect(await auth.accessToken()).toBe("access-1");
    expect(await auth.idToken()).toContain(".");
    await auth.signOut();
  });

  it("says wrong username or password as a 401", async () => {
    const { auth } = setUp();
    await expect(auth.signIn("alice", "nope")).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    expect(auth.user).toBeNull();
  });

  it("refreshes with REFRESH_TOKEN_AUTH when little time is left", async () => {
    const { pool, auth, clock } = setUp();
    await auth.signIn("alice", "correct horse");
    clock.now += 3590 * 1000;
    expect(await auth.accessToken()).toBe("access-2");
    const refresh = pool.calls[1] as InitiateAuthCommand;
    expect(refresh.input).toEqual({ AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: "app-client", AuthParameters: { REFRESH_TOKEN: "refresh-1" } });
    await auth.signOut();
  });

  it("resumes after a reload from the kept refresh token, and signs out when Cognito refuses it", async () => {
    const { pool, storage, auth } = setUp();
    await auth.signIn("alice", "correct horse");
    const again = new CognitoAuthenticator({ region: "eu-west-1", clientId: "app-client", client: pool, storage });
    expect(await again.resume()).toEqual({ id: "sub-alice", username: "alice" });
    let ended = 0;
    again.onSignedOut(() => (ended += 1));
    pool.refuse = true;
    await expect(again.refresh()).rejects.toMatchObject({ status: 401 });
    expect(ended).toBe(1);
    expect(storage.items.size).toBe(0);
    await auth.signOut();
  });

  it("keeps a rotated refresh token at once, so a reload right after resumes with it", async () => {
    const { pool, storage, auth } = setUp();
    await auth.signIn("alice", "correct horse");
    pool.rotate = true;
    await auth.refresh();
    expect(storage.items.get("sealchat-cognito-refresh:app-client")).toBe("refresh-2");
    const reloaded = new CognitoAuthenticator({ region: "eu-west-1", clientId: "app-client", client: pool, storage });
    await reloaded.resume();
    expect((pool.calls.at(-1) as InitiateAuthCommand).input.AuthParameters).toEqual({ REFRESH_TOKEN: "refresh-2" });
    await auth.signOut();
  });

  it("has nothing to resume without a refresh token, and revokes it at sign-out", async () => {
    const { pool, storage, auth } = setUp();
    expect(await auth.resume()).toBeNull();
    await auth.signIn("alice", "correct horse");
    await auth.signOut();
    expect(pool.calls.at(-1)).toBeInstanceOf(RevokeTokenCommand);
    expect((pool.calls.at(-1) as RevokeTokenCommand).input).toEqual({ Token: "refresh-1", ClientId: "app-client" });
    expect(storage.items.size).toBe(0);
    await expect(auth.accessToken()).rejects.toMatchObject({ code: "unauthorized" });
  });

  it("offers no account creation (accounts live in the user pool)", async () => {
    const { auth } = setUp();
    await expect(auth.register()).rejects.toMatchObject({ code: "unsupported" });
  });
});
