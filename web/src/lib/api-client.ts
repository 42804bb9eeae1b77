// The REST transport of the SDK (docs/protocol.md §3): authenticated JSON calls with a
// bearer token from the Authenticator, refreshed once after a token_expired.

import type { Authenticator } from "@/lib/authenticator";
import { ApiError } from "@/lib/errors";
import { requestJson, type Method } from "@/lib/http";

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly auth: Authenticator,
  ) {}

  get<T>(path: string, query: Record<string, number | string | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
    const search = params.toString();
    return this.authed<T>("GET", search ? `${path}?${search}` : path);
  }

  post<T>(path: string, body: object = {}): Promise<T> {
    return this.authed<T>("POST", path, body);
  }

  delete(path: string): Promise<void> {
    return this.authed<void>("DELETE", path);
  }

  publicGet<T>(path: string): Promise<T> {
    return requestJson(this.baseUrl, "GET", path) as Promise<T>;
  }

  /** Call with the access token; on token_expired refresh once and retry. */
  private async authed<T>(method: Method, path: string, body?: object): Promise<T> {
    const call = async () => (await requestJson(this.baseUrl, method, path, { body, token: await this.auth.accessToken() })) as T;
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "token_expired") throw error;
    }
    await this.auth.refresh();
    return call();
  }
}
