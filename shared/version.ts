/** Set at bundle time from package.json (scripts/build.js); the fallback serves tsc-compiled tests. */
declare const CFNTOOLS_VERSION: string | undefined;
export const VERSION: string = typeof CFNTOOLS_VERSION === 'string' ? CFNTOOLS_VERSION : '0.0.0-dev';
