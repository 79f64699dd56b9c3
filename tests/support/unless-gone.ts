/**
 * For teardown: removing what a test made may find it already gone (the test removed it, or a
 * step failed before making it). Only that is let pass; any other failure of the cleanup is
 * thrown, so a leak shows up as a failed teardown instead of being swallowed.
 */
export function unlessGone(error: unknown): void {
  const status = (error as { statusCode?: unknown }).statusCode;
  const message = error instanceof Error ? error.message : String(error);
  if (status === 404 || /no such (container|volume|image)|not found/i.test(message)) return;
  throw error;
}
