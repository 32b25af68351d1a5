export { computeCostMicroUsd, priceCall, type PriceReason, type PricedCall } from './cost';
export type { ModelPrice, PriceOverrides } from './price-schema';
export {
  findPrice,
  loadPriceTable,
  PriceTableError,
  type LoadPriceTableOptions,
  type PriceTable,
  type PriceTableIssue,
} from './price-table';
export { encodingForModel, estimateTokens, type EncodingName } from './token-estimator';
