import { execFileSync } from 'node:child_process';
import { nodeScrypt } from '../src/node/node-platform';
import { portableScrypt, type ScryptFunction } from '../src/platform';

/**
 * `npm run bench:scrypt`: time and peak memory of one key derivation (r=8, p=1,
 * 96 bytes) per N, with Node's native scrypt and the portable @noble/hashes one.
 * Each measurement runs in a fresh process, so peak RSS is that derivation's.
 */
const IMPLEMENTATIONS: Record<string, ScryptFunction> = { node: nodeScrypt, noble: portableScrypt };

async function measureOne(implementation: string, log2n: number): Promise<void> {
  const password = new TextEncoder().encode('123abc2');
  const salt = new TextEncoder().encode('54563b7d41776620c99f46c7b50f23cf');
  const started = performance.now();
  await IMPLEMENTATIONS[implementation](password, salt, { n: 2 ** log2n, r: 8, p: 1 }, 96);
  const ms = performance.now() - started;
  console.log(JSON.stringify({ ms: Math.round(ms), peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }));
}

function main(): void {
  const [implementation, log2n] = process.argv.slice(2);
  if (implementation) {
    void measureOne(implementation, Number(log2n));
    return;
  }
  console.log('| N | implementation | time per derivation | peak RSS of the process |\n| --- | --- | --- | --- |');
  for (const log2n of [14, 17, 20]) {
    for (const name of Object.keys(IMPLEMENTATIONS)) {
      const output = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, name, String(log2n)], { encoding: 'utf8' });
      const { ms, peakRssMiB } = JSON.parse(output.trim().split('\n').at(-1)!) as { ms: number; peakRssMiB: number };
      console.log(`| 2^${log2n} | ${name} | ${ms} ms | ${peakRssMiB} MiB |`);
    }
  }
}

main();
