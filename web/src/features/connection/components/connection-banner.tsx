import { WifiOffIcon } from "@/components/icons";
import type { ConnectionState } from "@/lib/chat-client";
import "@/features/connection/components/connection-banner.css";

const TEXT: Partial<Record<ConnectionState, string>> = {
  connecting: "Connecting…",
  reconnecting: "Connection lost. Reconnecting… What you write waits and is sent once it is back.",
  offline: "You are offline. What you write waits and is sent when the connection is back.",
};

/** Shown while the realtime connection is not up; hidden otherwise. */
export function ConnectionBanner({ state }: { state: ConnectionState }) {
  const text = TEXT[state];
  return (
    <div className="connection-banner-slot" role="status" aria-live="polite">
      {text && (
        <div className={`connection-banner connection-banner--${state}`} data-testid="connection-banner">
          <WifiOffIcon />
          <span>{text}</span>
        </div>
      )}
    </div>
  );
}
