import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Built by web/build.sh as `vite build web`: paths here are relative to web/.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0 },
});
