// One JSON request to the server, its failures translated into ApiError (docs/protocol.md §2).

import { ApiError } from "@/lib/errors";

export type Method = "GET" | "POST" | "DELETE";

export interface RequestOptions {
  body?: object;
  token?: string;
  /** Kept alive through a reload (sign-out). */
  keepalive?: boolean;
}

export async function requestJson(baseUrl: string, method: Method, path: string, options: RequestOptions = {}): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "same-origin",
      cache: "no-store",
      keepalive: options.keepalive ?? false,
    });
  } catch {
    throw new ApiError("unavailable", "cannot reach the server");
  }
  if (response.status === 204) return undefined;
  const parsed: unknown = await response.json().catch(() => null);
  if (!response.ok) throw ApiError.fromBody(parsed, response.status);
  return parsed;
}
