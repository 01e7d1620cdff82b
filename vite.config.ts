import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

// The dashboard (site/). Tests have their own configs: vitest.config.ts (unit) and test/browser/ (Chromium).
export default defineConfig({
  plugins: [sveltekit()],
  server: { port: 5173, fs: { allow: ["convex"] } },
});
