import { DateTimeResolver, JSONResolver } from 'graphql-scalars';

/** The contract's scalars: DateTime (ISO-8601 UTC) and JSON. */
export const scalarResolvers = { DateTime: DateTimeResolver, JSON: JSONResolver };
