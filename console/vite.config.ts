import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { resolve } from "node:path";

// The build lands in the Python package, so the wheel ships it (no CDN at run time).
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: resolve(__dirname, "../platform/rapport/_data/console"),
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      input: { index: resolve(__dirname, "index.html"), graphiql: resolve(__dirname, "graphiql.html") },
    },
  },
});
