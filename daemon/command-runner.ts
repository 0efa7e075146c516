import { CollectorUnavailableError, retryDelay, type CollectorClient } from '../src/agent/collector-client.ts';
import { instanceFromEnv } from '../src/agent/identity.ts';
import type { Logger } from '../src/log/logger.ts';
import { Command, MAX_COMMAND_OUTPUT, type CommandResult, type CommandTemplate } from '../src/protocol/command.ts';
import type { Instance } from '../src/protocol/heartbeat.ts';
import { parseWith } from '../src/protocol/parse.ts';
import { ms } from '../src/units.ts';
import { matchCommand } from './match-command.ts';
import { runCommand } from './run-command.ts';

export interface CommandRunnerOptions {
  client: CollectorClient;
  log: Logger;
  /** Read on every command, so SIGHUP changes apply to the next one. */
  settings: () => { allowlist: readonly CommandTemplate[]; maxConcurrent: number; pollWait: number };
  /**
   * The pod the commands are for, sent as query parameters: a token bound to an app rather than a pod does not say
   * which pod polls. The downward-API identity by default, the same the heartbeats carry.
   */
  instance?: Pick<Instance, 'podUid' | 'namespace' | 'pod'>;
}

/**
 * The agent side of the command channel: long-polls `GET /v1/agent/commands?wait=N`, runs only what matches the
 * local allowlist (at most N at once), and posts every outcome, refusals included, to
 * `POST /v1/agent/commands/{id}/result`.
 */
export class CommandRunner {
  readonly #opts: CommandRunnerOptions;
  readonly #who: string;
  readonly #running = new Set<Promise<void>>();
  #stopped = true;
  #poll: AbortController | undefined;
  #wake: (() => void) | undefined;
  #failures = 0;
  #loop: Promise<void> | undefined;

  constructor(opts: CommandRunnerOptions) {
    this.#opts = opts;
    const i = opts.instance ?? instanceFromEnv(process.env).instance;
    this.#who = new URLSearchParams({ podUid: i.podUid, namespace: i.namespace, pod: i.pod }).toString();
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#loop = this.#run();
  }

  /** Poll again at once (a heartbeat answer said commands are pending). */
  pollNow(): void {
    this.#wake?.();
  }

  /** Stops taking commands; commands already running finish (their own timeouts bound that) unless `abort`. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#poll?.abort();
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled([...this.#running]);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (this.#running.size >= this.#opts.settings().maxConcurrent) {
        await Promise.race(this.#running);
        continue;
      }
      let commands: unknown[];
      try {
        commands = await this.#fetch();
        this.#failures = 0;
      } catch (err) {
        if (this.#stopped) break;
        if (!(err instanceof CollectorUnavailableError)) this.#opts.log.warn({ err }, 'command poll failed');
        await this.#sleep(retryDelay(++this.#failures));
        continue;
      }
      for (const raw of commands) this.#dispatch(raw);
    }
  }

  async #fetch(): Promise<unknown[]> {
    const wait = this.#opts.settings().pollWait;
    this.#poll = new AbortController();
    try {
      const res = await this.#opts.client.request({ method: 'GET', path: `/v1/agent/commands?wait=${wait}&${this.#who}`, signal: this.#poll.signal, timeoutMs: (wait + 10) * 1000 });
      if (res.status === 204) return [];
      if (res.status !== 200) throw new Error(`command poll answered HTTP ${res.status}`);
      const body = res.json<unknown>();
      const list = Array.isArray(body) ? body : (body as { commands?: unknown } | null)?.commands;
      return Array.isArray(list) ? (list as unknown[]) : [];
    } finally {
      this.#poll = undefined;
    }
  }

  #dispatch(raw: unknown): void {
    const parsed = parseWith(Command, raw, { what: 'command' });
    if (!parsed.ok) {
      const id = (raw as { id?: unknown } | null)?.id;
      this.#opts.log.warn({ error: parsed.error.message }, 'invalid command from the collector');
      if (typeof id === 'string' && /^[0-9a-f-]{36}$/i.test(id)) void this.#post(refusal(id, `invalid command: ${parsed.error.message}`));
      return;
    }
    const p = this.#execute(parsed.value).finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  async #execute(cmd: Command): Promise<void> {
    const log = this.#opts.log.child({ commandId: cmd.id, template: cmd.template });
    if (Date.parse(cmd.expiresAt) < Date.now()) {
      await this.#post(refusal(cmd.id, `command expired at ${cmd.expiresAt}`));
      return;
    }
    const m = matchCommand(cmd, this.#opts.settings().allowlist);
    if (!m.ok) {
      log.warn({ error: m.error }, 'command refused');
      await this.#post(refusal(cmd.id, m.error));
      return;
    }
    log.info({ argv0: m.argv[0] }, 'running command');
    const r = await runCommand(m.argv, { timeoutMs: ms(m.template.timeout), maxBytes: Math.min(m.template.maxOutputBytes, MAX_COMMAND_OUTPUT) });
    const result: CommandResult = {
      id: cmd.id,
      status: r.spawnError !== undefined ? 'error' : r.timedOut ? 'timeout' : 'completed',
      exitCode: r.exitCode,
      signal: r.signal,
      startedAt: r.startedAt.toISOString(),
      finishedAt: r.finishedAt.toISOString(),
      durationMs: r.finishedAt.getTime() - r.startedAt.getTime(),
      stdout: r.stdout,
      stderr: r.stderr,
      stdoutTruncated: r.stdoutTruncated,
      stderrTruncated: r.stderrTruncated,
    };
    if (r.spawnError !== undefined) result.error = r.spawnError.slice(0, 1024);
    else if (r.timedOut) result.error = `timed out after ${m.template.timeout}`;
    log.info({ status: result.status, exitCode: result.exitCode, durationMs: result.durationMs }, 'command finished');
    await this.#post(result);
  }

  /** Posts a result, retrying a few times; a result the collector never gets is logged, not kept forever. */
  async #post(result: CommandResult): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        const res = await this.#opts.client.request({ method: 'POST', path: `/v1/agent/commands/${result.id}/result?${this.#who}`, body: result });
        if (res.status < 300 || (res.status >= 400 && res.status < 500 && res.status !== 429)) {
          if (res.status >= 400) this.#opts.log.warn({ commandId: result.id, status: res.status }, 'collector rejected the command result');
          return;
        }
      } catch (err) {
        if (!(err instanceof CollectorUnavailableError)) throw err;
      }
      await new Promise((r) => setTimeout(r, retryDelay(attempt)));
    }
    this.#opts.log.error({ commandId: result.id }, 'could not post the command result');
  }

  #sleep(delay: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, delay);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }
}

function refusal(id: string, error: string): CommandResult {
  const now = new Date().toISOString();
  return { id, status: 'refused', exitCode: null, signal: null, startedAt: now, finishedAt: now, durationMs: 0, stdout: '', stderr: '', stdoutTruncated: false, stderrTruncated: false, error: error.slice(0, 1024) };
}
