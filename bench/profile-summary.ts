/**
 * Where a --cpu-prof profile's time went: self time by package (or by file of
 * this repository) and the heaviest functions. `npm run bench -- --profile`
 * writes the server's profiles; then:
 *   node dist/bench/profile-summary.js bench/results/profiles/<file>.cpuprofile [top]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** node_modules/<package> (scoped too), src/<file>, node:<module>, or the V8 pseudo-frame's name. */
function owner(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'native'})`;
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (module) return module[1];
  if (url.startsWith('node:')) return url;
  const own = /\/dist\/(.+)$/.exec(url);
  return own ? own[1] : url;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, t]) => a + t, 0);
  const busy = total - idle;

  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  const packages = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    add(packages, owner(url, functionName), us);
    add(functions, `${functionName || '(anonymous)'} ${owner(url, functionName)}:${lineNumber + 1}`, us);
  }
  // Inclusive: a sample counts for every package on its stack, once (e.g. all the time spent under TypeORM).
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      if (url) seen.add(owner(url, functionName));
    }
    for (const key of seen) add(inclusive, key, us);
  }
  const show = (title: string, map: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`${((100 * us) / busy).toFixed(1).padStart(6)} %  ${key}\n`);
    }
  };
  process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${((100 * busy) / total).toFixed(0)} % busy (shares below are of the busy time)\n`);
  show('self time by package / file', packages);
  show('inclusive time by package / file (on the stack)', inclusive);
  show('self time by function', functions);
}

main();
