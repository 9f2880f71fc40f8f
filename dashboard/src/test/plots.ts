// The fake uPlot instances made so far (see setup.ts).
export interface FakePlot {
  opts: { series: { label?: string }[] };
  data: number[][];
  destroyed: boolean;
}

export function fakePlots(): FakePlot[] {
  return (globalThis as { __plots?: FakePlot[] }).__plots ?? [];
}

export function resetPlots(): void {
  (globalThis as { __plots?: FakePlot[] }).__plots = [];
}
