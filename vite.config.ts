import { reactRouter } from '@react-router/dev/vite';
import { defineConfig } from 'vite';

// Builds the web app (app/) into build/; the server (src/server) loads build/server/index.js.
export default defineConfig({
  plugins: [reactRouter()],
  build: { target: 'es2022' },
});
