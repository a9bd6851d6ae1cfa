// How the REST API is served, resolved once at start-up: HTTP or HTTPS, the certificate the listener
// presents, and the self-signed CA that clients pin (handed out by GET /api/v1/ca).
import { Context, Data, Option, type Redacted } from "effect"
import type { ApiScheme } from "../../domain/ApiTlsPolicy.js"

/** The CA clients pin: its PEM and the lowercase colon SHA-256 of those PEM bytes. */
export interface PinnedCa {
  readonly pem: string
  readonly sha256: string
}

/** What an HTTPS listener presents: the PEM chain (leaf first) and its private key. */
export interface ServingCertificate {
  readonly chainPem: string
  readonly keyPem: Redacted.Redacted<string>
}

export class ApiTls extends Context.Tag("helyos/ApiTls")<ApiTls, {
  readonly scheme: ApiScheme
  /** Some when scheme is https */
  readonly certificate: Option.Option<ServingCertificate>
  /** the self-signed CA; none with plain HTTP or a brought certificate */
  readonly ca: Option.Option<PinnedCa>
}>() {}

/** Plain HTTP: no certificate, no CA (loopback, or --tls off). */
export const plainHttp: ApiTls["Type"] = { scheme: "http", certificate: Option.none(), ca: Option.none() }

/** The TLS material could not be read, checked or written; the message names the file and is what a user reads. */
export class ApiTlsMaterialError extends Data.TaggedError("ApiTlsMaterialError")<{ readonly message: string }> {}
