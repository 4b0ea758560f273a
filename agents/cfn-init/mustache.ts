/**
 * Mustache rendering for `files` entries with a `context`, as aws-cfn-bootstrap
 * does it with chevron: `{{x}}` is HTML-escaped, `{{{x}}}` and `{{& x}}` are
 * raw, missing keys render empty, partials render empty.
 *
 * mustache.js escapes more than chevron (`'`, `/`, `` ` ``, `=` too), which
 * would turn paths and URLs in config files into `&#x2F;` soup; so the escape
 * function is chevron's: `&`, `<`, `>`, `"` only.
 */
// require(), not import: esbuild would pick the package's ESM build, which only has a default export.
import Mustache = require('mustache');
import { CfnError, errorMessage } from '../../shared/errors';

export class TemplateError extends CfnError {}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** chevron's _html_escape. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"]/g, (c) => ESCAPES[c]);
}

/** Render `template` with `context`; syntax errors become TemplateError naming `what`. */
export function renderTemplate(template: string, context: object, what: string): string {
  try {
    // A writer per render: the shared one caches every template text for the process's life.
    return new Mustache.Writer().render(template, context, {}, { escape: escapeHtml });
  } catch (err) {
    throw new TemplateError(`cannot render ${what} as a Mustache template: ${errorMessage(err)}`, { cause: err });
  }
}
