import { z } from 'zod';

/** New ACME orders allowed within a sliding window: the platform's and one customer's share of it. */
export interface AcmeOrderLimits {
  /** Per ACME account, under the CA's own limit (Let's Encrypt: 300 new orders per 3 hours). */
  perAcmeAccount: number;
  /** Per customer account, so one customer cannot spend the platform's budget. */
  perCustomer: number;
  windowMs: number;
}

/**
 * The budget's settings, in both processes' environment schemas: the worker enforces them, the
 * API shows operators how much of them is spent. One definition, so the two never disagree.
 */
export const acmeOrderLimitsEnv = {
  ACME_ORDER_BUDGET: z.coerce.number().int().min(1).max(100_000).default(250),
  ACME_ORDER_WINDOW_MS: z.coerce.number().int().min(1_000).max(7 * 86_400_000).default(10_800_000),
  ACME_ORDERS_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(20),
};

type AcmeOrderLimitsEnv = { [K in keyof typeof acmeOrderLimitsEnv]: z.infer<(typeof acmeOrderLimitsEnv)[K]> };

export const acmeOrderLimitsOf = (e: AcmeOrderLimitsEnv): AcmeOrderLimits => ({
  perAcmeAccount: e.ACME_ORDER_BUDGET,
  perCustomer: e.ACME_ORDERS_PER_ACCOUNT,
  windowMs: e.ACME_ORDER_WINDOW_MS,
});
