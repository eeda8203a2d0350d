import type { PluginFunction } from '@graphql-codegen/plugin-helpers';

export type DocumentTextPlugin = PluginFunction<{ name: string }, string>;
export declare const plugin: DocumentTextPlugin;
