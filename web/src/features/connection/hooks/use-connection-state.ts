import { useEffect, useState } from "react";

import type { ChatClient, ConnectionState } from "@/lib/chat-client";

export function useConnectionState(client: ChatClient): ConnectionState {
  const [state, setState] = useState(client.connection);
  useEffect(() => {
    setState(client.connection);
    return client.events.on("connection", setState);
  }, [client]);
  return state;
}
