// Adapters wrap what they caught with context (`new Error(..., { cause })`): the telling error
// may sit a few causes down. Bounded, so a cycle of causes cannot loop.
const MAX_CAUSE_DEPTH = 8;

/** The error and its causes, outermost first. */
export function* causeChain(error: unknown): Generator<Error> {
  for (let current = error, depth = 0; current instanceof Error && depth < MAX_CAUSE_DEPTH; current = current.cause, depth += 1) yield current;
}

/** The first error in the chain that is a `type`. */
export function findCause<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (const current of causeChain(error)) if (current instanceof type) return current;
  return undefined;
}
