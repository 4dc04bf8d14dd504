// RTT samples counted into fixed buckets: what Prometheus needs for a histogram that sums
// across servers and workers (percentiles of a summary cannot be aggregated).

/** Upper bounds of the buckets in microseconds; the last bucket (+Inf) holds the rest. */
export const RTT_BUCKET_BOUNDS_US: readonly number[] = [
  50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000,
];

/** Counts per bucket (not cumulative; one more entry than bounds, for +Inf), sum and count. */
export interface RttBuckets {
  boundsUs: number[];
  counts: number[];
  sumUs: number;
  count: number;
}

export class RttBucketCounter {
  private readonly counts = new Float64Array(RTT_BUCKET_BOUNDS_US.length + 1);
  private sumUs = 0;
  private count = 0;

  record(rttUs: number): void {
    let index = 0;
    while (index < RTT_BUCKET_BOUNDS_US.length && rttUs > RTT_BUCKET_BOUNDS_US[index]!) index++;
    this.counts[index]!++;
    this.sumUs += rttUs;
    this.count++;
  }

  read(): RttBuckets {
    return { boundsUs: [...RTT_BUCKET_BOUNDS_US], counts: [...this.counts], sumUs: this.sumUs, count: this.count };
  }
}

export function emptyRttBuckets(): RttBuckets {
  return new RttBucketCounter().read();
}

/** Sums the buckets of several processes (all use RTT_BUCKET_BOUNDS_US). */
export function sumRttBuckets(parts: RttBuckets[]): RttBuckets {
  const total = emptyRttBuckets();
  for (const part of parts) {
    part.counts.forEach((count, index) => {
      if (index < total.counts.length) total.counts[index]! += count;
    });
    total.sumUs += part.sumUs;
    total.count += part.count;
  }
  return total;
}
