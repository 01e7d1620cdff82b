// A single-page app: every byte of data arrives over the Convex WebSocket, so nothing renders on a server.
export const ssr = false;
export const prerender = false;
