/** What one benchmark module returns; scripts/bench.ts renders it into docs/benchmarks.md. */
export interface BenchResult {
  title: string;
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];
}
