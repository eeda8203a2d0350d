import type { ProjectsSubgraphDeps } from './server.js';

/**
 * The projects service's settings, read by its process and by the platform. It has none of its own
 * yet (only the shared database, stores and log); one added here reaches both.
 */
export const projectsEnvShape = {};

export type ProjectsConfig = Pick<ProjectsSubgraphDeps, never>;

export const projectsConfig = (_env: object): ProjectsConfig => ({});
