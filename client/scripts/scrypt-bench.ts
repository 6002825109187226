import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { nodeScrypt } from '../src/node/node-platform';
import { portableScrypt, type ScryptFunction } from '../src/platform';

/**
 * `npm run bench:scrypt`: time and memory of one key derivation (r=8, p=1,
 * 96 bytes, as the client derives) per N, with Node's native scrypt and the
 * portable @noble/hashes one, each through the client's own ScryptFunction.
 * Each derivation runs in a fresh process, so the process's peak RSS (maxrss)
 * is that derivation's plus the process's resident size just before it, which
 * is measured and subtracted.
 * SCRYPT_BENCH_RUNS (default 3) runs per cell; the table gives the median and the range.
 */
const IMPLEMENTATIONS: Record<string, ScryptFunction> = { node: nodeScrypt, noble: portableScrypt };

interface Measurement {
  ms: number;
  /** CPU time of the process (every thread) during the derivation: less sensitive than `ms` to a busy machine. */
  cpuMs: number;
  baselineMiB: number;
  peakMiB: number;
}

async function measureOne(implementation: string, log2n: number): Promise<void> {
  const password = new TextEncoder().encode('123abc2');
  const salt = new TextEncoder().encode('54563b7d41776620c99f46c7b50f23cf');
  // The resident size now, not maxrss: loading ts-node peaks higher than where the process settles.
  const baselineMiB = process.memoryUsage().rss / 2 ** 20;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await IMPLEMENTATIONS[implementation](password, salt, { n: 2 ** log2n, r: 8, p: 1 }, 96);
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const measurement: Measurement = { ms, cpuMs: (user + system) / 1000, baselineMiB, peakMiB: process.resourceUsage().maxRSS / 1024 };
  console.log(JSON.stringify(measurement));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main(): void {
  const [implementation, log2n] = process.argv.slice(2);
  if (implementation) {
    void measureOne(implementation, Number(log2n));
    return;
  }
  const runs = Number(process.env.SCRYPT_BENCH_RUNS ?? 3);
  console.log(`Node ${process.version}, load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}, ${runs} runs per cell`);
  console.log('| N | implementation | wall time (median, range) | CPU time (median, range) | peak RSS | of which the derivation (peak - baseline) |\n| --- | --- | --- | --- | --- | --- |');
  for (const log2n of [14, 17, 20]) {
    for (const name of Object.keys(IMPLEMENTATIONS)) {
      const results: Measurement[] = [];
      for (let run = 0; run < runs; run += 1) {
        const output = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, name, String(log2n)], { encoding: 'utf8' });
        results.push(JSON.parse(output.trim().split('\n').at(-1)!) as Measurement);
      }
      const range = (values: number[]) => `${Math.round(median(values))} ms (${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))})`;
      const peak = median(results.map((r) => r.peakMiB));
      const own = median(results.map((r) => r.peakMiB - r.baselineMiB));
      console.log(
        `| 2^${log2n} | ${name} | ${range(results.map((r) => r.ms))} | ${range(results.map((r) => r.cpuMs))} | ${Math.round(peak)} MiB | ${Math.round(own)} MiB |`,
      );
    }
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main();
