import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';

const PACKAGE = path.resolve(__dirname, '..', '..');
const SOURCES = path.join(PACKAGE, 'src');
const SERVER_SOURCES = path.join(PACKAGE, '..', 'src');
const packageJson = JSON.parse(readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));

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

function packageName(specifier: string): string {
  return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
}

/** A wallet app installs this package alone: it must not drag the server in, nor the server it. */
describe('the client as its own package', () => {
  const files = sourceFiles(SOURCES);

  it('when the client\'s sources are scanned, then every relative import stays inside the package\'s src', () => {
    expect(files.length).toBeGreaterThan(5);
    const escaping = files.flatMap((file) =>
      importsOf(file)
        .filter((specifier) => specifier.startsWith('.'))
        .filter((specifier) => !path.resolve(path.dirname(file), specifier).startsWith(SOURCES + path.sep))
        .map((specifier) => `${path.relative(PACKAGE, file)} imports ${specifier}`),
    );
    expect(escaping).toEqual([]);
  });

  it('when the client imports a package, then it is one of its runtime dependencies (not a devDependency) or a node: builtin', () => {
    const packages = new Set(files.flatMap(importsOf).filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:')).map(packageName));
    expect(packages.size).toBeGreaterThan(3);
    expect([...packages].filter((name) => !(name in packageJson.dependencies))).toEqual([]);
  });

  it('when the portable entry\'s module graph is scanned, then nothing in it imports node: modules or Node-only packages, or uses Buffer or process', () => {
    const nodeOnly = new Set(['ws', 'proper-lockfile', 'commander', 'read']);
    const seen = new Set<string>();
    const pending = [path.join(SOURCES, 'portable.ts')];
    const offending: string[] = [];
    while (pending.length) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith('.')) pending.push(`${path.resolve(path.dirname(file), specifier)}.ts`);
        else if (specifier.startsWith('node:') || nodeOnly.has(packageName(specifier))) offending.push(`${path.relative(PACKAGE, file)} imports ${specifier}`);
      }
      const code = source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      for (const global of ['Buffer', 'process', 'require']) if (new RegExp(`\\b${global}\\b`).test(code)) offending.push(`${path.relative(PACKAGE, file)} uses ${global}`);
    }
    expect(seen.size).toBeGreaterThan(8);
    expect(offending).toEqual([]);
  });

  it('when the server\'s sources are scanned, then none imports the client', () => {
    const server = sourceFiles(SERVER_SOURCES);
    expect(server.length).toBeGreaterThan(10);
    const importing = server.flatMap((file) =>
      importsOf(file)
        .filter((specifier) => packageName(specifier) === packageJson.name || path.resolve(path.dirname(file), specifier).startsWith(PACKAGE + path.sep))
        .map((specifier) => `${path.relative(path.join(PACKAGE, '..'), file)} imports ${specifier}`),
    );
    expect(importing).toEqual([]);
  });

  it('when package.json is read, then it exports the client entry, the CLI entry and the CLI executable', () => {
    const portable = { types: './dist/portable.d.ts', default: './dist/portable.js' };
    expect(packageJson.exports['.']).toEqual({ browser: portable, 'react-native': portable, types: './dist/index.d.ts', default: './dist/index.js' });
    expect(packageJson.exports['./portable']).toEqual(portable);
    expect(packageJson.exports['./cli']).toEqual({ types: './dist/cli/wallet-sync.cli.d.ts', default: './dist/cli/wallet-sync.cli.js' });
    expect(packageJson.bin['wallet-sync']).toBe('bin/wallet-sync.js');
  });
});
