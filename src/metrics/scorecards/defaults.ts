import { DEFAULT_GRADES, type ScorecardDefinition } from './definition.js'
import type { ScorecardKind } from './schema.js'

/**
 * The definitions a tenant starts with, in force until an administrator saves their own. The
 * supplier scorecard follows SAP's supplier evaluation and VDA practice: delivery and quality
 * measured from the deliveries and complaints, price and service entered by purchasing (FXM has
 * no prices or service records to measure them by; until someone enters them, their weight goes
 * to delivery and quality and every result says so).
 */

const identity = {
  type: 'linear' as const,
  points: [
    { x: 0, score: 0 },
    { x: 100, score: 100 },
  ],
}

const SUPPLIER: ScorecardDefinition = {
  period: 'quarter',
  smoothing: null,
  grades: DEFAULT_GRADES,
  criteria: [
    {
      key: 'price',
      name: 'Price',
      weight: 20,
      subCriteria: [
        {
          key: 'price_level',
          name: 'Price level (0–100, entered)',
          input: 'manual',
          weight: 1,
          mapping: identity,
        },
      ],
    },
    {
      key: 'quality',
      name: 'Quality',
      weight: 30,
      subCriteria: [
        {
          key: 'ppm',
          name: 'Rejected parts per million',
          input: 'ppm',
          weight: 50,
          mapping: {
            type: 'linear',
            points: [
              { x: 0, score: 100 },
              { x: 100, score: 90 },
              { x: 500, score: 70 },
              { x: 2000, score: 30 },
              { x: 5000, score: 0 },
            ],
          },
        },
        {
          key: 'complaints',
          name: 'Complaints per 100 delivered lines',
          input: 'complaints_per_100_deliveries',
          weight: 50,
          mapping: {
            type: 'table',
            rows: [
              { atMost: 0, score: 100 },
              { atMost: 1, score: 80 },
              { atMost: 2, score: 60 },
              { atMost: 5, score: 30 },
            ],
            otherwise: 0,
          },
        },
      ],
    },
    {
      key: 'delivery',
      name: 'Delivery',
      weight: 40,
      subCriteria: [
        {
          key: 'on_time',
          name: 'On-time delivery rate',
          input: 'on_time_rate',
          weight: 50,
          mapping: {
            type: 'linear',
            points: [
              { x: 70, score: 0 },
              { x: 90, score: 60 },
              { x: 95, score: 80 },
              { x: 100, score: 100 },
            ],
          },
        },
        {
          key: 'in_full',
          name: 'In-full rate',
          input: 'in_full_rate',
          weight: 30,
          mapping: {
            type: 'table',
            rows: [
              { atLeast: 99, score: 100 },
              { atLeast: 97, score: 80 },
              { atLeast: 95, score: 60 },
              { atLeast: 90, score: 40 },
            ],
            otherwise: 0,
          },
        },
        {
          key: 'lead_time',
          name: 'Mean days late',
          input: 'lead_time_deviation',
          weight: 20,
          mapping: {
            type: 'linear',
            points: [
              { x: 0, score: 100 },
              { x: 1, score: 80 },
              { x: 3, score: 50 },
              { x: 7, score: 0 },
            ],
          },
        },
      ],
    },
    {
      key: 'service',
      name: 'Service',
      weight: 10,
      subCriteria: [
        { key: 'service', name: 'Service (0–100, entered)', input: 'manual', weight: 1, mapping: identity },
      ],
    },
  ],
}

const trend = {
  type: 'linear' as const,
  points: [
    { x: -50, score: 0 },
    { x: -20, score: 50 },
    { x: 0, score: 80 },
    { x: 20, score: 100 },
  ],
}

const CUSTOMER_HEALTH: ScorecardDefinition = {
  period: 'quarter',
  smoothing: null,
  grades: DEFAULT_GRADES,
  criteria: [
    {
      key: 'recency',
      name: 'Recency',
      weight: 25,
      subCriteria: [
        {
          key: 'days_since_last_order',
          input: 'days_since_last_order',
          weight: 1,
          mapping: {
            type: 'linear',
            points: [
              { x: 30, score: 100 },
              { x: 90, score: 50 },
              { x: 180, score: 0 },
            ],
          },
        },
      ],
    },
    {
      key: 'frequency',
      name: 'Frequency',
      weight: 20,
      subCriteria: [{ key: 'orders_trend', input: 'orders_trend', weight: 1, mapping: trend }],
    },
    {
      key: 'monetary',
      name: 'Monetary trend',
      weight: 25,
      subCriteria: [{ key: 'revenue_trend', input: 'revenue_trend', weight: 1, mapping: trend }],
    },
    {
      key: 'nps',
      name: 'NPS',
      weight: 15,
      subCriteria: [
        {
          key: 'nps',
          input: 'nps',
          weight: 1,
          mapping: {
            type: 'linear',
            points: [
              { x: -100, score: 0 },
              { x: 0, score: 50 },
              { x: 50, score: 100 },
            ],
          },
        },
      ],
    },
    {
      key: 'complaints',
      name: 'Open complaints',
      weight: 15,
      subCriteria: [
        {
          key: 'open_complaints',
          input: 'open_complaints',
          weight: 1,
          mapping: {
            type: 'table',
            rows: [
              { atMost: 0, score: 100 },
              { atMost: 1, score: 60 },
              { atMost: 3, score: 30 },
            ],
            otherwise: 0,
          },
        },
      ],
    },
  ],
}

/** The default definition of a kind (a fresh copy). */
export function defaultDefinition(kind: ScorecardKind): ScorecardDefinition {
  return structuredClone(kind === 'supplier' ? SUPPLIER : CUSTOMER_HEALTH)
}
