import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // gRPC + SQLite native handles: the forks pool is the safe default for native addons
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
