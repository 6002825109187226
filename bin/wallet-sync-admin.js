#!/usr/bin/env node
// Built by `npm start` / `npm run build` (dist/); `npm run admin -- <command>` builds first.
require("../dist/src/admin/main.js");
