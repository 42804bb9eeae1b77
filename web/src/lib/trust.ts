// What the server's key-service layout means for who could read messages, in one line.
// GET /api/config names the layout (`key_service_layout`); the words are the clients' own
// (the same in sealchat/client/trust.py and the README), so a server picks a layout but
// cannot write what people are told.

import type { ClientConfig } from "@/lib/types";

export type KeyServiceLayout = "embedded-same-process" | "separate" | "aws-kms";

const SUMMARIES: Record<KeyServiceLayout, string> = {
  "embedded-same-process": "key service in the same process as the server: the server's operator could read messages",
  separate: "separate key service: the server holds no master keys; every data key it could obtain is handed out, and logged, by the key service",
  "aws-kms": "AWS KMS: data keys are unwrapped by AWS KMS with each person's own credentials; whoever controls the AWS account's key policy could read messages",
};
const UNKNOWN = "unknown key service layout: assume the server's operator could read messages";
const DOCS_SECTION = "key-service.md#12-what-clients-say-about-the-layout";

export interface TrustIndicator {
  layout: string;
  summary: string;
  /** A URL when the server publishes its docs (`docs_url`), else null. */
  docsUrl: string | null;
  /** The docs section, named for people. */
  docsName: string;
}

/** The indicator for a GET /api/config answer; older servers ran the key service in process
 * unless they named AWS KMS. */
export function trustIndicator(config: Pick<ClientConfig, "key_service" | "key_service_layout" | "docs_url">): TrustIndicator {
  const layout = config.key_service_layout ?? (config.key_service?.type === "aws-kms" ? "aws-kms" : "embedded-same-process");
  const summary = layout in SUMMARIES ? SUMMARIES[layout as KeyServiceLayout] : UNKNOWN;
  const docsUrl = config.docs_url ? `${config.docs_url.replace(/\/+$/, "")}/${DOCS_SECTION}` : null;
  return { layout, summary, docsUrl, docsName: `docs/${DOCS_SECTION}` };
}
