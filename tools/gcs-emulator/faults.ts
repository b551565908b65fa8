import type { IncomingMessage } from 'node:http';

/** Which requests a fault applies to: method (case-insensitive) and a path-and-query matcher. */
export interface FaultMatch {
  method?: string;
  /** Substring of, or pattern for, the request's path and query string. */
  path?: string | RegExp;
}

/** 503 and 429 are transient; 401 (bad credentials) and 403 (missing permission) are not. */
type FaultStatus = 503 | 429 | 401 | 403;

interface StatusFault extends FaultMatch {
  kind: 'status';
  remaining: number;
  status: FaultStatus;
  retryAfterSeconds?: number;
}

interface ResetFault extends FaultMatch {
  kind: 'reset';
  remaining: number;
  afterBytes: number;
}

export interface InjectedFault {
  kind: `${FaultStatus}` | 'reset';
  method: string;
  path: string;
}

/** Per-test fault injection; rules are consumed in the order they were added. */
export class Failures {
  private rules: (StatusFault | ResetFault)[] = [];
  /** Every fault actually injected, in order. */
  readonly injected: InjectedFault[] = [];

  /** Fail the next `count` matching requests with 503 Service Unavailable. */
  fail503(count: number, match: FaultMatch = {}): void {
    this.rules.push({ kind: 'status', remaining: count, status: 503, ...match });
  }

  /** Fail the next `count` matching requests with 429 Too Many Requests and `Retry-After`. */
  fail429(count: number, retryAfterSeconds = 1, match: FaultMatch = {}): void {
    this.rules.push({ kind: 'status', remaining: count, status: 429, retryAfterSeconds, ...match });
  }

  /**
   * Refuse the next `count` matching requests (Infinity: all) as GCS does: 401 for credentials
   * it does not accept, 403 for credentials without the permission the request needs.
   */
  deny(status: 401 | 403, count: number, match: FaultMatch = {}): void {
    this.rules.push({ kind: 'status', remaining: count, status, ...match });
  }

  /**
   * Destroy the socket of the next `count` resumable-upload chunk PUTs after `afterBytes` bytes
   * of their body were read (those bytes are kept, as GCS may keep a partial chunk).
   */
  resetUploadChunk(count: number, afterBytes: number): void {
    this.rules.push({ kind: 'reset', remaining: count, afterBytes });
  }

  clear(): void {
    this.rules = [];
  }

  /** @internal consumes and returns a status fault for this request, if one matches. */
  takeStatus(req: IncomingMessage): StatusFault | undefined {
    return this.take(req, 'status') as StatusFault | undefined;
  }

  /** @internal consumes and returns a reset fault for this chunk upload, if one matches. */
  takeReset(req: IncomingMessage): ResetFault | undefined {
    return this.take(req, 'reset') as ResetFault | undefined;
  }

  private take(
    req: IncomingMessage,
    kind: 'status' | 'reset',
  ): StatusFault | ResetFault | undefined {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const rule = this.rules.find(
      (r) =>
        r.kind === kind &&
        r.remaining > 0 &&
        (!r.method || r.method.toUpperCase() === method) &&
        (!r.path || (typeof r.path === 'string' ? path.includes(r.path) : r.path.test(path))),
    );
    if (!rule) return undefined;
    rule.remaining--;
    this.rules = this.rules.filter((r) => r.remaining > 0);
    this.injected.push({
      kind: rule.kind === 'reset' ? 'reset' : `${rule.status}`,
      method,
      path,
    });
    return rule;
  }
}
