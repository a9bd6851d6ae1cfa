// Pure pieces of the container runtime: image references and Docker's multiplexed log frames.
import { describe, expect, it } from "@effect/vitest"
import { demuxFrames } from "../../src/layers/workload/ContainerRuntimeDocker.js"
import { parseImageRef } from "../../src/services/workload/ContainerRuntime.js"

const frame = (stream: 1 | 2, text: string): Uint8Array => {
  const payload = Buffer.from(text, "utf8")
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

const text = (parts: ReadonlyArray<Uint8Array>) => parts.map((p) => Buffer.from(p).toString("utf8")).join("")

describe("parseImageRef", () => {
  it("splits a tag only in the last path segment, so a registry port is not a tag", () => {
    expect(parseImageRef("localhost:5000/app:1.2")).toEqual({
      registry: "localhost:5000", repository: "localhost:5000/app", tag: "1.2", digest: undefined
    })
    expect(parseImageRef("localhost:5000/app")).toEqual({
      registry: "localhost:5000", repository: "localhost:5000/app", tag: undefined, digest: undefined
    })
    expect(parseImageRef("registry.example.com:443/team/api:v2")).toMatchObject({
      registry: "registry.example.com:443", repository: "registry.example.com:443/team/api", tag: "v2"
    })
  })

  it("reads Docker Hub names, tags and digests", () => {
    expect(parseImageRef("nginx")).toEqual({ registry: undefined, repository: "nginx", tag: undefined, digest: undefined })
    expect(parseImageRef("library/nginx:1.27")).toMatchObject({ registry: undefined, repository: "library/nginx", tag: "1.27" })
    expect(parseImageRef("ghcr.io/o/app@sha256:abc")).toEqual({
      registry: "ghcr.io", repository: "ghcr.io/o/app", tag: undefined, digest: "sha256:abc"
    })
    expect(parseImageRef("app:1@sha256:abc")).toMatchObject({ repository: "app", tag: "1", digest: "sha256:abc" })
  })
})

describe("demuxFrames", () => {
  it("yields the payloads of stdout and stderr frames in order", () => {
    const [rest, payloads] = demuxFrames(new Uint8Array(0), Buffer.concat([frame(1, "out\n"), frame(2, "err\n")]))
    expect(text(payloads)).toBe("out\nerr\n")
    expect(rest.length).toBe(0)
  })

  it("carries a frame cut across chunks (header or payload) over to the next chunk", () => {
    const bytes = Buffer.concat([frame(1, "hello\n"), frame(2, "world\n")])
    for (const cut of [3, 8, 10, 14, 17]) {
      const [rest, first] = demuxFrames(new Uint8Array(0), bytes.subarray(0, cut))
      const [end, second] = demuxFrames(rest, bytes.subarray(cut))
      expect(text([...first, ...second])).toBe("hello\nworld\n")
      expect(end.length).toBe(0)
    }
  })
})
