import type { DocumentStore } from '../../../lib/docstore/index.js';
import type { ServiceServer } from '../../../lib/http/service-server.js';
import type { HttpLimits, UploadPace } from '../../../lib/http/limits.js';
import type { PlatformLog } from '../../../lib/platform-log/index.js';
import type { PubSub } from '../../../lib/pubsub/index.js';
import type { ObjectStore } from '../../../lib/storage/object-store.js';
import { createSubgraphServer, subgraphServerBase, type SubgraphBase } from '../../../lib/subgraph/create-subgraph.js';
import { createContext } from './context.js';
import { createModelsService } from './domain/models.service.js';
import { createUploadUrlSigner, UPLOAD_PATH } from './domain/upload-url.js';
import { createResolvers } from './resolvers.js';
import { createUploadRoute } from './upload-route.js';

export type ModelsSubgraphDeps = SubgraphBase & {
  store: ObjectStore;
  documents: DocumentStore;
  events: PlatformLog;
  /** Where a deleted model is announced (the inference service's model cache drops it). */
  pubsub: PubSub;
  /** The platform's public base URL, where upload URLs point (PUBLIC_URL). @default gatewayUrl() */
  publicUrl?: string | undefined;
  /** The address of the gateway in front, once it listens. */
  gatewayUrl: () => string;
  uploadTtlSeconds: number;
  maxModelBytes: number;
  /** Headers and body timeouts (lib/http/limits.ts defaults when left out). */
  http?: Partial<HttpLimits> | undefined;
  /** Least pace of an upload. @default DEFAULT_UPLOAD_PACE */
  uploadPace?: UploadPace | undefined;
  /** Longest load of an uploaded model while it is verified, ms. */
  modelLoadTimeoutMs: number;
};

export async function createModelsSubgraph(deps: ModelsSubgraphDeps): Promise<ServiceServer> {
  const models = createModelsService({
    ...deps,
    publicUrl: () => deps.publicUrl ?? deps.gatewayUrl(),
    signer: createUploadUrlSigner(deps.internalSecret),
  });
  return createSubgraphServer({
    name: 'models',
    resolvers: createResolvers(models),
    ...subgraphServerBase(deps),
    createContext: (identity) => createContext(deps.db, models, identity),
    ...(deps.http ? { limits: deps.http } : {}),
    routes: {
      [UPLOAD_PATH]: createUploadRoute(models, deps.logger, {
        ...(deps.http?.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: deps.http.bodyTimeoutMs } : {}),
        ...(deps.uploadPace ? { pace: deps.uploadPace } : {}),
      }),
    },
  });
}
