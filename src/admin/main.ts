import 'reflect-metadata';
import { runAdmin } from './admin.cli';

// The command's own process: its exit code is the result (docs/operations.md: "The admin command").
runAdmin(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin }).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`wallet-sync-admin: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
