#!/usr/bin/env bun
// The npm package's command line: the bundled cli.ts, under Bun.
import { main } from "../dist/cli.js";

process.exitCode = await main(process.argv.slice(2));
