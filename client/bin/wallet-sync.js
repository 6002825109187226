#!/usr/bin/env node
'use strict';
// The compiled CLI (the package ships dist/; in a clone, build it first or run it from source).
require('../dist/cli/wallet-sync.cli.js').main();
