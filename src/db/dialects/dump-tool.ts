import { spawn } from 'node:child_process';

/** Runs a database's own dump tool; 'missing' when it is not installed here. */
export function runTool(tool: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<'missing' | { code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? resolve('missing') : reject(error)));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}
