#!/usr/bin/env node
// Entry point of the `mailbridge` binary; everything else is in program.ts.
import { main } from './program.js';

process.exitCode = await main(process.argv);
