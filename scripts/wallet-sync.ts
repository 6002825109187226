import { main } from '../src/client/cli/wallet-sync.cli';

/** `npm run wallet-sync -- <command>`: the CLI from source, without a build. */
void main();
