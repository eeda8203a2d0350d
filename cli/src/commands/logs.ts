import { ApiError } from '../api.js';
import { stringOption, type Command, type Context, type OptionValues } from '../command.js';
import {
  CliLogTailDocument,
  CliRecentLogsDocument,
  type CliLogEntryFragment,
  type LogFilter,
  type LogLevel,
} from '../__generated__/operations.js';
import { CliError, usage } from '../errors.js';
import type { Colors } from '../progress.js';
import { reconnecting } from './predictions.js';

// Least severe first: --level shows its level and those after it.
const LEVELS: readonly LogLevel[] = ['DEBUG', 'INFO', 'WARN', 'ERROR'];
type LogEntry = CliLogEntryFragment;

export function formatEntry(entry: LogEntry, colors: Colors): string {
  const paint = { DEBUG: colors.dim, INFO: colors.cyan, WARN: colors.yellow, ERROR: colors.red }[entry.level];
  const metadata =
    entry.metadata && typeof entry.metadata === 'object' && Object.keys(entry.metadata).length > 0
      ? ` ${colors.dim(JSON.stringify(entry.metadata))}`
      : '';
  return `${colors.dim(entry.loggedAt)} ${paint(entry.level.padEnd(5))} ${colors.bold(entry.service)} ${entry.message}${metadata}\n`;
}

function filterFrom(values: Record<string, unknown>): LogFilter {
  const filter: LogFilter = {};
  const level = typeof values.level === 'string' ? values.level.toUpperCase() : undefined;
  if (level !== undefined) {
    const index = LEVELS.indexOf(level as LogLevel);
    if (index < 0) throw usage(`--level must be one of ${LEVELS.join(', ')} (case does not matter)`);
    filter.levels = LEVELS.slice(index);
  }
  for (const [option, field] of [
    ['project', 'projectId'],
    ['prediction', 'predictionId'],
    ['service', 'service'],
    ['contains', 'contains'],
  ] as const) {
    const value = values[option];
    if (typeof value === 'string') filter[field] = value;
  }
  return filter;
}

/**
 * Prints entries as they are written. When the connection drops, the client reconnects with backoff
 * and the subscription resumes; what was written meanwhile is fetched with `logs(since:)` and
 * printed once, so the tail has no hole.
 */
async function follow({ api, stdout, stderr, colors }: Context, filter: LogFilter): Promise<void> {
  const printed = new Set<string>();
  const order: string[] = [];
  let lastLoggedAt: string | undefined;
  const print = (entry: LogEntry) => {
    if (printed.has(entry.id)) return;
    printed.add(entry.id);
    order.push(entry.id);
    // Remember enough ids to drop the duplicates a catch-up may bring, not every id ever seen.
    if (order.length > 10_000) printed.delete(order.shift()!);
    if (!lastLoggedAt || entry.loggedAt > lastLoggedAt) lastLoggedAt = entry.loggedAt;
    stdout.write(formatEntry(entry, colors.out));
  };
  const notices = reconnecting(api, stderr);
  await api.subscribe(CliLogTailDocument, { filter }, ({ logTail }) => print(logTail), {
    disconnected: notices.disconnected,
    reconnected: () => {
      notices.reconnected();
      if (!lastLoggedAt) return;
      api
        .request(CliRecentLogsDocument, { filter: { ...filter, since: lastLoggedAt }, first: 100 })
        .then(({ logs }) => logs.nodes.reverse().forEach(print))
        .catch((error: Error) =>
          stderr.write(`Could not fetch the entries written while disconnected: ${error.message}\n`),
        );
    },
  });
}

export const logCommands: Command[] = [
  {
    path: ['logs'],
    summary: 'Show recent log entries, or follow them live with --follow',
    usage: `logs [--follow] [--level LEVEL] [--project ID] [--prediction ID] [--service NAME] [--contains TEXT] [--limit N]

--level shows that level and the ones above it (DEBUG < INFO < WARN < ERROR). Without --follow,
prints the latest entries (--limit, default 50), oldest first. With --follow, prints entries as
they are written until Ctrl-C, reconnecting when the connection drops.`,
    options: {
      follow: { type: 'boolean', short: 'f' },
      level: { type: 'string' },
      project: { type: 'string' },
      prediction: { type: 'string' },
      service: { type: 'string' },
      contains: { type: 'string' },
      limit: { type: 'string' },
    },
    async run(context, values) {
      const filter = filterFrom(values);
      try {
        await show(context, values, filter);
      } catch (error) {
        // A gateway whose schema has no logs API fails validation; say so rather than quote the validator.
        if (error instanceof ApiError && error.code === 'GRAPHQL_VALIDATION_FAILED') {
          throw new CliError(`${context.api.url} does not serve the logs API (${error.message})`);
        }
        throw error;
      }
    },
  },
];

async function show(context: Context, values: OptionValues, filter: LogFilter): Promise<void> {
  if (values.follow) return follow(context, filter);
  const limit = Number(stringOption(values, 'limit') ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw usage('--limit must be a whole number from 1 to 100');
  const { logs } = await context.api.request(CliRecentLogsDocument, { filter, first: limit });
  for (const entry of logs.nodes.reverse()) context.stdout.write(formatEntry(entry, context.colors.out));
}
