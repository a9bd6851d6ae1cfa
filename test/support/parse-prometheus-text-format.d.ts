// Types of parse-prometheus-text-format 1.1.1 (it ships none): prom2json's shape, values as strings.
declare module "parse-prometheus-text-format" {
  export interface PrometheusSample {
    readonly labels?: Readonly<Record<string, string>>
    /** counters, gauges, untyped */
    readonly value?: string
    /** histograms: upper bound -> cumulative count */
    readonly buckets?: Readonly<Record<string, string>>
    readonly count?: string
    readonly sum?: string
  }
  export interface PrometheusFamily {
    readonly name: string
    readonly help: string
    readonly type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED"
    readonly metrics: ReadonlyArray<PrometheusSample>
  }
  /** Throws on text that is not valid exposition format. */
  const parsePrometheusTextFormat: (text: string) => ReadonlyArray<PrometheusFamily>
  export default parsePrometheusTextFormat
}
