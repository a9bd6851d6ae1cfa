import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // tests import `helyos/testkit` as its users do; here it is the source, not a build in dist/
    alias: { "helyos/testkit": fileURLToPath(new URL("./src/testkit/index.ts", import.meta.url)) }
  },
  test: {
    // gRPC + SQLite native handles: the forks pool is the safe default for native addons
    pool: "forks",
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: ["test/**/*.test.ts"],
          exclude: ["test/lab/**", "**/node_modules/**"],
          testTimeout: 30_000,
          hookTimeout: 60_000
        }
      },
      {
        // real hosts in network namespaces (test/lab/README.md), as root; run after the rest so that
        // their compressed timers do not compete with the other suites for the two cores
        extends: true,
        test: {
          name: "lab",
          include: ["test/lab/**/*.test.ts"],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
