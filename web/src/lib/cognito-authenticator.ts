// Sign-in with an AWS Cognito user pool (the original design): a username and a password
// through InitiateAuth USER_PASSWORD_AUTH, new tokens through REFRESH_TOKEN_AUTH. The chat
// server receives the Cognito *access* token (it checks token_use "access" and client_id);
// the ID token is kept for the Cognito Identity Pool (AWS credentials for AWS KMS).
//
// Where tokens live: the access and ID tokens in memory; the refresh token in this tab's
// sessionStorage, so a reload resumes without a password (a Cognito refresh token cannot be
// an httpOnly cookie: the browser talks to Cognito directly). Sign-out revokes it with
// RevokeToken, which ends this session and the tokens issued from it.

import {
  CognitoIdentityProviderClient,
  InitiateAuthCommand,
  RevokeTokenCommand,
  type AuthenticationResultType,
} from "@aws-sdk/client-cognito-identity-provider";

import type { PasswordAuthenticator } from "@/lib/authenticator";
import { ApiError } from "@/lib/errors";
import { refreshDue, SilentRefresh } from "@/lib/token-refresh";
import type { User } from "@/lib/types";

/** The part of CognitoIdentityProviderClient used here (tests pass a fake send()). */
export interface CognitoIdpSender {
  send(command: InitiateAuthCommand | RevokeTokenCommand): Promise<unknown>;
}

export interface CognitoOptions {
  region: string;
  clientId: string;
  /** A stand-in for Cognito User Pools (a local moto server, say); null for AWS. */
  endpoint?: string | null;
  client?: CognitoIdpSender;
  /** Where the refresh token is kept across reloads (sessionStorage in the browser). */
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  clock?: () => number;
}

interface Tokens {
  access: string;
  id: string;
  expiresAt: number;
  lifetime: number;
  user: User;
}

type Listener = () => void;

export class CognitoAuthenticator implements PasswordAuthenticator {
  readonly canRegister = false;
  private readonly client: CognitoIdpSender;
  private readonly storage: CognitoOptions["storage"];
  private readonly clock: () => number;
  private readonly storageKey: string;
  private tokens: Tokens | null = null;
  private refreshing: Promise<void> | null = null;
  private epoch = 0;
  private readonly silentRefresh: SilentRefresh;
  private readonly tokenListeners = new Set<Listener>();
  private readonly signedOutListeners = new Set<Listener>();

