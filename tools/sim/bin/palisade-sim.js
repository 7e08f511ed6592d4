#!/usr/bin/env node
// Thin launcher: the CLI is compiled from src/cli.ts by `npm install` (prepare → tsc -b).
import { main } from '../dist/cli.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`palisade-sim: ${err?.message ?? err}\n`);
    process.exitCode = 1;
  },
);
