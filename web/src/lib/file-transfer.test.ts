// Upload with progress and cancel, download with progress, and the full trip: a file
// sealed and "uploaded", then fetched and opened (a fake XHR and fetch stand in for HTTP).

import { describe, expect, it } from "vitest";

import { ApiError } from "@/lib/errors";
import { FileSealError } from "@/lib/file-seal";
import { fetchFile, prepareFile, safeType, uploadBlob } from "@/lib/file-transfer";

type Listener = ((event: { loaded: number; total: number }) => void) | null;

/** Just enough of XMLHttpRequest: answers after reporting progress, unless aborted. */
class FakeXhr {
  static stored = new Map<string, Uint8Array>();
  upload: { onprogress: Listener } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  status = 0;
  responseText = "";
  headers: Record<string, string> = {};
  url = "";
  aborted = false;

  constructor(private readonly answer: { status: number; hold?: boolean } = { status: 201 }) {}

  open(_method: string, url: string) {
    this.url = url;
  }

  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }

  abort() {
    this.aborted = true;
    this.onabort?.();
  }

  send(body: Blob) {
    void (async () => {
      const bytes = new Uint8Array(await body.arrayBuffer());
      this.upload.onprogress?.({ loaded: bytes.length / 2, total: bytes.length });
      if (this.answer.hold || this.aborted) return;
      this.upload.onprogress?.({ loaded: bytes.length, total: bytes.length });
      this.status = this.answer.status;
      if (this.status === 201) {
        const id = `blob-${FakeXhr.stored.size + 1}`;
        FakeXhr.stored.set(id, bytes);
        this.responseText = JSON.stringify({ blob: { id, room_id: "r", size: bytes.length, created_at: "" } });
      } else {
        this.responseText = JSON.stringify({ error: { code: "quota_exceeded", message: "over your quota" } });
      }
      this.onload?.();
    })();
  }
}

const fakeFetch = (async (url: string) => {
  const id = url.split("/").pop()!;
  const bytes = FakeXhr.stored.get(id);
  if (!bytes) return new Response(JSON.stringify({ error: { code: "not_found", message: "no such file" } }), { status: 404 });
  return new Response(bytes as BodyInit, { headers: { "content-length": String(bytes.length) } });
}) as unknown as typeof fetch;

const base = { baseUrl: "http://chat.test", token: "t" };

describe("uploadBlob", () => {
  it("reports progress and answers the stored blob", async () => {
    const seen: number[] = [];
    const blob = await uploadBlob("r", new Blob([new Uint8Array(100)]), {
      ...base,
      onProgress: (done) => seen.push(done),
      xhr: () => new FakeXhr() as unknown as XMLHttpRequest,
    });
    expect(blob.size).toBe(100);
    expect(seen).toEqual([50, 100]);
  });

  it("turns a refusal into an ApiError with its code", async () => {
    const refused = uploadBlob("r", new Blob([new Uint8Array(10)]), { ...base, xhr: () => new FakeXhr({ status: 413 }) as unknown as XMLHttpRequest });
    await expect(refused).rejects.toBeInstanceOf(ApiError);
    await expect(refused).rejects.toMatchObject({ code: "quota_exceeded", status: 413 });
  });

  it("is cancelled through its signal", async () => {
    const controller = new AbortController();
    const xhr = new FakeXhr({ status: 201, hold: true });
    const pending = uploadBlob("r", new Blob([new Uint8Array(10)]), { ...base, signal: controller.signal, xhr: () => xhr as unknown as XMLHttpRequest });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: "AbortError" });
    expect(xhr.aborted).toBe(true);
  });
});

describe("prepareFile and fetchFile", () => {
  it("seal, upload, download and open a file; the blob is not the file", async () => {
    const data = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 13) & 255);
    const file = new File([data as BlobPart], "notes.txt", { type: "text/plain" });
    const stages: string[] = [];
    const content = await prepareFile("r", file, { ...base, onStage: (s) => stages.push(s), xhr: () => new FakeXhr() as unknown as XMLHttpRequest });
    expect(stages).toEqual(["sealing", "uploading"]);
    expect(content).toMatchObject({ type: "file", name: "notes.txt", media_type: "text/plain", size: 100_000 });
    const stored = FakeXhr.stored.get(content.blob_id)!;
    expect(stored.length).toBeGreaterThan(data.length);
    const seen: number[] = [];
    const opened = await fetchFile(content, { ...base, fetch: fakeFetch, onProgress: (done) => seen.push(done) });
    expect(new Uint8Array(await opened.arrayBuffer())).toEqual(data);
    expect(opened.type).toBe("text/plain");
    expect(seen.at(-1)).toBe(stored.length);

    stored[40] = stored[40]! ^ 1; // a tampered blob: "Unable to decrypt"
    await expect(fetchFile(content, { ...base, fetch: fakeFetch })).rejects.toBeInstanceOf(FileSealError);
    await expect(fetchFile({ ...content, blob_id: "nope" }, { ...base, fetch: fakeFetch })).rejects.toMatchObject({ code: "not_found" });
  });

  it("keeps only harmless media types for object URLs", () => {
    expect(safeType("image/png")).toBe("image/png");
    expect(safeType("text/html")).toBe("application/octet-stream");
    expect(safeType("image/svg+xml")).toBe("application/octet-stream");
  });
});