  constructor(private readonly options: CognitoOptions) {
    this.client =
      options.client ??
      new CognitoIdentityProviderClient({ region: options.region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) });
    this.storage = options.storage === undefined ? (typeof sessionStorage === "undefined" ? null : sessionStorage) : options.storage;
    this.clock = options.clock ?? Date.now;
    this.silentRefresh = new SilentRefresh(() => this.tokens, () => this.refresh(), this.clock);
    this.storageKey = `sealchat-cognito-refresh:${options.clientId}`;
  }

  get user(): User | null {
    return this.tokens?.user ?? null;
  }

  onTokens(listener: Listener): () => void {
    this.tokenListeners.add(listener);
    return () => this.tokenListeners.delete(listener);
  }

  onSignedOut(listener: Listener): () => void {
    this.signedOutListeners.add(listener);
    return () => this.signedOutListeners.delete(listener);
  }

  async signIn(username: string, password: string): Promise<User> {
    const result = await this.initiate("USER_PASSWORD_AUTH", { USERNAME: username, PASSWORD: password });
    if (!result.RefreshToken) throw new ApiError("unauthorized", "Cognito issued no refresh token");
    this.keepRefreshToken(result.RefreshToken);
    return this.take(result);
  }

  register(): Promise<User> {
    return Promise.reject(new ApiError("unsupported", "accounts are created in the Cognito user pool"));
  }

  async resume(): Promise<User | null> {
    if (!this.storage?.getItem(this.storageKey)) return null;
    try {
      await this.refresh();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      throw error;
    }
    return this.user;
  }

  refresh(): Promise<void> {
    if (!this.refreshing) {
      const epoch = this.epoch;
      this.refreshing = (async () => {
        const refreshToken = this.storage?.getItem(this.storageKey) ?? this.memoryRefresh;
        if (!refreshToken) throw new ApiError("unauthorized", "not signed in", 401);
        let result: AuthenticationResultType;
        try {
          result = await this.initiate("REFRESH_TOKEN_AUTH", { REFRESH_TOKEN: refreshToken });
        } catch (error) {
          if (error instanceof ApiError && error.status === 401) this.signedOut();
          throw error;
        }
        if (epoch !== this.epoch) return;
        // A pool that rotates refresh tokens sends a new one and spends the old: keep it
        // before anything else, so a reload right after still resumes.
        if (result.RefreshToken) this.keepRefreshToken(result.RefreshToken);
        this.take(result);
        for (const listener of [...this.tokenListeners]) listener();
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async signOut(): Promise<void> {
    const refreshToken = this.storage?.getItem(this.storageKey) ?? this.memoryRefresh;
    this.storage?.removeItem(this.storageKey);
    this.memoryRefresh = null;
    this.clear();
    if (refreshToken) await this.client.send(new RevokeTokenCommand({ Token: refreshToken, ClientId: this.options.clientId }));
  }

  async accessToken(minFractionLeft = 0.2): Promise<string> {
    await this.ensureFresh(minFractionLeft);
    return this.requireTokens().access;
  }

  /** AWS KMS takes no bearer token; the Cognito ID token is what the identity pool wants. */
  keyServiceToken(): Promise<string> {
    return this.idToken();
  }

  /** The Cognito ID token (for GetId / GetCredentialsForIdentity). */
  async idToken(): Promise<string> {
    await this.ensureFresh(0.2);
    return this.requireTokens().id;
  }

  /** Kept when there is no storage (tests, or a browser without sessionStorage). */
  private memoryRefresh: string | null = null;

  private keepRefreshToken(token: string): void {
    if (this.storage) this.storage.setItem(this.storageKey, token);
    else this.memoryRefresh = token;
  }

  private async initiate(flow: "USER_PASSWORD_AUTH" | "REFRESH_TOKEN_AUTH", parameters: Record<string, string>): Promise<AuthenticationResultType> {
    let reply: { AuthenticationResult?: AuthenticationResultType; ChallengeName?: string };
    try {
      reply = (await this.client.send(
        new InitiateAuthCommand({ AuthFlow: flow, ClientId: this.options.clientId, AuthParameters: parameters }),
      )) as typeof reply;
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      const message = error instanceof Error ? error.message : String(error);
      if (name === "NotAuthorizedException" || name === "UserNotFoundException" || name === "PasswordResetRequiredException") {
        throw new ApiError("unauthorized", flow === "USER_PASSWORD_AUTH" ? "Wrong username or password." : message, 401);
      }
      throw new ApiError("unavailable", `Cognito is unavailable: ${message}`);
    }
    if (reply.ChallengeName) throw new ApiError("unsupported", `Cognito asks for ${reply.ChallengeName}, which this app does not handle yet`);
    const result = reply.AuthenticationResult;
    if (!result?.AccessToken || !result.IdToken) throw new ApiError("unavailable", "Cognito sent no tokens");
    return result;
  }

  private take(result: AuthenticationResultType): User {
    const lifetime = (result.ExpiresIn ?? 3600) * 1000;
    const claims = jwtClaims(result.IdToken ?? "");
    const user: User = {
      id: String(claims.sub ?? ""),
      username: String(claims["cognito:username"] ?? claims.preferred_username ?? claims.sub ?? ""),
    } as User;
    this.tokens = { access: result.AccessToken ?? "", id: result.IdToken ?? "", expiresAt: this.clock() + lifetime, lifetime, user };
    this.silentRefresh.schedule();
    return user;
  }

  private async ensureFresh(minFractionLeft: number): Promise<void> {
    if (refreshDue(this.requireTokens(), minFractionLeft, this.clock())) await this.refresh();
  }

  private requireTokens(): Tokens {
    if (!this.tokens) throw new ApiError("unauthorized", "not signed in");
    return this.tokens;
  }

  private signedOut(): void {
    const wasSignedIn = this.tokens !== null;
    this.storage?.removeItem(this.storageKey);
    this.clear();
    if (wasSignedIn) for (const listener of [...this.signedOutListeners]) listener();
  }

  private clear(): void {
    this.silentRefresh.cancel();
    this.tokens = null;
    this.epoch += 1;
  }
}

/** A JWT's claims, unverified: only to show who signed in (the server verifies). */
export function jwtClaims(token: string): Record<string, unknown> {
  const part = token.split(".")[1];
  if (!part) return {};
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
