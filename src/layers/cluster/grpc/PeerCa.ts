// Reading the master's cluster CA before trusting it: a bare TLS handshake (no gRPC, no token)
// that takes the CA certificate the master sends after its own, and the channel credentials that
// then pin exactly that CA.
import * as grpc from "@grpc/grpc-js"
import { Data, Duration, Effect } from "effect"
import { isIP } from "node:net"
import * as tls from "node:tls"
import { derToPem } from "../../security/X509.js"

/** The handshake did not complete, or the master sent no CA certificate. */
export class PeerCaError extends Data.TaggedError("PeerCaError")<{
  readonly target: string
  readonly detail: string
  /** true when trying again later may work (connection refused, timeout) */
  readonly transient: boolean
}> {
  override get message() {
    return `cannot read the cluster CA of ${this.target}: ${this.detail}`
  }
}

const splitTarget = (target: string): { host: string; port: number } => {
  const match = /^\[?(.*?)\]?:(\d+)$/.exec(target)
  return match === null ? { host: target, port: 6444 } : { host: match[1]!, port: Number(match[2]) }
}

/**
 * The CA at the end of the chain `target` presents, as canonical PEM. The certificate is NOT
 * verified here (that is the point: we do not know the CA yet); the caller compares its
 * fingerprint, and nothing but this handshake is sent before that.
 */
export const fetchPeerCa = (target: string, timeout: Duration.DurationInput = "10 seconds"): Effect.Effect<string, PeerCaError> =>
  Effect.async<string, PeerCaError>((resume) => {
    const { host, port } = splitTarget(target)
    const fail = (detail: string, transient: boolean) => resume(Effect.fail(new PeerCaError({ target, detail, transient })))
    const socket = tls.connect({
      host,
      port,
      // SNI must be a DNS name; an IP would only draw a deprecation warning
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ["h2"],
      rejectUnauthorized: false
    })
    socket.setTimeout(Duration.toMillis(Duration.decode(timeout)), () => {
      socket.destroy()
      fail("no TLS handshake within the timeout", true)
    })
    socket.once("secureConnect", () => {
      const leaf = socket.getPeerCertificate(true)
      socket.destroy()
      // walk to the root of what the peer sent (a self-signed root is its own issuer)
      let cert: tls.DetailedPeerCertificate | undefined = leaf
      while (cert?.issuerCertificate !== undefined && cert.issuerCertificate !== cert && cert.issuerCertificate.raw !== undefined) {
        if (cert.issuerCertificate.fingerprint256 === cert.fingerprint256) break
        cert = cert.issuerCertificate
      }
      if (cert === undefined || cert.raw === undefined || cert === leaf) {
        return fail("the server sent no CA certificate after its own (is this a Helyos master's gRPC port?)", false)
      }
      resume(Effect.succeed(derToPem(cert.raw)))
    })
    socket.once("error", (err: NodeJS.ErrnoException) => {
      socket.destroy()
      const transient = ["ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN"].includes(err.code ?? "")
      fail(err.message, transient)
    })
    return Effect.sync(() => void socket.destroy())
  })

/**
 * Credentials that trust exactly `caPem`: the chain must be signed by it (grpc-js verifies that,
 * rejectUnauthorized stays on). The host name is not checked against the SANs, because the pinned
 * CA *is* the master's identity (its fingerprint came with the join token), and workers often dial
 * an address that is not in the certificate (a NAT address, a load balancer, a new IP).
 */
export const pinnedCaCredentials = (caPem: string): grpc.ChannelCredentials =>
  grpc.credentials.createSsl(Buffer.from(caPem), null, null, { checkServerIdentity: () => undefined })

/** The SNI name workers send: a fixed DNS name (grpc-js would send the IP otherwise, which TLS forbids). */
export const CLUSTER_SERVER_NAME = "helyos-master"
