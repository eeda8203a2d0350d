import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSchema, parse } from 'graphql';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { plugin } from './codegen-document-text.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ai-code-codegen-text-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('emits the file as written, comments kept, as a constant that evaluates back to the same text', async () => {
  const text = '# A `quoted` ${not} \\ interpolation\nquery Me {\n  me { id }\n}\n';
  const location = join(dir, 'walkthrough.graphql');
  await writeFile(location, text);
  const schema = buildSchema('type Query { me: User } type User { id: ID! }');
  const output = await plugin(schema, [{ location, document: parse(text) }], { name: 'TEXT' });
  expect(output).toMatch(/^export const TEXT = `/);
  const url = `data:text/javascript,${encodeURIComponent(String(output))}`;
  expect(((await import(url)) as { TEXT: string }).TEXT).toBe(text);
});
