import adapter from "@sveltejs/adapter-static";

/**
 * The dashboard lives in site/. It is a static single-page app: all data comes over the Convex WebSocket,
 * so there is no server rendering and every route falls back to index.html.
 * @type {import('@sveltejs/kit').Config}
 */
const config = {
  kit: {
    adapter: adapter({ pages: "site/build", assets: "site/build", fallback: "index.html", strict: true }),
    outDir: "site/.svelte-kit",
    files: {
      src: "site/src",
      assets: "site/static",
      lib: "site/src/lib",
      routes: "site/src/routes",
      appTemplate: "site/src/app.html",
      errorTemplate: "site/src/error.html",
      hooks: {
        client: "site/src/hooks.client",
        server: "site/src/hooks.server",
        universal: "site/src/hooks",
      },
      params: "site/src/params",
      serviceWorker: "site/src/service-worker",
    },
    alias: { $convex: "convex" },
  },
};

export default config;
