import { Schema, ParseResult, Either } from "effect";
const Port = Schema.Number.pipe(Schema.int(), Schema.between(1, 65535)).annotations({ message: (i) => ({ message: `${JSON.stringify(i.actual)} is not a port (1–65535)`, override: true }) });
const Mem = Schema.String.pipe(Schema.pattern(/^\d+[kmgKMG]$/)).annotations({ message: (i) => ({ message: `${JSON.stringify(i.actual)} is not a size like 512m, 1g, 256k`, override: true }) });
const S = Schema.Struct({
    project: Schema.String,
    deployment: Schema.Struct({ name: Schema.String }),
    replicas: Schema.optionalWith(Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(1)), { default: () => 1 }),
    ports: Schema.optionalWith(Schema.Array(Port), { default: () => [] }),
    env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
    resources: Schema.optionalWith(Schema.Struct({ cpu: Schema.Number, memory: Mem }), { exact: true, nullable: true }),
    volumes: Schema.optionalWith(Schema.Array(Schema.Union(Schema.Struct({ name: Schema.String, mount: Schema.String }), Schema.Struct({ path: Schema.String, mount: Schema.String, readonly: Schema.optional(Schema.Boolean) }))), { default: () => [] }),
});
const d = Schema.decodeUnknownEither(S, { errors: "all", onExcessProperty: "error" });
const r = d({ deployment: { nam: 1 }, replicas: 0, ports: [80, 0, "x"], env: { A: 1, B: "x" }, resources: { memory: "512mb" }, foo: 1, volumes: [{ name: "a", mount_path: "/x" }] });
if (Either.isLeft(r)) {
    console.log(ParseResult.ArrayFormatter.formatErrorSync(r.left));
    console.log(ParseResult.TreeFormatter.formatErrorSync(r.left));
}
