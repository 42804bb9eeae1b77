// Which implementations the SDK runs with in this app: the one place that names them.
// Today the embedded key service; an AWS KMS client is another KeyServiceFactory.

import type { ApiClient } from "@/lib/api-client";
import { ChatSession, type KeyServiceFactory } from "@/lib/chat-session";
import { embeddedKeyService } from "@/lib/key-service";

export const keyServiceFactory: KeyServiceFactory = embeddedKeyService;

export function startChatSession(api: ApiClient): Promise<ChatSession> {
  return ChatSession.start(api, { keyService: keyServiceFactory });
}
