#!/usr/bin/env node
// The lstm-runtime command (package.json "bin"); the commands are in program.ts.
import { main } from './program.js';

process.exitCode = await main(process.argv.slice(2));
