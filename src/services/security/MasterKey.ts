// This node's secret-encryption key (AES-256, 32 bytes). Per node, never sent anywhere: a secrets
// table copied to another node cannot be opened there.
import { randomBytes } from "node:crypto"
import { Context, Layer, Redacted } from "effect"
import { MASTER_KEY_BYTES } from "../../domain/SecretCrypto.js"

export class MasterKey extends Context.Tag("helyos/MasterKey")<MasterKey, Redacted.Redacted<Uint8Array>>() {
  /** A fresh random key held only in memory: for tests, whose secrets die with them. */
  static readonly layerEphemeral = Layer.sync(MasterKey, () => Redacted.make<Uint8Array>(randomBytes(MASTER_KEY_BYTES)))
}
