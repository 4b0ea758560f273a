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
import { CfnError, errorMessage, LimitError } from '../errors';

export class TemplateError extends CfnError {}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/** chevron's _html_escape. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"]/g, (c) => ESCAPES[c]);
}

/** The output grew past its bound: nested sections over long lists multiply, and a few bytes of template can ask for gigabytes. */
export class TemplateTooLargeError extends LimitError {}

/**
 * A writer that counts what it emits. Every byte of output is a text token,
 * a value or an escaped value, each produced once at the leaves, so their
 * sum is the output's size; counting there stops an exploding template
 * before it has built its output, not after.
 */
class BoundedWriter extends Mustache.Writer {
  private emitted = 0;
  constructor(private readonly max: number) {
    super();
  }

  private count<T>(value: T): T {
    if (value !== undefined && value !== null) {
      this.emitted += String(value).length;
      if (this.emitted > this.max) throw new TemplateTooLargeError('template-size', `the output would be longer than ${this.max} characters (--limit template-size=... raises it)`);
    }
    return value;
  }

  override rawValue(token: string[]): string {
    return this.count(super.rawValue(token));
  }

  override unescapedValue(token: string[], context: Mustache.Context): string {
    return this.count(super.unescapedValue(token, context));
  }

  override escapedValue(token: string[], context: Mustache.Context, config?: Mustache.RenderOptions): string {
    return this.count(super.escapedValue(token, context, config));
  }
}

/** Render `template` with `context`, at most `maxOutput` characters; syntax errors become TemplateError naming `what`. */
export function renderTemplate(template: string, context: object, what: string, maxOutput: number): string {
  try {
    // A writer per render: the shared one caches every template text for the process's life.
    return new BoundedWriter(maxOutput).render(template, context, {}, { escape: escapeHtml });
  } catch (err) {
    if (err instanceof TemplateTooLargeError) throw new TemplateTooLargeError(err.limit, `cannot render ${what}: ${err.message}`);
    throw new TemplateError(`cannot render ${what} as a Mustache template: ${errorMessage(err)}`, { cause: err });
  }
}
