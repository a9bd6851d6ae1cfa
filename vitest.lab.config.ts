// The lab suite: real hosts in network namespaces (test/lab/README.md); run with `npm run test:lab`, as root.
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/lab/**/*.test.ts"],
    pool: "forks",
    testTimeout: 180_000,
    hookTimeout: 180_000
  }
})
