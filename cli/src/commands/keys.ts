import {
  CliApiKeysDocument,
  CliCreateApiKeyDocument,
  CliRevokeApiKeyDocument,
  type ApiKeyScope,
  type CliApiKeyFragment,
  type CliApiKeysQuery,
} from '../__generated__/operations.js';
import { stringOption, type Command } from '../command.js';
import { usage } from '../errors.js';
import { table } from '../table.js';

const SCOPES: readonly ApiKeyScope[] = ['READ', 'PREDICT', 'WRITE'];

function parseScopes(text: string | undefined): ApiKeyScope[] {
  if (!text) throw usage('Give the key its scopes: --scope READ[,PREDICT][,WRITE]');
  const scopes = text.split(',').map((scope) => scope.trim().toUpperCase());
  const unknown = scopes.filter((scope) => !SCOPES.includes(scope as ApiKeyScope));
  if (unknown.length > 0) throw usage(`Unknown scope ${unknown.join(', ')}: use READ, PREDICT or WRITE`);
  return scopes as ApiKeyScope[];
}

function parseExpiry(text: string | undefined): string | null {
  if (text === undefined) return null;
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw usage(`--expires must be an ISO-8601 date-time (2027-01-31T00:00:00Z), not ${text}`);
  return new Date(time).toISOString();
}

const state = (key: CliApiKeyFragment) =>
  key.revokedAt ? 'revoked' : key.expiresAt && Date.parse(key.expiresAt) <= Date.now() ? 'expired' : 'active';

export const keyCommands: Command[] = [
  {
    path: ['keys', 'create'],
    summary: 'Create an API key for a machine client (its secret is shown once)',
    usage: `keys create --name NAME --scope READ[,PREDICT][,WRITE] [--project ID] [--expires ISO]

READ runs queries and subscriptions; PREDICT adds predict, startPrediction and cancelPrediction;
WRITE adds every other mutation you may run (API keys and your account excepted) and reading a
project's webhook signing secret (READ and PREDICT keys cannot read it). --project
limits the key to one project. The secret is printed on stdout, once: the platform keeps only a
hash. Use it as \`Authorization: Bearer <secret>\`, or as AI_CODE_API_KEY for this CLI.`,
    options: {
      name: { type: 'string' },
      scope: { type: 'string' },
      project: { type: 'string' },
      expires: { type: 'string' },
    },
    async run({ api, stdout, stderr }, values) {
      const name = stringOption(values, 'name');
      if (!name) throw usage('Name the key: --name NAME');
      const data = await api.request(CliCreateApiKeyDocument, {
        input: {
          name,
          scopes: parseScopes(stringOption(values, 'scope')),
          projectId: stringOption(values, 'project') ?? null,
          expiresAt: parseExpiry(stringOption(values, 'expires')),
        },
      });
      const { apiKey, secret } = data.createApiKey;
      stderr.write(
        `Created API key ${apiKey.name} (${apiKey.id}, ${apiKey.scopes.join(',')}). Its secret, shown this once:\n`,
      );
      stdout.write(`${secret}\n`);
    },
  },
  {
    path: ['keys', 'list'],
    summary: 'List your API keys, revoked ones included',
    usage: 'keys list',
    options: {},
    async run({ api, stdout }) {
      const keys: CliApiKeyFragment[] = [];
      for (let after: string | null = null; ;) {
        const page: CliApiKeysQuery = await api.request(CliApiKeysDocument, { after });
        keys.push(...page.apiKeys.nodes);
        if (!page.apiKeys.pageInfo.hasNextPage) break;
        after = page.apiKeys.pageInfo.endCursor;
      }
      if (keys.length === 0) {
        stdout.write('No API keys yet: ai-code keys create --name NAME --scope READ\n');
        return;
      }
      stdout.write(
        table(
          ['ID', 'NAME', 'PREFIX', 'SCOPES', 'PROJECT', 'STATE', 'CREATED', 'EXPIRES', 'LAST USED'],
          keys.map((k) => [
            k.id,
            k.name,
            `${k.prefix}…`,
            k.scopes.join(','),
            k.project?.id ?? '',
            state(k),
            k.createdAt,
            k.expiresAt ?? '',
            k.lastUsedAt ?? '',
          ]),
        ),
      );
    },
  },
  {
    path: ['keys', 'revoke'],
    summary: 'Revoke an API key (refused everywhere within seconds)',
    usage: 'keys revoke <id>',
    options: {},
    async run({ api, stdout }, _values, [id]) {
      if (!id) throw usage('Which key? ai-code keys revoke <id> (ai-code keys list shows them)');
      const data = await api.request(CliRevokeApiKeyDocument, { id });
      stdout.write(`Revoked API key ${data.revokeApiKey.name} (${data.revokeApiKey.prefix}…)\n`);
    },
  },
];
