import { trustIndicator } from "@/lib/trust";
import type { ClientConfig } from "@/lib/types";
import "@/features/trust/components/trust-indicator.css";

/** One line on who could read this server's messages, from its key-service layout. */
export function TrustIndicator({ config }: { config: ClientConfig }) {
  const trust = trustIndicator(config);
  const sentence = trust.summary.charAt(0).toUpperCase() + trust.summary.slice(1);
  return (
    <p className={`trust trust--${trust.layout}`} data-testid="trust-indicator">
      <span>{sentence}.</span>{" "}
      {trust.docsUrl ? (
        <a href={trust.docsUrl} target="_blank" rel="noreferrer">
          Why?
        </a>
      ) : (
        <span className="trust__docs" title={`Explained in ${trust.docsName}`}>
          ({trust.docsName})
        </span>
      )}
    </p>
  );
}
