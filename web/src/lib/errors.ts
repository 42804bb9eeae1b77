import type { ErrorBody } from "@/lib/types";

/** A request the server (or the key service) refused, or could not be reached for. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number | null = null,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  static fromBody(body: unknown, status: number | null): ApiError {
    const error = typeof body === "object" && body !== null ? (body as { error?: Partial<ErrorBody> }).error : undefined;
    if (error && typeof error.code === "string") {
      return new ApiError(error.code, String(error.message ?? ""), status, error.retry_after ?? null);
    }
    return new ApiError("error", `unexpected reply (HTTP ${status ?? "?"})`, status);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message || error.code;
  if (error instanceof Error) return error.message;
  return String(error);
}
