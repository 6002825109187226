import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');

/** The files a fresh Node process holds after requiring `entry` (from source, as `npm run schema` runs it). */
async function modulesLoadedBy(entry: string): Promise<string[]> {
  const script = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const { stdout } = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'reflect-metadata', '-e', script], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_PROJECT: resolve(ROOT, 'tsconfig.json') },
  });
  return (JSON.parse(stdout) as string[]).map((file) => file.slice(ROOT.length + 1));
}

/** What only the HTTP side loads: the server's composition, Fastify, Apollo, type-graphql and the schema. */
const HTTP_SIDE = [/^src\/app\.ts$/, /^src\/server\.ts$/, /^src\/http\//, /^src\/graphql\//, /node_modules\/fastify\//, /node_modules\/@apollo\/server\//, /node_modules\/type-graphql\//];

/** The HTTP side's files among `files`, a package named once (node_modules/fastify), not by each of its files. */
const httpSideIn = (files: string[]) => [
  ...new Set(files.filter((file) => HTTP_SIDE.some((pattern) => pattern.test(file))).map((file) => /^.*node_modules\/(@[^/]+\/)?[^/]+/.exec(file)?.[0] ?? file)),
];

describe("the admin command's module graph", () => {
  // The admin command wires the same services as the server (src/services/wiring.ts) but serves no HTTP:
  // loading Fastify, Apollo and the schema only to reach the services would cost every invocation their start-up.
  it('when the admin command is loaded, then it loads the services’ wiring and nothing of the HTTP side', async () => {
    const files = await modulesLoadedBy('./src/admin/admin.cli');
    expect(files).toContain('src/admin/admin-context.ts');
    expect(files).toContain('src/services/wiring.ts');
    expect(httpSideIn(files)).toEqual([]);
  });

  // The probe itself: the same look at the server's composition must see the HTTP side, or the test above proves nothing.
  it('when the server’s composition (app.ts) is loaded the same way, then the probe sees Fastify, Apollo and the schema', async () => {
    const files = await modulesLoadedBy('./src/app');
    expect(httpSideIn(files)).toEqual(
      expect.arrayContaining(['src/app.ts', 'src/graphql/schema.ts', 'node_modules/fastify', 'node_modules/@apollo/server']),
    );
  });
});
