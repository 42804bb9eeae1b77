// Sign-in with the embedded identity provider (docs/protocol.md §2): a username and a
// password, the token pair in memory, the refresh token in an httpOnly cookie.
//
// The refresh token never reaches script: the server keeps it in an httpOnly,
// SameSite=Strict cookie scoped to /api/auth (see docs/web-client.md). The access tokens
// live in memory only and are refreshed silently before they expire.

import type { PasswordAuthenticator } from "@/lib/authenticator";
import { ApiError } from "@/lib/errors";
import { refreshDue, SilentRefresh } from "@/lib/token-refresh";
import { requestJson, type Method } from "@/lib/http";
import type { User } from "@/lib/types";

interface TokenResponse {
  access_token: string;
  kms_access_token: string | null;
  expires_in: number;
  user: User;
}

interface Tokens {
  access: string;
  kms: string | null;
  expiresAt: number; // ms since the epoch
  lifetime: number; // ms
  user: User;
}

type Listener = () => void;

const REFRESH_LOCK = "sealchat-refresh";

export class EmbeddedAuthenticator implements PasswordAuthenticator {
  private tokens: Tokens | null = null;
  private refreshing: Promise<void> | null = null;
  /** Bumped at sign-out, so a refresh that was in flight cannot sign us back in. */
  private epoch = 0;
  private readonly silentRefresh: SilentRefresh;
  private readonly tokenListeners = new Set<Listener>();
  private readonly signedOutListeners = new Set<Listener>();

  constructor(readonly baseUrl: string) {
    this.silentRefresh = new SilentRefresh(() => this.tokens, () => this.refresh());
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

  async register(username: string, password: string): Promise<User> {
    return this.take(await this.call("POST", "/api/auth/register", { username, password, session: "cookie" }));
  }

  async signIn(username: string, password: string): Promise<User> {
    return this.take(await this.call("POST", "/api/auth/login", { username, password, session: "cookie" }));
  }

  async resume(): Promise<User | null> {
    try {
      await this.refresh();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return null;
      throw error;
    }
    return this.user;
  }

  /**
   * Trade the refresh cookie for new tokens. Refreshes are serialized, in this tab and
   * across tabs (Web Locks): two concurrent refreshes with one token revoke the session.
   */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      const epoch = this.epoch;
      this.refreshing = withLock(REFRESH_LOCK, async () => {
        const body = await this.call("POST", "/api/auth/refresh", { session: "cookie" });
        if (epoch !== this.epoch) return; // signed out meanwhile: these tokens are void
        this.take(body);
        for (const listener of [...this.tokenListeners]) listener();
      }).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async signOut(): Promise<void> {
    this.clear();
    // Serialized with refreshes (a refresh in flight would otherwise rotate the cookie
    // back in), and kept alive through a reload so the session really ends.
    await withLock(REFRESH_LOCK, () => requestJson(this.baseUrl, "POST", "/api/auth/logout", { body: {}, keepalive: true }));
  }

  async accessToken(minFractionLeft = 0.2): Promise<string> {
    await this.ensureFresh(minFractionLeft);
    return this.requireTokens().access;
  }

  async keyServiceToken(): Promise<string> {
    await this.ensureFresh(0.2);
    const kms = this.requireTokens().kms;
    if (!kms) throw new ApiError("unauthorized", "the identity provider issued no key-service token");
    return kms;
  }

  private async call(method: Method, path: string, body: object): Promise<unknown> {
    try {
      return await requestJson(this.baseUrl, method, path, { body });
    } catch (error) {
      if (path === "/api/auth/refresh" && error instanceof ApiError && error.status === 401) this.signedOut();
      throw error;
    }
  }

  private take(body: unknown): User {
    const tokens = body as TokenResponse;
    const lifetime = tokens.expires_in * 1000;
    this.tokens = {
      access: tokens.access_token,
      kms: tokens.kms_access_token,
      expiresAt: Date.now() + lifetime,
      lifetime,
      user: tokens.user,
    };
    this.silentRefresh.schedule();
    return tokens.user;
  }

  private async ensureFresh(minFractionLeft: number): Promise<void> {
    if (refreshDue(this.requireTokens(), minFractionLeft, Date.now())) await this.refresh();
  }

  private requireTokens(): Tokens {
    if (!this.tokens) throw new ApiError("unauthorized", "not signed in");
    return this.tokens;
  }

  private signedOut(): void {
    const wasSignedIn = this.tokens !== null;
    this.clear();
    if (wasSignedIn) for (const listener of [...this.signedOutListeners]) listener();
  }

  private clear(): void {
    this.silentRefresh.cancel();
    this.tokens = null;
    this.epoch += 1;
  }
}

async function withLock<T>(name: string, task: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks) return task();
  return locks.request(name, task);
}
