/** Skips a suite, visibly, when something it needs is missing; in CI that is an error. */
export function skipUnless(ctx: Mocha.Context, what: string, missing: string | undefined): void {
  if (!missing) return;
  if (process.env.CI === 'true') throw new Error(`${what} cannot run: ${missing}`);
  console.log(`      ${what}: skipped: ${missing}`);
  ctx.skip();
}
