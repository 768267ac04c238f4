export { Quantity, QuantityParseError, parseQuantity, formatQuantity, bytesToQuantity } from './quantity.js';
export type { QuantityFormat } from './quantity.js';
