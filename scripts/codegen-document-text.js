// @ts-check
// JavaScript, not TypeScript: graphql-codegen loads plugins with plain import(). Types in the .d.ts.
import { readFileSync } from 'node:fs';

/**
 * A GraphQL Code Generator plugin (codegen.ts): the text of the document files exactly as written,
 * comments and layout kept, as one string constant named by `config.name`. For a client that shows
 * or sends a document file whole, such as the IDE's walkthrough; codegen has validated the
 * documents against the schema before any plugin runs, so the text cannot drift from it.
 *
 * @type {import('./codegen-document-text.js').DocumentTextPlugin}
 */
export const plugin = (_schema, documents, config) => {
  // The file itself: the documents codegen hands over are printed anew, without their comments.
  const text = documents.map((document) => readFileSync(String(document.location), 'utf8')).join('\n');
  // A template literal keeps the text readable; only what would end it or interpolate is escaped.
  return `export const ${config.name} = \`${text.replace(/\\|`|\$\{/g, (match) => `\\${match}`)}\`;\n`;
};
