/**
 * The fixed data the four benchmark subgraphs serve. Its shape follows the published federation
 * benchmark (graphql-hive/graphql-gateways-benchmark): 6 users, 9 products, 11 reviews spread 4/4/1/2
 * over the first four products, every review written by user 1 and every user's `reviews` being the
 * first two, so the deep query fans out exactly as there and the responses are about as large.
 */

export type User = { id: string; name: string; username: string; birthday: number };
export type Product = { upc: string; name: string; price: number; weight: number; inStock: boolean };
export type Review = { id: string; body: string; productUpc: string; authorId: string };

export const users: readonly User[] = [
  { id: '1', name: 'Ada Lovelace', username: 'ada', birthday: 1234567890 },
  { id: '2', name: 'Alan Turing', username: 'alan', birthday: 1234567890 },
  { id: '3', name: 'Grace Hopper', username: 'grace', birthday: 1234567890 },
  { id: '4', name: 'Edsger Dijkstra', username: 'edsger', birthday: 1234567890 },
  { id: '5', name: 'Barbara Liskov', username: 'barbara', birthday: 1234567890 },
  { id: '6', name: 'Donald Knuth', username: 'donald', birthday: 1234567890 },
];

export const products: readonly Product[] = [
  { upc: '1', name: 'Table', price: 899, weight: 100, inStock: true },
  { upc: '2', name: 'Couch', price: 1299, weight: 1000, inStock: false },
  { upc: '3', name: 'Glass', price: 15, weight: 20, inStock: false },
  { upc: '4', name: 'Chair', price: 499, weight: 100, inStock: false },
  { upc: '5', name: 'TV', price: 1299, weight: 1000, inStock: true },
  { upc: '6', name: 'Lamp', price: 6999, weight: 300, inStock: true },
  { upc: '7', name: 'Grill', price: 3999, weight: 2000, inStock: true },
  { upc: '8', name: 'Fridge', price: 100000, weight: 6000, inStock: false },
  { upc: '9', name: 'Sofa', price: 9999, weight: 800, inStock: true },
];

// Filler text, cut to lengths like the published benchmark's review bodies (150 to 900 characters).
const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et ' +
  'dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ' +
  'ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu ' +
  'fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt ' +
  'mollit anim id est laborum. ';
const body = (length: number, offset: number) => LOREM.repeat(3).slice(offset, offset + length);

export const reviews: readonly Review[] = [
  { id: '1', body: body(445, 0), productUpc: '1', authorId: '1' },
  { id: '2', body: body(300, 12), productUpc: '1', authorId: '1' },
  { id: '3', body: body(280, 40), productUpc: '1', authorId: '1' },
  { id: '4', body: body(150, 77), productUpc: '1', authorId: '1' },
  { id: '5', body: body(445, 3), productUpc: '2', authorId: '1' },
  { id: '6', body: body(300, 18), productUpc: '2', authorId: '1' },
  { id: '7', body: body(280, 52), productUpc: '2', authorId: '1' },
  { id: '8', body: body(150, 90), productUpc: '2', authorId: '1' },
  { id: '9', body: body(150, 101), productUpc: '3', authorId: '1' },
  { id: '10', body: body(150, 130), productUpc: '4', authorId: '1' },
  { id: '11', body: body(900, 7), productUpc: '4', authorId: '1' },
];

export const userById = (id: string): User | undefined => users.find((user) => user.id === id);
export const productByUpc = (upc: string): Product | undefined => products.find((product) => product.upc === upc);
export const reviewById = (id: string): Review | undefined => reviews.find((review) => review.id === id);
export const reviewsOfProduct = (upc: string): Review[] => reviews.filter((review) => review.productUpc === upc);
/** As in the published benchmark: every user's reviews are the first two. */
export const reviewsOfUser = (_id: string): Review[] => reviews.slice(0, 2);
export const topProducts = (first: number): Product[] => products.slice(0, first);

/** Inventory's @requires(fields: "price weight"): free above 1000, half the weight otherwise. */
export function shippingEstimate(price: number | null, weight: number | null): number | null {
  if (price === null || weight === null) return null;
  return price > 1000 ? 0 : Math.floor(weight / 2);
}
