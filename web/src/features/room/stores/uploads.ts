// Uploads in progress in one room: each file is sealed, uploaded (with progress) and then
// sent through the outbox as a `file` message. The view shows an upload where its message
// will be, with a progress bar and Cancel; a cancelled upload sends nothing, a failed one
// stays with its reason until dismissed.

import { errorMessage } from "@/lib/errors";
import type { ImageFacts } from "@/lib/file-transfer";
import { Store } from "@/lib/store";

export interface UploadView {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  /** "sealing" (encrypting in the browser), "uploading", or "failed". */
  readonly stage: "sealing" | "uploading" | "failed";
  /** 0 to 100. */
  readonly percent: number;
  readonly error: string | null;
}

export interface SendFileOptions {
  onProgress: (done: number, total: number) => void;
  onStage: (stage: "sealing" | "uploading") => void;
  signal: AbortSignal;
  describeImage?: (file: File) => Promise<ImageFacts | null>;
}

export interface UploadDeps {
  /** Seal, upload and send (lib/room.ts `sendFile`). */
  sendFile(file: File, options: SendFileOptions): Promise<unknown>;
  /** Width, height and thumbnail of an image (drawn by a canvas). */
  describeImage?: (file: File) => Promise<ImageFacts | null>;
}

export class Uploads {
  readonly store = new Store<{ uploads: readonly UploadView[] }>({ uploads: [] });
  private readonly controllers = new Map<string, AbortController>();
  private next = 0;

  constructor(private readonly deps: UploadDeps) {}

  /** Start uploading `file`; returns the upload's id. */
  start(file: File): string {
    const id = `upload-${++this.next}`;
    const controller = new AbortController();
    this.controllers.set(id, controller);
    this.put({ id, name: file.name || "file", size: file.size, stage: "sealing", percent: 0, error: null });
    void this.deps
      .sendFile(file, {
        signal: controller.signal,
        describeImage: this.deps.describeImage,
        onStage: (stage) => this.update(id, { stage }),
        onProgress: (done, total) => {
          const percent = total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 0;
          // One update per whole percent: progress events come far more often.
          if (this.find(id)?.percent !== percent) this.update(id, { percent });
        },
      })
      .then(
        () => this.remove(id),
        (error: unknown) => {
          if (controller.signal.aborted) this.remove(id);
          else this.update(id, { stage: "failed", error: errorMessage(error) });
        },
      )
      .finally(() => this.controllers.delete(id));
    return id;
  }

  /** Stop an upload: nothing is sent (what reached the server is cleaned up by it). */
  cancel(id: string): void {
    this.controllers.get(id)?.abort();
    this.remove(id);
  }

  /** Put away a failed upload. */
  dismiss(id: string): void {
    if (this.find(id)?.stage === "failed") this.remove(id);
  }

  dispose(): void {
    for (const controller of this.controllers.values()) controller.abort();
    this.controllers.clear();
  }

  private find(id: string): UploadView | undefined {
    return this.store.get().uploads.find((upload) => upload.id === id);
  }

  private put(upload: UploadView): void {
    this.store.set(({ uploads }) => ({ uploads: [...uploads, upload] }));
  }

  private update(id: string, patch: Partial<UploadView>): void {
    if (!this.find(id)) return;
    this.store.set(({ uploads }) => ({ uploads: uploads.map((upload) => (upload.id === id ? { ...upload, ...patch } : upload)) }));
  }

  private remove(id: string): void {
    if (this.find(id)) this.store.set(({ uploads }) => ({ uploads: uploads.filter((upload) => upload.id !== id) }));
  }
}

/** "1.5 MB": a size for people (powers of 1024, as file managers show). */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
