import YAML from "yaml"
for (const t of ["project: a\n  bad: : x\nimage: [", "a: 1\na: 2", "---\na: 1\n---\nb: 2", "", "{\"a\": 1,}", "# c\n", "a: *x"]) {
  const docs = YAML.parseAllDocuments(t)
  console.log(JSON.stringify(t), Array.isArray(docs), docs.length, docs.map?.(d => d.errors.map(e => ({m: e.message, code: e.code, lp: e.linePos}))), docs.map?.(d=> {try {return d.toJS()} catch(e) {return "THROW "+e.message}}))
}
