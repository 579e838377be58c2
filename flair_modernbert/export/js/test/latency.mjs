// Latency summary shared by the benchmark helpers (bench.mjs in Node, bench-browser.mjs for Chromium).

/** Median, p90 and minimum of per-text times in ms (nearest-rank on the sorted times). */
export function summary(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { texts: sorted.length, median_ms: at(0.5), p90_ms: at(0.9), min_ms: sorted[0] };
}
