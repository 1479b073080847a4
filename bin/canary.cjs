#!/usr/bin/env node
'use strict';
// `npx canary …`: runs lib/delivery/main.ts through the cached bundle runner (transpile only, no type check).
const path = require('node:path');

process.argv.splice(2, 0, path.join(__dirname, '..', 'lib', 'delivery', 'main.ts'));
require('../tools/run-bundled.cjs');
