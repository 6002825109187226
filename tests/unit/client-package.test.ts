import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const CLIENT = path.join(ROOT, 'src', 'client');
const packageJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module a file imports or requires, as TypeScript itself reads them (comments and strings excluded). */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((imported) => imported.fileName);
}

/** A wallet app installs this package for src/client alone: it must not drag the server in. */
describe('the client as a package entry', () => {
  const files = sourceFiles(CLIENT);

  it('when the client\'s sources are scanned, then every relative import stays inside src/client', () => {
    expect(files.length).toBeGreaterThan(5);
    const escaping = files.flatMap((file) =>
      importsOf(file)
        .filter((specifier) => specifier.startsWith('.'))
        .filter((specifier) => !path.resolve(path.dirname(file), specifier).startsWith(CLIENT + path.sep))
        .map((specifier) => `${path.relative(ROOT, file)} imports ${specifier}`),
    );
    expect(escaping).toEqual([]);
  });

  it('when the client imports a package, then it is a runtime dependency (not a devDependency) or a node: builtin', () => {
    const packages = new Set(
      files.flatMap(importsOf).filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:')),
    );
    const missing = [...packages]
      .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]))
      .filter((name) => !(name in packageJson.dependencies));
    expect(missing).toEqual([]);
  });

  it('when package.json is read, then it exports the client entry and the CLI', () => {
    expect(packageJson.exports['./client']).toMatchObject({ types: './dist/src/client/index.d.ts', default: './dist/src/client/index.js' });
    expect(packageJson.bin['wallet-sync']).toBe('bin/wallet-sync.js');
  });

  it('when codegen runs against the committed schema.graphql, then the committed typed operations are up to date', async () => {
    const codegen = path.join(ROOT, 'node_modules', '.bin', 'graphql-codegen');
    const run = promisify(execFile)(codegen, ['--config', 'codegen.ts', '--check'], { cwd: ROOT });
    await expect(run).resolves.toBeDefined();
  }, 60_000);
});
