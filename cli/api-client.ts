import { CliError, CLI_EXIT } from './exit-codes.ts';
import type { CliSettings } from './cli-settings.ts';

interface ApiErrorBody {
  error?: { code?: string; message?: string; violations?: { path: string; message: string }[] };
}

/** The operator API over fetch; every failure becomes a CliError with the exit code scripts branch on. */
export class ApiClient {
  readonly #s: CliSettings;

  constructor(settings: CliSettings) {
    this.#s = settings;
  }

  get server(): string {
    return this.#s.server;
  }

  /** A JSON request; `raw` sends bytes instead (with its own content type and headers). */
  async request<T>(method: string, path: string, body?: unknown, raw?: { bytes: Buffer; headers: Record<string, string> }): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'podpulse-cli', ...raw?.headers };
    if (this.#s.token) headers.authorization = `Bearer ${this.#s.token}`;
    if (body !== undefined && !raw) headers['content-type'] = 'application/json';
    const payload = raw ? raw.bytes : body !== undefined ? JSON.stringify(body) : undefined;
    let res: Response;
    try {
      res = await fetch(`${this.#s.server}${path}`, { method, headers, signal: AbortSignal.timeout(this.#s.timeoutMs), ...(payload !== undefined ? { body: payload } : {}) });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${this.#s.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
      throw new CliError(CLI_EXIT.unreachable, 'PODPULSE_ERR_COLLECTOR_UNAVAILABLE', `cannot reach ${this.#s.server}: ${why}`);
    }
    const text = await res.text();
    if (res.ok) return (text ? JSON.parse(text) : {}) as T;
    let parsed: ApiErrorBody = {};
    try {
      parsed = JSON.parse(text) as ApiErrorBody;
    } catch {
      // Not our API's error shape (a proxy's page): the status says enough.
    }
    const code = parsed.error?.code ?? `HTTP_${res.status}`;
    const message = parsed.error?.message ?? `${method} ${path} answered HTTP ${res.status}`;
    const details = (parsed.error?.violations ?? []).map((v) => (v.path ? `${v.path}: ${v.message}` : v.message));
    throw new CliError(exitFor(res.status), code, message, details);
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body ?? {});
  }
}

function exitFor(status: number): CliError['exitCode'] {
  if (status === 401 || status === 403) return CLI_EXIT.auth;
  if (status === 404) return CLI_EXIT.notFound;
  if (status === 502 || status === 503 || status === 504) return CLI_EXIT.unreachable;
  return CLI_EXIT.refused;
}

/** `?a=1&b=2` from the defined values, or an empty string. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
