// Stands in for undici in the CLI bundle (see scripts/build-cli.mjs): its undici-based HTTP client is
// never used there. Any property read other than the module-interop probes is a bug and says so.
"use strict"
const probes = new Set(["__esModule", "default", "then"])
module.exports = new Proxy({}, {
  get(_target, key) {
    if (typeof key === "symbol" || probes.has(key)) return undefined
    throw new Error(`undici.${key} used in the helyos CLI bundle, where undici is left out (scripts/build-cli.mjs)`)
  }
})
