import { memo, useContext, useEffect, useRef, useState } from "react";

import { AlertIcon, FileIcon } from "@/components/icons";
import { Modal } from "@/components/modal";
import { ProgressBar } from "@/components/progress-bar";
import { FileAccess } from "@/features/room/components/file-access";
import { formatSize } from "@/features/room/stores/uploads";
import type { FileContent } from "@/lib/content";
import { errorMessage } from "@/lib/errors";
import { safeType, thumbnailBlob } from "@/lib/file-transfer";
import { FileSealError } from "@/lib/file-seal";

type Transfer = { state: "idle" } | { state: "loading"; percent: number } | { state: "failed"; undecryptable: boolean; reason: string };

/** A file message: an image inline from its thumbnail (full size on click), else a card
 * that downloads, opens and saves the file on click. */
export const FileMessage = memo(function FileMessage({ file }: { file: FileContent }) {
  return inlineImage(file) ? <ImageMessage file={file} /> : <FileCard file={file} />;
});

/** Shown inline: an image type the page may show, with a thumbnail made by the sender. */
function inlineImage(file: FileContent): boolean {
  return file.thumbnail !== undefined && safeType(file.media_type).startsWith("image/");
}

/** Download and open a file, with progress, cancel and the "Unable to decrypt" outcome. */
function useTransfer(file: FileContent) {
  const fetchFile = useContext(FileAccess);
  const [transfer, setTransfer] = useState<Transfer>({ state: "idle" });
  const controller = useRef<AbortController | null>(null);
  useEffect(() => () => controller.current?.abort(), []);
  const start = async (abort = new AbortController()): Promise<Blob | null> => {
    if (!fetchFile || (controller.current && !controller.current.signal.aborted)) return null;
    controller.current = abort;
    setTransfer({ state: "loading", percent: 0 });
    try {
      let shown = 0;
      const blob = await fetchFile(file, {
        signal: abort.signal,
        onProgress: (done, total) => {
          const percent = total > 0 ? Math.floor((done / total) * 100) : 0;
          if (percent !== shown) setTransfer({ state: "loading", percent: (shown = percent) });
        },
      });
      setTransfer({ state: "idle" });
      return blob;
    } catch (error) {
      if (abort.signal.aborted) {
        if (controller.current === abort) setTransfer({ state: "idle" });
      }
      else setTransfer({ state: "failed", undecryptable: error instanceof FileSealError, reason: error instanceof FileSealError ? error.reason : errorMessage(error) });
      return null;
    } finally {
      if (controller.current === abort) controller.current = null;
    }
  };
  const cancel = () => controller.current?.abort();
  return { transfer, start, cancel };
}

function TransferState({ transfer, name, onCancel }: { transfer: Transfer; name: string; onCancel: () => void }) {
  if (transfer.state === "loading") {
    return (
      <div className="file-transfer">
        <ProgressBar label={`Downloading ${name}`} value={transfer.percent} text={`${transfer.percent} %`} />
        <button type="button" className="link-button" aria-label={`Cancel download of ${name}`} onClick={onCancel}>
          Cancel
        </button>
      </div>
    );
  }
  if (transfer.state === "failed") {
    return transfer.undecryptable ? (
      <p className="message__undecryptable" role="alert">
        <AlertIcon className="icon icon--inline" />
        <strong>Unable to decrypt</strong> — the file was changed or cut short. <code className="message__reason">{transfer.reason}</code>
      </p>
    ) : (
      <p className="message__undecryptable" role="alert">
        <AlertIcon className="icon icon--inline" />
        Could not download this file: {transfer.reason}
      </p>
    );
  }
  return null;
}

function FileCard({ file }: { file: FileContent }) {
  const { transfer, start, cancel } = useTransfer(file);
  const save = async () => {
    const blob = await start();
    if (!blob) return;
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = file.name;
    link.rel = "noopener";
    document.body.append(link);
    link.click();
    link.remove();
    // The download has its own copy once started.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };
  return (
    <div className="file-card" data-testid="file-card">
      <button type="button" className="file-card__button" onClick={() => void save()} aria-label={`Download ${file.name}, ${formatSize(file.size)}`} disabled={transfer.state === "loading"}>
        <FileIcon className="icon file-card__icon" />
        <span className="file-card__text">
          <span className="file-card__name">{file.name}</span>
          <span className="file-card__meta">
            {describeType(file.media_type)} · {formatSize(file.size)}
          </span>
        </span>
      </button>
      <TransferState transfer={transfer} name={file.name} onCancel={cancel} />
    </div>
  );
}

/** "PDF", "PNG image", or the media type as given. */
function describeType(mediaType: string): string {
  const base = (mediaType.split(";")[0] ?? "").trim().toLowerCase();
  const [kind, sub] = base.split("/");
  if (!sub) return base || "file";
  if (kind === "image") return `${sub.toUpperCase()} image`;
  if (base === "application/pdf") return "PDF";
  if (kind === "text") return sub === "plain" ? "Text" : `${sub} text`;
  return base;
}

/** A URL for a Blob while the component shows it. */
function useObjectUrl(blob: Blob | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob) return;
    const made = URL.createObjectURL(blob);
    setUrl(made);
    return () => {
      URL.revokeObjectURL(made);
      setUrl(null);
    };
  }, [blob]);
  return url;
}

const INLINE_SIDE = 320;

function ImageMessage({ file }: { file: FileContent }) {
  const [thumbnail] = useState(() => thumbnailBlob(file));
  const url = useObjectUrl(thumbnail);
  const [open, setOpen] = useState(false);
  const width = file.width ?? INLINE_SIDE;
  const height = file.height ?? INLINE_SIDE;
  const scale = Math.min(1, INLINE_SIDE / Math.max(width, height));
  return (
    <div className="file-image">
      <button type="button" className="file-image__button" aria-label={`Open image ${file.name} at full size`} onClick={() => setOpen(true)}>
        {url && <img className="file-image__thumbnail" src={url} alt={file.name} width={Math.round(width * scale)} height={Math.round(height * scale)} />}
      </button>
      <span className="file-image__meta">
        {file.name} · {formatSize(file.size)}
      </span>
      {open && <ImageDialog file={file} onClose={() => setOpen(false)} />}
    </div>
  );
}

function ImageDialog({ file, onClose }: { file: FileContent; onClose: () => void }) {
  const { transfer, start, cancel } = useTransfer(file);
  const [blob, setBlob] = useState<Blob | null>(null);
  const url = useObjectUrl(blob);
  useEffect(() => {
    const abort = new AbortController();
    void start(abort).then((opened) => opened && !abort.signal.aborted && setBlob(opened));
    return () => abort.abort();
  }, []); // once per dialog opened
  return (
    <Modal title={file.name} onClose={onClose} className="modal--image">
      {url ? (
        <img className="file-image__full" src={url} alt={file.name} width={file.width} height={file.height} />
      ) : transfer.state === "idle" ? (
        <p className="message__text message__text--muted">Decrypting…</p>
      ) : null}
      <TransferState transfer={transfer} name={file.name} onCancel={cancel} />
    </Modal>
  );
}
