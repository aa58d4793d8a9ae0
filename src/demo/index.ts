/**
 * demo: the demo world generator. It makes a deterministic, realistic B2B world for one tenant, a
 * wholesaler with its customers, suppliers, products and 13 months of native events (shop
 * behaviour, orders, returns, deliveries, complaints, NPS, availability), and plants known patterns
 * with their ground truth, so `npm start` shows a living system and detectors can be scored.
 * It generates events only; loading them goes through the real collectors (see docs/demo.md).
 */
export { batches } from './batches.js'
export { DEMO_COMPANY, type SalesRep } from './catalog.js'
export { measurePatterns, type PatternMeasures } from './measure.js'
export { NEAR_TIER_BAND, TIER_THRESHOLDS } from './patterns-customers.js'
export { type DayWindow, type DemoTruth, type ObservedTruth, writeTruth } from './truth.js'
export { type DemoWorld, type DemoWorldOptions, generateDemoWorld } from './world.js'
