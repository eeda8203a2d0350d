import { isDeepStrictEqual } from 'node:util';
import {
  productByUpc,
  reviewsOfProduct,
  reviewsOfUser,
  shippingEstimate,
  topProducts,
  userById,
  users,
  type Product,
  type Review,
  type User,
} from './data.js';

/** The published benchmark's deep query: users and topProducts, five levels through all four subgraphs. */
export const DEEP_QUERY = `fragment User on User {
  id
  username
  name
}

fragment Review on Review {
  id
  body
}

fragment Product on Product {
  inStock
  name
  price
  shippingEstimate
  upc
  weight
}

query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews {
          ...Review
          author {
            ...User
            reviews {
              ...Review
              product {
                ...Product
              }
            }
          }
        }
      }
    }
  }
  topProducts {
    ...Product
    reviews {
      ...Review
      author {
        ...User
        reviews {
          ...Review
          product {
            ...Product
          }
        }
      }
    }
  }
}`;

export const DEEP_QUERY_BODY = JSON.stringify({ query: DEEP_QUERY });

// The fragments' fields, in the order a gateway must answer them.
const userFields = (user: User) => ({ id: user.id, username: user.username, name: user.name });
const reviewFields = (review: Review) => ({ id: review.id, body: review.body });
const productFields = (product: Product) => ({
  inStock: product.inStock,
  name: product.name,
  price: product.price,
  shippingEstimate: shippingEstimate(product.price, product.weight),
  upc: product.upc,
  weight: product.weight,
});

const product = (upc: string) => productByUpc(upc)!;
const author = (id: string) => ({
  ...userFields(userById(id)!),
  reviews: reviewsOfUser(id).map((review) => ({
    ...reviewFields(review),
    product: productFields(product(review.productUpc)),
  })),
});
const productWithReviews = (item: Product) => ({
  ...productFields(item),
  reviews: reviewsOfProduct(item.upc).map((review) => ({ ...reviewFields(review), author: author(review.authorId) })),
});

/** What every gateway must answer to DEEP_QUERY, computed from the fixed data, not from any gateway. */
export const expectedResponse = {
  data: {
    users: users.map((user) => ({
      ...userFields(user),
      reviews: reviewsOfUser(user.id).map((review) => ({
        ...reviewFields(review),
        product: productWithReviews(product(review.productUpc)),
      })),
    })),
    topProducts: topProducts(5).map(productWithReviews),
  },
};

const expectedText = JSON.stringify(expectedResponse);
const expectedTextNewline = `${expectedText}\n`;

/**
 * True when a response body is exactly the expected response: the whole tree, every value, no
 * `errors`. Byte equality is the fast path; a body that differs only in whitespace or key order
 * is parsed and compared in full.
 */
export function isExpectedResponse(body: string): boolean {
  // Apollo Server ends its bodies with a newline.
  if (body === expectedText || body === expectedTextNewline) return true;
  try {
    return isDeepStrictEqual(JSON.parse(body), expectedResponse);
  } catch {
    return false;
  }
}
