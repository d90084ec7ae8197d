import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// The app server serves dist/ at `/`; in development Vite proxies the API and
// the WebSocket to a server started separately on port 3000.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), tailwindcss()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // bench/web.bench.ts reads the chunk graph to measure what a first visit loads.
    manifest: true,
    // livekit-client (~560 KB, 143 KB gzipped) is one lazy chunk, loaded only when LiveKit is enabled.
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/api": "http://127.0.0.1:3000",
      "/healthz": "http://127.0.0.1:3000",
      "/ws": { target: "ws://127.0.0.1:3000", ws: true },
    },
  },
});
