import { PassThrough } from 'node:stream';
import { runAdmin } from '../../src/admin/admin.cli';
import { TEST_ENV } from '../../test-support/test-env';

export interface AdminRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed, for --json runs. */
  json: any;
}

/** Runs wallet-sync-admin in this process with `env` as its whole environment; no terminal, so nothing can be confirmed interactively. */
export async function admin(env: Record<string, string>, ...argv: string[]): Promise<AdminRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  const code = await runAdmin(argv, { stdout, stderr, stdin, env: { ...TEST_ENV, ...env } });
  let json: unknown;
  try {
    json = JSON.parse(out);
  } catch {
    json = undefined;
  }
  return { code, stdout: out, stderr: err, json };
}
