#!/usr/bin/env node
// The `ai-code` command (package.json "bin"): runs the built CLI, dist/cli/src/main.js.
import { existsSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Node 22.1+: compiled code cached between runs (in the OS temp folder), a faster start; older Node skips it.
module.enableCompileCache?.();

const main = new URL('../../dist/cli/src/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('ai-code: the CLI is not built yet: run `npm run build` in the ai-code repository\n');
  process.exit(1);
}
await import(main.href);
