/**
 * Wall clock with a correction for skew against the server. VMs drift; SigV4
 * and keystone refuse requests dated more than 5-15 minutes off, so after a
 * skew error we sign with the server's time (as the AWS SDKs do).
 */
export class Clock {
  private offsetMs = 0;
  constructor(private readonly source: () => number = Date.now) {}

  now(): Date {
    return new Date(this.source() + this.offsetMs);
  }

  get offset(): number {
    return this.offsetMs;
  }

  /**
   * Take the offset from an HTTP `Date` header. Returns true when it moved the
   * clock by more than `thresholdMs` (i.e. skew was the likely cause of an error).
   */
  correctFrom(serverDate: string | undefined, thresholdMs = 60_000): boolean {
    if (!serverDate) return false;
    const server = Date.parse(serverDate);
    if (Number.isNaN(server)) return false;
    const offset = server - this.source();
    if (Math.abs(offset - this.offsetMs) < thresholdMs) return false;
    this.offsetMs = offset;
    return true;
  }
}
