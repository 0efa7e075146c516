/**
 * The daemon's exit codes. Kubernetes shows the last one in the container status, so each cause has its own.
 * 0: stopped on SIGTERM/SIGINT; 1: invalid local config; 2: usage error; 70: unexpected internal error.
 */
export const EXIT_CODES = {
  ok: 0,
  configInvalid: 1,
  usage: 2,
  /** The daemon went over its own memory or CPU limit (config `self`) and exited rather than hurt the application. */
  selfLimit: 86,
  internal: 70,
} as const;
