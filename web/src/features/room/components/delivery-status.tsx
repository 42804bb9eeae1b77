import { CheckIcon, ClockIcon } from "@/components/icons";
import type { Delivery } from "@/features/room/stores/message-view";

interface Props {
  delivery: Delivery;
  error: string | null;
  onRetry: () => void;
}

/** Where one of my messages stands: waiting for the connection, sending, sent, or failed with a retry. */
export function DeliveryStatus({ delivery, error, onRetry }: Props) {
  if (delivery === "failed") {
    return (
      <span className="delivery delivery--failed" data-delivery="failed" role="alert">
        Not sent{error ? `: ${error}` : ""}
        <button type="button" className="link-button" onClick={onRetry}>
          Retry
        </button>
      </span>
    );
  }
  if (delivery === "waiting") {
    return (
      <span className="delivery delivery--waiting" data-delivery="waiting" title="Not sent yet: it goes out when the connection is back">
        <ClockIcon className="icon icon--tiny" />
        Waiting to reconnect
      </span>
    );
  }
  const sending = delivery === "sending";
  return (
    <span className={`delivery delivery--${delivery}`} data-delivery={delivery} title={sending ? "Sending" : "Sent"}>
      {sending ? <ClockIcon className="icon icon--tiny" /> : <CheckIcon className="icon icon--tiny" />}
      <span className="visually-hidden">{sending ? "Sending" : "Sent"}</span>
    </span>
  );
}
