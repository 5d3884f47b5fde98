import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      { test: { name: "library", include: ["test/**/*.test.ts"], exclude: ["test/worker/**"], environment: "node" } },
    ],
  },
});
