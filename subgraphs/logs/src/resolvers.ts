import { pageArgs } from '../../../lib/graphql/pagination.js';
import { scalarResolvers } from '../../../lib/graphql/scalars.js';
import type { LogsService } from './domain/logs.service.js';
import type { Resolvers } from './__generated__/resolvers-types.js';

export function createResolvers(logs: LogsService): Resolvers {
  return {
    ...scalarResolvers,
    Query: {
      logs: (_, { filter, first, after }, { identity }) => logs.list(identity, filter, pageArgs({ first, after })),
    },
    Subscription: {
      logTail: { subscribe: (_, { filter }, { identity }) => logs.tail(identity, filter) },
    },
    LogEntry: {
      // References only: the projects and inference subgraphs resolve them, with their own visibility.
      project: (entry) => (entry.projectId ? { id: entry.projectId } : null),
      prediction: (entry) => (entry.predictionId ? { id: entry.predictionId } : null),
    },
  };
}
