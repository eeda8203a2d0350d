import type { Identity } from '../../../lib/auth/identity.js';

export type Context = {
  identity: Identity | null;
};

export const createContext = (identity: Identity | null): Context => ({ identity });
