import { main } from '../src/cli/wallet-sync.cli';

/** `npm run wallet-sync -- <command>`: the CLI from source, without a build. */
void main();
