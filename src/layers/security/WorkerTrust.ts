// How a worker comes to trust the master's cluster CA, decided BEFORE its join token goes anywhere:
// (a) --ca-fingerprint: read the CA from a bare TLS handshake and compare (mismatch aborts; a match
//     is saved as <data-dir>/grpc-ca.pem so later starts need no flag); (b) else that file;
// (c) else --insecure-skip-ca-verify: take whatever the handshake shows, warned loudly; (d) else refuse.
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { ReconnectBackoff } from "../../domain/Backoff.js"
import { formatDuration } from "../../domain/Duration.js"
import { displayFingerprint, normalizeFingerprint } from "../../domain/Fingerprint.js"
import type { ClusterTrust } from "../../services/DaemonConfig.js"
import { WorkerStopped } from "../../services/cluster/WorkerAgent.js"
import { fetchPeerCa } from "../cluster/grpc/PeerCa.js"
import { writeFileAtomic } from "./AtomicFile.js"
import { caFingerprint, caPinMatch, canonicalCertPem, CLUSTER_CA_FILE } from "./ClusterCa.js"
import { ensurePrivateDir } from "../state/DataDir.js"

/** The mismatch report: the first line is what the docs promise, then both fingerprints. */
export const fingerprintMismatch = (expected: string, got: string) =>
  [
    "cluster CA fingerprint mismatch — aborting (possible MITM)",
    `  expected: ${displayFingerprint(expected)}`,
    `  got:      ${got}`
  ].join("\n")

const untrusted = (detail: string) => new WorkerStopped({ reason: "UntrustedMaster", detail })

/** The CA certificate in `file` (canonical PEM), none when absent; an unreadable one stops the worker. */
const readCaFile = (file: string): Effect.Effect<Option.Option<string>, WorkerStopped> =>
  Effect.suspend(() => {
    if (!fs.existsSync(file)) return Effect.succeed(Option.none())
    return Effect.try({
      try: () => Option.some(canonicalCertPem(fs.readFileSync(file, "utf8"))),
      catch: (e) => untrusted(`cannot use the cluster CA in ${file}: ${e instanceof Error ? e.message : String(e)}`)
    })
  })

/** The CA the master at `target` presents; unreachable masters are retried with the backoff. */
const fetchWithRetry = (target: string, backoff: ReconnectBackoff): Effect.Effect<string, WorkerStopped> =>
  fetchPeerCa(target).pipe(
    Effect.catchTag("PeerCaError", (e) =>
      e.transient
        ? Effect.gen(function*() {
          const delay = yield* backoff.nextDelay
          yield* Effect.logWarning(`${e.message}; retrying in ${formatDuration(delay)}`)
          yield* Effect.sleep(delay)
          return yield* Effect.suspend(() => fetchWithRetry(target, backoff))
        })
        : Effect.fail(untrusted(e.message)))
  )

/**
 * The PEM of the cluster CA this worker will verify the master against. Nothing but a TLS
 * handshake reaches the master before this returns, so a wrong master never sees the join token.
 */
export const resolveClusterCa = (options: {
  readonly target: string
  readonly dataDir: string
  readonly trust: ClusterTrust
  readonly backoff: ReconnectBackoff
}): Effect.Effect<string, WorkerStopped> =>
  Effect.gen(function*() {
    const { backoff, dataDir, target, trust } = options
    const file = path.join(dataDir, CLUSTER_CA_FILE)

    if (Option.isSome(trust.caFingerprint)) {
      const expected = trust.caFingerprint.value
      if (normalizeFingerprint(expected) === undefined) {
        return yield* Effect.fail(untrusted(`--ca-fingerprint '${expected}' is not a SHA-256 fingerprint (sha256:<64 hex>)`))
      }
      // already pinned earlier with the same fingerprint: no need to ask the network
      const saved = yield* readCaFile(file).pipe(Effect.orElseSucceed(() => Option.none<string>()))
      if (Option.isSome(saved) && caPinMatch(expected, saved.value) !== undefined) return saved.value
      const fetched = yield* fetchWithRetry(target, backoff)
      const got = caFingerprint(fetched)
      const match = caPinMatch(expected, fetched)
      if (match === undefined) return yield* Effect.fail(untrusted(fingerprintMismatch(expected, got)))
      if (match === "legacy") {
        yield* Effect.logWarning(`--ca-fingerprint ${expected} is in the form of Helyos 0.1 (SHA-256 of the PEM text); it matches, and the certificate's SHA-256 (what openssl prints, and what to pass from now on) is ${got}`)
      }
      yield* Effect.try(() => {
        ensurePrivateDir(dataDir)
        writeFileAtomic(file, fetched, 0o644)
      }).pipe(
        Effect.tap(() => Effect.logInfo(`cluster CA ${got} verified and saved to ${file}`)),
        // the CA is verified either way; only the next start without the flag needs the file
        Effect.catchAll((e) => Effect.logWarning(`cluster CA ${got} verified, but could not be saved to ${file}: ${String(e.error)}`))
      )
      return fetched
    }

    const saved = yield* readCaFile(file)
    if (Option.isSome(saved)) {
      yield* Effect.logInfo(`verifying the master against the cluster CA in ${file} (${caFingerprint(saved.value)})`)
      return saved.value
    }

    if (trust.insecureSkipCaVerify) {
      const fetched = yield* fetchWithRetry(target, backoff)
      yield* Effect.logWarning(
        `INSECURE: --insecure-skip-ca-verify trusts whatever answers at ${target} (cluster CA ${caFingerprint(fetched)}), ` +
          "without verification: a machine in the middle can read the join token and impersonate the master. " +
          "Pass --ca-fingerprint from the master's join command instead."
      )
      return fetched
    }

    return yield* Effect.fail(untrusted(
      `refusing to join ${target} without a way to verify the master: pass --ca-fingerprint sha256:… ` +
        `(printed with the master's join command), or put the master's ${CLUSTER_CA_FILE} in ${dataDir}`
    ))
  })
