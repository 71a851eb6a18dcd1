import { defineConfig } from "vite";

// The app calls todoql cross-origin: start the server with
// TODOQL_CORS_ORIGINS=http://localhost:5173 (and TODOQL_APP_URL=http://localhost:5173 so that the
// links in mails open this app). VITE_TODOQL_URL points the app at another server.
export default defineConfig({
  server: { port: 5173, strictPort: true },
  preview: { port: 5173, strictPort: true },
  build: { target: "es2022" },
});
