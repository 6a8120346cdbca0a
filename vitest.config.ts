import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Tests spawn Python drivers; two workers fit CI's two cores.
    maxWorkers: 2,
  },
});
