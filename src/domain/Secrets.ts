// Secrets: what a secret's name and value may be, and their expected failures. A secret is injected
// as an environment variable named exactly after it, so names follow the env-var rule.
import { Either, Schema } from "effect"

/** `[A-Za-z_][A-Za-z0-9_]*`: a name every shell and container runtime accepts as a variable. */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
export const SECRET_NAME_MAX_LENGTH = 255
/** Environment variables live in the process's memory and the engine's JSON: keep them modest. */
export const SECRET_VALUE_MAX_BYTES = 64 * 1024

export class InvalidSecretName extends Schema.TaggedError<InvalidSecretName>()("InvalidSecretName", {
  name: Schema.String
}) {
  override get message() {
    return `invalid secret name '${this.name}': must match [A-Za-z_][A-Za-z0-9_]* (at most ${SECRET_NAME_MAX_LENGTH} characters), it becomes an environment variable`
  }
}

/** A value that cannot be stored: not UTF-8, a NUL byte, too large. */
export class InvalidSecretValue extends Schema.TaggedError<InvalidSecretValue>()("InvalidSecretValue", {
  problem: Schema.String
}) {
  override get message() {
    return this.problem
  }
}

export class SecretNotFound extends Schema.TaggedError<SecretNotFound>()("SecretNotFound", {
  project: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `secret '${this.name}' not found in project '${this.project}'`
  }
}

/**
 * A deployment names a secret its project lacks. The same words as SecretNotFound, but a different
 * failure: the spec cannot be carried out as written (422), where SecretNotFound is a missing resource (404).
 */
export class MissingSecret extends Schema.TaggedError<MissingSecret>()("MissingSecret", {
  project: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `secret '${this.name}' not found in project '${this.project}'`
  }
}

/** The stored ciphertext does not open under this node's master key (key replaced, or the row tampered with). */
export class SecretUndecryptable extends Schema.TaggedError<SecretUndecryptable>()("SecretUndecryptable", {
  project: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `secret '${this.name}' in project '${this.project}' cannot be decrypted with this node's master.key (was the key replaced?); set it again`
  }
}

export const INVALID_UTF8 = "secret contains invalid UTF-8 (base64-encode binary values)"

export const validateSecretName = (name: string): Either.Either<string, InvalidSecretName> =>
  name.length <= SECRET_NAME_MAX_LENGTH && SECRET_NAME.test(name)
    ? Either.right(name)
    : Either.left(new InvalidSecretName({ name }))

// a lone surrogate has no UTF-8 encoding (a JSON "\ud800" decodes to one); Buffer.from would turn it into U+FFFD
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** The value as the UTF-8 bytes to encrypt, or why it cannot be a secret. */
export const secretValueBytes = (value: string): Either.Either<Uint8Array, InvalidSecretValue> => {
  if (LONE_SURROGATE.test(value)) return Either.left(new InvalidSecretValue({ problem: INVALID_UTF8 }))
  if (value.includes("\u0000")) {
    return Either.left(new InvalidSecretValue({ problem: "secret contains a NUL byte, which no environment variable can hold" }))
  }
  const bytes = new TextEncoder().encode(value)
  if (bytes.length > SECRET_VALUE_MAX_BYTES) {
    return Either.left(new InvalidSecretValue({ problem: `secret is too large: ${bytes.length} bytes (at most ${SECRET_VALUE_MAX_BYTES})` }))
  }
  return Either.right(bytes)
}

/** Bytes from a file or stdin as a secret's text: strict UTF-8, no replacement characters. */
export const decodeSecretText = (bytes: Uint8Array): Either.Either<string, InvalidSecretValue> => {
  try {
    return Either.right(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes))
  } catch {
    return Either.left(new InvalidSecretValue({ problem: INVALID_UTF8 }))
  }
}
