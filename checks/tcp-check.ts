import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { TcpSpec } from '../src/protocol/checks/network-specs.ts';
import type { ReasonCode } from '../src/protocol/codes.ts';
import { boundedText } from './bounded-text.ts';
import { fail, ok, unknown, type CheckDefinition, type Outcome } from './check.ts';
import { errorCode, errorMessage } from './error-code.ts';
import { timeBudget } from './time-budget.ts';

const TCP_CODES: Record<string, ReasonCode> = {
  ECONNREFUSED: 'TCP_REFUSED',
  ETIMEDOUT: 'TCP_TIMEOUT',
  EHOSTUNREACH: 'TCP_UNREACHABLE',
  ENETUNREACH: 'TCP_UNREACHABLE',
  EHOSTDOWN: 'TCP_UNREACHABLE',
  ECONNRESET: 'TCP_RESET',
};

/** `tcp`: connects and closes; a connection that opens is ok. */
export const tcpCheck: CheckDefinition<'tcp'> = {
  kind: 'tcp',
  spec: TcpSpec,
  run(spec, ctx) {
    const budget = timeBudget(ctx);
    const target = `${spec.host}:${spec.port}`;
    return new Promise<Outcome>((resolve) => {
      const started = performance.now();
      // The signal destroys the socket when the runner gives up, so no half-open connection outlives the run.
      const socket = connect({ host: spec.host, port: spec.port, signal: ctx.signal });
      let settled = false;
      const finish = (outcome: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      const timer = setTimeout(() => finish(fail('TCP_TIMEOUT', `connect to ${target} not established within ${budget} ms`, { target })), budget);
      socket.once('connect', () => finish(ok()));
      socket.on('error', (err) => {
        const connectMs = Math.round(performance.now() - started);
        if (ctx.signal.aborted) return finish(unknown('CHECK_TIMEOUT', `connect to ${target} aborted by the runner`));
        const code = errorCode(err);
        const reason = (code === undefined ? undefined : TCP_CODES[code]) ?? 'TCP_ERROR';
        finish(fail(reason, `connect to ${target}: ${boundedText(errorMessage(err))}`, { target, connectMs, error: code ?? null }));
      });
    });
  },
};
