// A bounded memo for the pure parsers each reconcile pass runs over every row (stored specs, pod templates).
// Each owner makes its own: two orchestrators in one process (tests) share nothing, and it dies with its owner.
/** `parse` remembered by its input; the memory starts over once it holds `limit` entries (stale JSON drops out). */
export const makeMemo = <A>(parse: (json: string) => A, limit = 1_000): ((json: string) => A) => {
  const known = new Map<string, A>()
  return (json) => {
    const hit = known.get(json)
    if (hit !== undefined) return hit
    const value = parse(json)
    if (known.size >= limit) known.clear()
    known.set(json, value)
    return value
  }
}
