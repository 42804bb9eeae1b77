import { fileURLToPath } from "node:url";

import react from "@vitejs/plugin-react";
import { loadEnv } from "vite";
import { defineConfig } from "vitest/config";

// `npm run dev` serves the app with hot reload and forwards the API, the key service and
// the socket to a running Sealchat server (SEALCHAT_DEV_SERVER, default tools/run's URL).
// The server accepts only same-origin sockets, so the proxy presents the target's origin.
export default defineConfig(({ mode }) => {
  const target = loadEnv(mode, process.cwd(), "SEALCHAT_").SEALCHAT_DEV_SERVER ?? "http://127.0.0.1:8000";
  const forward = { target, changeOrigin: true, headers: { origin: target } };
  return {
    plugins: [react()],
    resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
    build: {
      outDir: "dist",
      // Source maps would publish nothing secret, but keep the served bundle lean.
      sourcemap: false,
    },
    server: {
      proxy: {
        "/api": forward,
        "/kms": forward,
        "/.well-known": forward,
        "/socket.io": { ...forward, ws: true },
      },
    },
    test: {
      environment: "node",
      include: ["src/**/*.test.ts"],
    },
  };
});
