// The cluster CA as both sides name it: the master (ClusterTlsFiles) that makes it and the worker
// (WorkerTrust, WorkerAgentGrpc) that pins it share only this, so a worker never loads the master's TLS layer.
import { X509Certificate } from "node:crypto"
import { displayFingerprint, pemFingerprint, pinMatch } from "../../domain/Fingerprint.js"
import { derToPem } from "./X509.js"

/** The CA certificate in a data dir: the master's own, or the one a worker saved after pinning it. */
export const CLUSTER_CA_FILE = "grpc-ca.pem"

/** The PEM as X509.ts writes it, so the fingerprint does not depend on line endings or headers. */
export const canonicalCertPem = (pem: string): string => derToPem(new X509Certificate(pem).raw)

/** `sha256:<hex>` of a CA certificate (of its DER), as printed in the join command and compared by workers. */
export const caFingerprint = (caPem: string): string => displayFingerprint(pemFingerprint(caPem))

/** Does a --ca-fingerprint name this CA? Join commands printed by Helyos 0.1 hashed the canonical PEM text. */
export const caPinMatch = (expected: string, caPem: string) => pinMatch(expected, caPem, [canonicalCertPem(caPem)])
