/**
 * The floor of login: raw argon2id verifications with the server's parameters,
 * BENCH_IN_FLIGHT at a time, in a process of its own like the server's, for
 * BENCH_DURATION_MS after BENCH_WARMUP_MS. Prints one JSON line: verifies/s and
 * per-verify latency.
 */
import { createHistogram } from 'node:perf_hooks';
import argon2 from 'argon2';

async function main(): Promise<void> {
  const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const options = {
    type: argon2.argon2id as typeof argon2.argon2id,
    memoryCost: env('ARGON2_MEMORY_KIB', 19_456),
    timeCost: env('ARGON2_TIME_COST', 2),
    parallelism: env('ARGON2_PARALLELISM', 1),
  };
  const inFlight = env('BENCH_IN_FLIGHT', 4);
  const password = 'w/MTRV/o3pAYF6uPCGMRZS7zzu5Sr0jyv/9ui8+zlLE=';
  const hash = await argon2.hash(password, options);

  const histogram = createHistogram();
  let verifies = 0;
  const measureFrom = performance.now() + env('BENCH_WARMUP_MS', 1000);
  const durationMs = env('BENCH_DURATION_MS', 5000);
  const stopAt = measureFrom + durationMs;
  const loop = async () => {
    while (performance.now() < stopAt) {
      const sent = performance.now();
      if (!(await argon2.verify(hash, password))) throw new Error('argon2 verify failed');
      const done = performance.now();
      if (sent < measureFrom || done > stopAt) continue;
      verifies += 1;
      histogram.record(Math.max(1, Math.round((done - sent) * 1000)));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  const ms = (us: number) => Math.round(us / 10) / 100;
  process.stdout.write(
    `${JSON.stringify({ requests: verifies, rps: verifies / (durationMs / 1000), p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)) })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
