import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const PACKAGE = path.resolve(__dirname, '..', '..');

describe('the client\'s committed typed operations', () => {
  it('when codegen runs against the server\'s committed schema.graphql, then the committed typed operations are up to date', async () => {
    // Through npm, which finds the codegen binary wherever the install put it (here, or hoisted to a workspace root).
    const run = promisify(execFile)('npm', ['run', '--silent', 'codegen', '--', '--check'], { cwd: PACKAGE });
    await expect(run).resolves.toBeDefined();
  }, 60_000);
});
