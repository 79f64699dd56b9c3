import type { AccountRole, ApiTokenScope } from '../../../prisma/generated/client/enums.js';

/** What a token may do beyond its own account: nothing unless an operator gave it a scope. */
export const TOKEN_SCOPES = ['account', 'operator_read', 'operator'] as const satisfies readonly ApiTokenScope[];

/** Operator-scoped tokens are for scripts with a purpose and a lifetime: they must expire, within this. */
export const OPERATOR_TOKEN_MAX_DAYS = 90;

/**
 * The role a request made with a token acts with. An operator's token acts as a customer (on
 * the operator's own account) unless it was scoped for operator work; `operator_read` reads
 * everything but writes only as the account itself. A customer's token is a customer's.
 */
export function roleThroughToken(accountRole: AccountRole, scope: ApiTokenScope, safeMethod: boolean): AccountRole {
  if (accountRole !== 'operator') return accountRole;
  if (scope === 'operator' || (scope === 'operator_read' && safeMethod)) return 'operator';
  return 'customer';
}
