// The master's cluster TLS material (gRPC on 6444): its own CA, which workers pin by fingerprint,
// and the server certificate that CA signed. Built from <data-dir> by ClusterTlsFiles.
import { Context, type Redacted } from "effect"

export class ClusterTls extends Context.Tag("helyos/ClusterTls")<ClusterTls, {
  /** the cluster CA certificate (PEM, canonical form) */
  readonly caPem: string
  /** the CA's fingerprint as the join command prints it: `sha256:<64 hex>` */
  readonly fingerprint: string
  /** what the gRPC server presents: its certificate followed by the CA, so a worker sees the CA in the handshake */
  readonly serverChainPem: string
  /** the server certificate's private key (PKCS#8 PEM) */
  readonly serverKeyPem: Redacted.Redacted<string>
}>() {}
