import { createContext } from "react";

import type { FileContent } from "@/lib/content";
import type { Progress } from "@/lib/file-transfer";

/** How a file message gets its file: download and open (the room view provides it). */
export type FetchFile = (file: FileContent, options: { onProgress?: Progress; signal?: AbortSignal }) => Promise<Blob>;

export const FileAccess = createContext<FetchFile | null>(null);
