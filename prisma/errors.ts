/** Prisma's code for a unique-constraint violation: another writer got there first. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error).code === 'P2002';
}
