/** The HTTP request/response shapes shared by the signers and the HTTP client. */

export interface HttpRequest {
  method: string;
  /** Absolute URL, query string included. */
  url: string;
  /** Header names as the caller spelled them. */
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
  /** Final URL (after redirects). */
  url: string;
}

/**
 * Signs one attempt. Called again before every retry, with the (skew
 * corrected) time of that attempt, so retried requests are never stale.
 */
export type Signer = (req: HttpRequest, now: Date) => Promise<HttpRequest>;
