import * as hdr from "hdr-histogram-js";
import type { DistributionSummary } from "./statsSchema.ts";

export type Histogram = hdr.Histogram;

/** An HDR histogram of positive integers (microseconds, bytes): 3 significant digits. */
export function createHistogram(): Histogram {
  return hdr.build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
}

export function summarize(histogram: Histogram): DistributionSummary {
  const empty = histogram.totalCount === 0;
  return {
    count: histogram.totalCount,
    min: empty ? 0 : histogram.getValueAtPercentile(0),
    mean: empty ? 0 : Math.round(histogram.mean * 10) / 10,
    p50: histogram.getValueAtPercentile(50),
    p90: histogram.getValueAtPercentile(90),
    p95: histogram.getValueAtPercentile(95),
    p99: histogram.getValueAtPercentile(99),
    p999: histogram.getValueAtPercentile(99.9),
    max: histogram.maxValue,
  };
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}
