// Uploads in a room: progress by whole percent, a cancel that sends nothing, a failure that
// stays with its reason until dismissed; and a pending file shows as a file before its ack.

import { describe, expect, it } from "vitest";

import { RoomViewStore } from "@/features/room/stores/room-view-store";
import { formatSize, Uploads, type SendFileOptions } from "@/features/room/stores/uploads";
import { fakeSdk, ME, settle } from "@/testing/fakes";

function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

function harness() {
  const calls: Array<{ file: File; options: SendFileOptions; done: ReturnType<typeof deferred> }> = [];
  const uploads = new Uploads({
    sendFile: (file, options) => {
      const done = deferred();
      options.signal.addEventListener("abort", () => done.reject(new DOMException("cancelled", "AbortError")));
      calls.push({ file, options, done });
      return done.promise;
    },
  });
  return { uploads, calls, list: () => uploads.store.get().uploads };
}

describe("Uploads", () => {
  it("shows sealing, then upload progress by whole percent, and goes once sent", async () => {
    const { uploads, calls, list } = harness();
    uploads.start(new File(["x".repeat(1000)], "notes.txt"));
    expect(list()).toMatchObject([{ name: "notes.txt", size: 1000, stage: "sealing", percent: 0 }]);
    const { options, done } = calls[0]!;
    options.onStage("uploading");
    let announced = 0;
    const stop = uploads.store.subscribe(() => announced++);
    options.onProgress(101, 1000);
    options.onProgress(105, 1000); // still 10 %: not announced
    options.onProgress(550, 1000);
    stop();
    expect(announced).toBe(2);
    expect(list()[0]).toMatchObject({ stage: "uploading", percent: 55 });
    done.resolve();
    await settle();
    expect(list()).toEqual([]);
  });

  it("cancels: the upload is aborted and disappears at once", async () => {
    const { uploads, calls, list } = harness();
    const id = uploads.start(new File(["abc"], "big.bin"));
    uploads.cancel(id);
    expect(calls[0]!.options.signal.aborted).toBe(true);
    expect(list()).toEqual([]);
    await settle();
    expect(list()).toEqual([]);
  });

  it("keeps a failure with its reason until dismissed", async () => {
    const { uploads, calls, list } = harness();
    const id = uploads.start(new File(["abc"], "a.pdf"));
    calls[0]!.done.reject(new Error("quota exceeded"));
    await settle();
    expect(list()).toMatchObject([{ stage: "failed", error: "quota exceeded" }]);
    uploads.dismiss(id);
    expect(list()).toEqual([]);
  });

  it("dispose aborts what is on its way", () => {
    const { uploads, calls } = harness();
    uploads.start(new File(["a"], "a"));
    uploads.dispose();
    expect(calls[0]!.options.signal.aborted).toBe(true);
  });
});

describe("formatSize", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.5 KB"],
    [20 * 1024 * 1024, "20 MB"],
  ])("%d bytes is %s", (bytes, text) => expect(formatSize(bytes)).toBe(text));
});

describe("RoomViewStore with files", () => {
  it("shows a pending file message as a file, then the stored one", async () => {
    const sdk = fakeSdk();
    sdk.server.addRoom("r");
    sdk.client.connect();
    await settle();
    const room = sdk.room("r");
    const view = new RoomViewStore(room, ME);
    await room.load();
    const file = {
      type: "file",
      name: "plan.pdf",
      media_type: "application/pdf",
      size: 3,
      blob_id: "b1",
      key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      sha256: "0".repeat(64),
    };
    room.send(file);
    await Promise.resolve();
    await Promise.resolve();
    const [pending] = view.store.get().items;
    expect(pending?.body).toMatchObject({ kind: "file", file: { name: "plan.pdf" } });
    await settle();
    expect(sdk.server.sends.at(-1)?.attachments).toEqual(["b1"]);
    expect(view.store.get().items.map((item) => [item.body.kind, item.delivery])).toEqual([["file", "sent"]]);
  });
});
