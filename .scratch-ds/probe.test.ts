import { it } from "vitest"
import { Either } from "effect"
import { decodeSpec, parseSpecText, encodeSpec, specHash } from "../src/domain/DeploymentSpec.js"
it("probe", () => {
  const show = (x: any) => console.log(JSON.stringify(Either.isLeft(x) ? x.left.problems : encodeSpec(x.right), null, 1))
  show(decodeSpec({ project: "myapp", deployment: { name: "api" }, image: "nginx:latest" }))
  show(decodeSpec({ project: "My_App", deployment: { nam: "x" }, image: "", replicas: 0, ports: [80, 0, "x", 80], env: { A: 1, B: true, C: "x", "": "y" }, resources: { memory: "512mb" }, foo: 1, volumes: [{ name: "a", mount_path: "/x" }, { path: "rel", mount: "/y" }, {name: "v", path: "/p", mount: "/z"}, "x"], restart: "on-failure", healthcheck: { interval: "10 s", timeout: 0, retries: 0 }, network: { public: "yes", domain: "bad domain" }, command: "npm start", secrets: "X", name: "y" }))
  show(decodeSpec({ project: "api-", deployment: "api", image: "x", resources: { cpu: 0, memory: 512 }, healthcheck: { path: "health", interval: 30 }, command: [], ports: 3000, env: ["A=1"] }))
  show(decodeSpec({ project: "a", deployment: {name: "b"}, image: "x", ports: [80, 80], volumes: [{name: "a", mount: "/d"}, {path: "/h", mount: "/d", readonly: true}], command: ["a", 1], healthcheck: { path: "/h", interval: 30 }, network: null, env: null, resources: {cpu: 0.5, memory: "1G"} }))
  show(parseSpecText("project: a\ndeployment:\n  name: b\nimage: x\nhealthcheck:\n  path: /h\n  interval: 30\nvolumes:\n  - name: data\n    mount: /d\n  - path: /h\n    mount: /e\n"))
  show(parseSpecText("project: a\n  bad: : x\n"))
  show(parseSpecText("[1,2]"))
  show(parseSpecText('{"project": "a", "deployment": {"name": "b"}, "image": "x", "replicas": 2.5}'))
  const r = parseSpecText("project: a\ndeployment:\n  name: b\nimage: x\n")
  if (Either.isRight(r)) console.log(specHash(r.right), r.right)
})
