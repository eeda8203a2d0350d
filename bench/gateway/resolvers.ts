import {
  productByUpc,
  reviewById,
  reviewsOfProduct,
  reviewsOfUser,
  shippingEstimate,
  topProducts,
  userById,
  users,
  type Review,
} from './data.js';
import type { SubgraphName } from './topology.js';

type Representation = Record<string, unknown>;
const str = (value: unknown): string => String(value);
const intOrNull = (value: unknown): number | null => (typeof value === 'number' ? value : null);

/** The resolvers of each benchmark subgraph, over the fixed data. */
export const resolvers: Record<SubgraphName, unknown> = {
  accounts: {
    Query: {
      me: () => users[0],
      user: (_: unknown, { id }: { id: string }) => userById(id) ?? null,
      users: () => users,
    },
    User: { __resolveReference: ({ id }: Representation) => userById(str(id)) ?? null },
  },
  inventory: {
    Product: {
      // price and weight arrive in the representation, as @requires asks of the gateway.
      __resolveReference: (ref: Representation) => ({
        upc: str(ref.upc),
        price: intOrNull(ref.price),
        weight: intOrNull(ref.weight),
        inStock: productByUpc(str(ref.upc))?.inStock ?? null,
      }),
      shippingEstimate: ({ price, weight }: { price: number | null; weight: number | null }) =>
        shippingEstimate(price, weight),
    },
  },
  products: {
    Query: { topProducts: (_: unknown, { first }: { first: number }) => topProducts(first) },
    Product: { __resolveReference: ({ upc }: Representation) => productByUpc(str(upc)) ?? null },
  },
  reviews: {
    Review: {
      __resolveReference: ({ id }: Representation) => reviewById(str(id)) ?? null,
      product: (review: Review) => ({ upc: review.productUpc }),
      author: (review: Review) => ({ id: review.authorId, username: userById(review.authorId)?.username ?? null }),
    },
    User: {
      __resolveReference: ({ id }: Representation) => ({ id: str(id) }),
      reviews: ({ id }: { id: string }) => reviewsOfUser(id),
    },
    Product: {
      __resolveReference: ({ upc }: Representation) => ({ upc: str(upc) }),
      reviews: ({ upc }: { upc: string }) => reviewsOfProduct(upc),
    },
  },
};
