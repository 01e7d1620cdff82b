/** Axis ticks for the dashboard's charts: 0 and round steps (1, 2 or 5 × 10^k) up to at least the largest value. */
export function niceTicks(max: number, target = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const wholeStep = Math.max(step, Number.isInteger(max) && max < target ? 1 : step);
  const top = Math.ceil(max / wholeStep) * wholeStep;
  const ticks: number[] = [];
  for (let v = 0; v <= top + wholeStep / 2; v += wholeStep) ticks.push(Math.round(v * 1e6) / 1e6);
  return ticks;
}

/** 950, 1.5k, 12k, 3.4M: short labels for an axis. */
export function shortCount(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e3) return `${+(value / 1e3).toFixed(abs >= 1e4 ? 0 : 1)}k`;
  return String(+value.toFixed(2));
}
