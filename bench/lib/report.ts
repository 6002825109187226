import type { LoadResult } from './load';

/** One run of one target: the load's result plus what the benchmark saw around it. */
export interface Measurement extends LoadResult {
  /** Peak resident memory of the target process during the run, MiB. */
  rssMib?: number;
  /** Writes only: acknowledged updates that the database does not hold afterwards (must be 0). */
  lostUpdates?: number;
  /** The target process's CPU time (user + system) over the measured window, per request served, in µs. */
  cpuUsPerOp?: number;
  /**
   * PostgreSQL only: the CPU time of the database's backends serving the target over the same window, per request,
   * in µs (the database's own work, which the target's figure leaves out).
   */
  databaseCpuUsPerOp?: number;
}

/** A scenario on one database: the real server (A) against its floor (B), round by round. */
export interface Comparison {
  database: string;
  scenario: string;
  connections: number;
  /** What A and B are, e.g. "server" against "floor" or "raw argon2 verify". */
  a: string;
  b: string;
  rounds: Array<{ a: Measurement; b: Measurement }>;
  /** What the scenario asks of the ratio, for the table's verdict column. */
  target?: { minRatio?: number; maxP99Ratio?: number; zeroErrors?: boolean; maxCpuUsA?: number; maxCpuRatio?: number };
  note?: string;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(values: number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export interface Summary {
  database: string;
  scenario: string;
  connections: number;
  a: string;
  b: string;
  rpsA: Spread;
  rpsB: Spread;
  /** A's req/s over B's, per round. */
  ratio: Spread;
  p50A: Spread;
  p99A: Spread;
  p50B: Spread;
  p99B: Spread;
  /** A's p99 over B's, per round. */
  p99Ratio: Spread;
  errorsA: { non2xx: number; status5xx: number; graphql: number; network: number };
  errorsB: { non2xx: number; status5xx: number; graphql: number; network: number };
  conflictsA: number;
  conflictsB: number;
  lostUpdates: number;
  rssA: Spread;
  rssB: Spread;
  cpuA: Spread;
  cpuB: Spread;
  databaseCpuA: Spread;
  databaseCpuB: Spread;
  verdict: string;
  note?: string;
}

const sum = (values: number[]) => values.reduce((x, y) => x + y, 0);

function errors(ms: Measurement[]) {
  return {
    non2xx: sum(ms.map((m) => m.non2xx)),
    status5xx: sum(ms.map((m) => m.status5xx)),
    graphql: sum(ms.map((m) => m.graphqlErrors)),
    network: sum(ms.map((m) => m.networkErrors)),
  };
}

export function summarize(c: Comparison): Summary {
  const as = c.rounds.map((r) => r.a);
  const bs = c.rounds.map((r) => r.b);
  const summary: Summary = {
    database: c.database,
    scenario: c.scenario,
    connections: c.connections,
    a: c.a,
    b: c.b,
    rpsA: spread(as.map((m) => m.rps)),
    rpsB: spread(bs.map((m) => m.rps)),
    ratio: spread(c.rounds.map((r) => r.a.rps / r.b.rps)),
    p50A: spread(as.map((m) => m.p50Ms)),
    p99A: spread(as.map((m) => m.p99Ms)),
    p50B: spread(bs.map((m) => m.p50Ms)),
    p99B: spread(bs.map((m) => m.p99Ms)),
    p99Ratio: spread(c.rounds.map((r) => r.a.p99Ms / r.b.p99Ms)),
    errorsA: errors(as),
    errorsB: errors(bs),
    conflictsA: sum(as.map((m) => m.conflicts)),
    conflictsB: sum(bs.map((m) => m.conflicts)),
    lostUpdates: sum([...as, ...bs].map((m) => m.lostUpdates ?? 0)),
    rssA: spread(as.map((m) => m.rssMib ?? NaN)),
    rssB: spread(bs.map((m) => m.rssMib ?? NaN)),
    cpuA: spread(as.map((m) => m.cpuUsPerOp ?? NaN)),
    cpuB: spread(bs.map((m) => m.cpuUsPerOp ?? NaN)),
    databaseCpuA: spread(as.map((m) => m.databaseCpuUsPerOp ?? NaN)),
    databaseCpuB: spread(bs.map((m) => m.databaseCpuUsPerOp ?? NaN)),
    verdict: '',
    note: c.note,
  };
  summary.verdict = verdict(summary, c.target);
  return summary;
}

function verdict(s: Summary, target: Comparison['target']): string {
  if (!target) return '';
  const failures: string[] = [];
  if (target.minRatio !== undefined && !(s.ratio.median >= target.minRatio)) failures.push(`ratio < ${pct(target.minRatio)}`);
  if (target.maxP99Ratio !== undefined && !(s.p99Ratio.median <= target.maxP99Ratio)) failures.push(`p99 > ${target.maxP99Ratio}×`);
  if (target.maxCpuUsA !== undefined && !(s.cpuA.median <= target.maxCpuUsA)) failures.push(`A CPU > ${target.maxCpuUsA} µs/op`);
  if (target.maxCpuRatio !== undefined && !(s.cpuA.median / s.cpuB.median <= target.maxCpuRatio)) failures.push(`CPU A / B > ${pct(target.maxCpuRatio)}`);
  const e = s.errorsA;
  if (target.zeroErrors && e.non2xx + e.graphql + e.network > 0) failures.push('errors');
  if (s.lostUpdates > 0) failures.push('lost updates');
  return failures.length ? `missed: ${failures.join(', ')}` : 'met';
}

const pct = (x: number) => `${Math.round(x * 100)} %`;
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const dec = (x: number) => (Number.isFinite(x) ? (x < 10 ? x.toFixed(2) : x.toFixed(1)) : '–');
const range = (s: Spread, f: (x: number) => string) => (s.min === s.max ? f(s.median) : `${f(s.median)} (${f(s.min)}–${f(s.max)})`);
const errs = (e: Summary['errorsA']) => `${e.non2xx} / ${e.graphql} / ${e.network}`;

/** The results as a markdown table: medians over the rounds, with the range in parentheses. */
export function markdownTable(summaries: Summary[]): string {
  const header = [
    'database',
    'scenario',
    'conns',
    'A req/s',
    'B req/s',
    'A / B',
    'A p50 / p99 ms',
    'B p50 / p99 ms',
    'p99 A / B',
    'A errors: non-2xx / GraphQL / net',
    'conflicts A / B',
    'RSS MiB A / B',
    'CPU µs/op A / B',
    'target',
  ];
  const rows = summaries.map((s) => [
    s.database,
    `${s.scenario}: ${s.a} vs ${s.b}`,
    String(s.connections),
    range(s.rpsA, int),
    range(s.rpsB, int),
    range(s.ratio, pct),
    `${dec(s.p50A.median)} / ${range(s.p99A, dec)}`,
    `${dec(s.p50B.median)} / ${range(s.p99B, dec)}`,
    range(s.p99Ratio, (x) => `${dec(x)}×`),
    errs(s.errorsA) + (s.errorsA.status5xx ? ` (${s.errorsA.status5xx} 5xx)` : ''),
    `${s.conflictsA} / ${s.conflictsB}`,
    `${int(s.rssA.max)} / ${int(s.rssB.max)}`,
    `${range(s.cpuA, int)} / ${range(s.cpuB, int)}` +
      (Number.isFinite(s.databaseCpuA.median) ? `; database ${range(s.databaseCpuA, int)} / ${range(s.databaseCpuB, int)}` : ''),
    s.verdict + (s.lostUpdates ? ` (${s.lostUpdates} lost)` : ''),
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
