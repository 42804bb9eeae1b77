import { memo } from "react";

import { AlertIcon, FileIcon } from "@/components/icons";
import { ProgressBar } from "@/components/progress-bar";
import { formatSize, type UploadView } from "@/features/room/stores/uploads";

/** A file on its way, where its message will be: progress and Cancel (or why it failed). */
export const UploadItem = memo(function UploadItem({ upload, onCancel, onDismiss }: { upload: UploadView; onCancel: (id: string) => void; onDismiss: (id: string) => void }) {
  const failed = upload.stage === "failed";
  return (
    <li className="message message--mine upload" data-testid="upload" data-stage={upload.stage}>
      <div className="message__gutter" />
      <div className="message__main">
        <div className="upload__card">
          <FileIcon className="icon file-card__icon" />
          <span className="file-card__text">
            <span className="file-card__name">{upload.name}</span>
            <span className="file-card__meta">
              {formatSize(upload.size)} · {failed ? "not sent" : upload.stage === "sealing" ? "Encrypting…" : `Uploading ${upload.percent} %`}
            </span>
          </span>
          {failed ? (
            <button type="button" className="link-button" aria-label={`Dismiss ${upload.name}`} onClick={() => onDismiss(upload.id)}>
              Dismiss
            </button>
          ) : (
            <button type="button" className="link-button" aria-label={`Cancel upload of ${upload.name}`} onClick={() => onCancel(upload.id)}>
              Cancel
            </button>
          )}
        </div>
        {failed ? (
          <p className="message__undecryptable" role="alert">
            <AlertIcon className="icon icon--inline" />
            Could not send {upload.name}: {upload.error}
          </p>
        ) : (
          <ProgressBar label={`Uploading ${upload.name}`} value={upload.stage === "sealing" ? 0 : upload.percent} text={upload.stage === "sealing" ? "Encrypting" : `${upload.percent} %`} />
        )}
      </div>
    </li>
  );
});
