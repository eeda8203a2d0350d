#!/usr/bin/env node
// The `ai-code` command (package.json "bin"): runs the built CLI, dist/cli/src/main.js.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../../dist/cli/src/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('ai-code: the CLI is not built yet: run `npm run build` in the ai-code repository\n');
  process.exit(1);
}
await import(main.href);
