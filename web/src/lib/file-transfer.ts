// Sealed files over HTTP (docs/protocol.md §3.6): upload a sealed blob with progress and
// cancel, download one with progress and cancel, and the two steps around them: a file
// becomes a `file` content (seal, upload) and a `file` content becomes the file again
// (download, open). Components only add the views.

import type { ApiClient } from "@/lib/api-client";
import { encodeBase64, decodeCanonicalBase64 } from "@/lib/base64";
import { ApiError } from "@/lib/errors";
import type { FileContent, Thumbnail } from "@/lib/file-content";
import { FileSealError, openFile, sealFile } from "@/lib/file-seal";

export interface UploadedBlob {
  id: string;
  room_id: string;
  size: number;
  created_at: string;
}

/** (bytes done, bytes in all) */
export type Progress = (done: number, total: number) => void;

export interface TransferOptions {
  baseUrl: string;
  token: string;
  onProgress?: Progress;
  signal?: AbortSignal;
}

/** The server and a current access token, from the session's REST client. */
export async function transferTarget(api: ApiClient): Promise<{ baseUrl: string; token: string }> {
  return { baseUrl: api.baseUrl, token: await api.auth.accessToken() };
}

function cancelled(what: string): DOMException {
  return new DOMException(`the ${what} was cancelled`, "AbortError");
}

/** POST a sealed blob to a room (XMLHttpRequest: fetch reports no upload progress). */
export function uploadBlob(
  roomId: string,
  body: Blob,
  options: TransferOptions & { xhr?: () => XMLHttpRequest },
): Promise<UploadedBlob> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(cancelled("upload"));
      return;
    }
    const request = options.xhr ? options.xhr() : new XMLHttpRequest();
    const abort = () => request.abort();
    options.signal?.addEventListener("abort", abort, { once: true });
    const done = () => options.signal?.removeEventListener("abort", abort);
    request.open("POST", `${options.baseUrl}/api/rooms/${encodeURIComponent(roomId)}/blobs`);
    request.setRequestHeader("Authorization", `Bearer ${options.token}`);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.upload.onprogress = (event) => options.onProgress?.(event.loaded, event.total || body.size);
    request.onload = () => {
      done();
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(request.responseText);
      } catch {
        // not JSON: reported below
      }
      if (request.status === 201 && parsed && typeof parsed === "object" && "blob" in parsed) {
        resolve((parsed as { blob: UploadedBlob }).blob);
      } else {
        reject(ApiError.fromBody(parsed, request.status));
      }
    };
    request.onerror = () => {
      done();
      reject(new ApiError("unavailable", "cannot reach the server"));
    };
    request.onabort = () => {
      done();
      reject(cancelled("upload"));
    };
    request.send(body);
  });
}

/** GET a blob's bytes, streamed (progress per chunk). */
export async function downloadBlob(
  blobId: string,
  options: TransferOptions & { fetch?: typeof fetch; expectedBytes?: number },
): Promise<Uint8Array> {
  const get = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await get(`${options.baseUrl}/api/blobs/${encodeURIComponent(blobId)}`, {
      headers: { Authorization: `Bearer ${options.token}` },
      signal: options.signal,
      credentials: "same-origin",
    });
  } catch (error) {
    if (options.signal?.aborted) throw cancelled("download");
    throw error instanceof ApiError ? error : new ApiError("unavailable", "cannot reach the server");
  }
  if (!response.ok) throw ApiError.fromBody(await response.json().catch(() => null), response.status);
  const total = Number(response.headers.get("content-length")) || options.expectedBytes || 0;
  const parts: Uint8Array[] = [];
  let received = 0;
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      received += value.length;
      options.onProgress?.(received, total);
    }
  } catch (error) {
    if (options.signal?.aborted) throw cancelled("download");
    throw error;
  }
  const out = new Uint8Array(received);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export interface ImageFacts {
  width: number;
  height: number;
  thumbnail?: Thumbnail;
}

export interface PrepareFileOptions extends TransferOptions {
  /** Image facts made by the view (a canvas draws the thumbnail); optional. */
  describeImage?: (file: File) => Promise<ImageFacts | null>;
  /** Called with what is going on: sealing, then uploading. */
  onStage?: (stage: "sealing" | "uploading") => void;
  xhr?: () => XMLHttpRequest;
}

/** Seal a file, upload it to the room, and return the `file` content to send (through the
 * outbox: a file content's blob id goes with it as an attachment). */
export async function prepareFile(roomId: string, file: File, options: PrepareFileOptions): Promise<FileContent> {
  options.onStage?.("sealing");
  const sealed = await sealFile(file, { signal: options.signal });
  options.onStage?.("uploading");
  const blob = await uploadBlob(roomId, sealed.blob, options);
  const content: FileContent = {
    type: "file",
    name: (file.name || "file").slice(0, 255),
    media_type: file.type || "application/octet-stream",
    size: sealed.size,
    blob_id: blob.id,
    key: encodeBase64(sealed.key),
    sha256: sealed.sha256,
  };
  const image = file.type.startsWith("image/") && options.describeImage ? await options.describeImage(file) : null;
  if (image) {
    content.width = image.width;
    content.height = image.height;
    if (image.thumbnail) content.thumbnail = image.thumbnail;
  }
  return content;
}

/** Download and open a file message's blob: the file, typed with its media type. Throws
 * `FileSealError` ("Unable to decrypt") when the blob does not open, or is not the size
 * the message announced. */
export async function fetchFile(content: FileContent, options: TransferOptions & { fetch?: typeof fetch }): Promise<Blob> {
  const blob = await downloadBlob(content.blob_id, options);
  const plain = await openFile(decodeCanonicalBase64(content.key)!, blob, content.sha256);
  if (plain.length !== content.size) {
    throw new FileSealError("malformed", `the file is ${plain.length} bytes, not the ${content.size} announced`);
  }
  return new Blob([plain as BlobPart], { type: safeType(content.media_type) });
}

// A sender names the media type. Object URLs share this page's origin, so only types
// that cannot run script keep theirs; anything else (text/html, image/svg+xml) is bytes.
const SAFE_TYPES: readonly string[] = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "text/plain"];

/** The type a downloaded file may carry in this origin: the sender's, when harmless. */
export function safeType(mediaType: string): string {
  const base = (mediaType.split(";")[0] ?? "").trim().toLowerCase();
  return SAFE_TYPES.includes(base) ? base : "application/octet-stream";
}

/** The thumbnail of an image message as a Blob (for an object URL), if it has one. */
export function thumbnailBlob(content: FileContent): Blob | null {
  if (!content.thumbnail) return null;
  const bytes = decodeCanonicalBase64(content.thumbnail.data);
  return bytes ? new Blob([bytes as BlobPart], { type: content.thumbnail.media_type }) : null;
}
