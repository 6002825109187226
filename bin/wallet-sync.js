#!/usr/bin/env node
'use strict';
// The compiled CLI: run `npm run build` first in a clone (npm run wallet-sync -- … runs it from source).
require('../dist/src/client/cli/wallet-sync.cli.js').main();
