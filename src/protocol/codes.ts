/**
 * The reason-code catalogue. Every check result carries one of these codes; the statuses a code may appear
 * with are part of the contract (a heartbeat pairing `OK` with `fail` is rejected). docs/reason-codes.md mirrors
 * this table and a test fails when they drift apart.
 */
type CheckStatus = 'ok' | 'warn' | 'fail' | 'unknown';

interface CodeInfo {
  readonly statuses: readonly CheckStatus[];
  readonly meaning: string;
}

const F = ['fail'] as const;
const WF = ['warn', 'fail'] as const;
const U = ['unknown'] as const;

export const REASON_CODES = {
  // Any kind
  OK: { statuses: ['ok'], meaning: 'The check passed.' },
  CHECK_TIMEOUT: { statuses: U, meaning: "The check's own deadline passed before it could decide." },
  CHECK_ERROR: { statuses: U, meaning: 'The check failed internally; the message says how. Never the dependency\'s fault.' },
  CHECK_MISCONFIGURED: { statuses: U, meaning: 'The check spec cannot be applied in this pod (e.g. a program that does not exist).' },
  NOT_SUPPORTED: { statuses: U, meaning: 'The platform does not expose what the check reads (e.g. no PSI files).' },
  HUNG: { statuses: F, meaning: 'The previous run of this check is still pending at its next due time; no new run was started.' },
  LATENCY_HIGH: { statuses: WF, meaning: 'The dependency answered correctly but slower than the warn/fail threshold.' },
  // dns
  DNS_NXDOMAIN: { statuses: F, meaning: 'The name does not exist (NXDOMAIN).' },
  DNS_SERVFAIL: { statuses: F, meaning: 'The DNS server failed to answer (SERVFAIL).' },
  DNS_REFUSED: { statuses: F, meaning: 'The DNS server refused the query (REFUSED).' },
  DNS_TIMEOUT: { statuses: F, meaning: 'No DNS server answered within the timeout.' },
  DNS_NO_ANSWER: { statuses: F, meaning: 'The name exists but has no record of the requested type.' },
  DNS_UNEXPECTED_ANSWER: { statuses: F, meaning: 'The answers are not the expected ones.' },
  DNS_BAD_RESPONSE: { statuses: F, meaning: 'The DNS reply could not be parsed.' },
  DNS_ERROR: { statuses: F, meaning: 'Another resolver error (connection refused, unreachable server).' },
  // tcp
  TCP_REFUSED: { statuses: F, meaning: 'The connection was refused (nothing listens).' },
  TCP_TIMEOUT: { statuses: F, meaning: 'The connection was not established within the timeout.' },
  TCP_UNREACHABLE: { statuses: F, meaning: 'The host or network is unreachable.' },
  TCP_RESET: { statuses: F, meaning: 'The connection was reset by the peer.' },
  TCP_ERROR: { statuses: F, meaning: 'Another connection error (the message names it).' },
  // http
  HTTP_STATUS: { statuses: F, meaning: 'The response status is not in the expected set.' },
  HTTP_TIMEOUT: { statuses: F, meaning: 'No complete response within the timeout.' },
  HTTP_CONNECT: { statuses: F, meaning: 'The connection to the server failed (refused, reset, unreachable, DNS).' },
  HTTP_TLS: { statuses: F, meaning: 'The TLS handshake with the server failed or its certificate was not trusted.' },
  HTTP_REDIRECT: { statuses: F, meaning: 'A redirect the policy does not allow, or too many redirects.' },
  HTTP_BODY_MISMATCH: { statuses: F, meaning: 'The body does not contain, match or carry the expected value.' },
  HTTP_BODY_INVALID: { statuses: F, meaning: 'A JSON path was asserted but the body is not JSON.' },
  HTTP_ERROR: { statuses: F, meaning: 'Another HTTP error (the message names it).' },
  // tls
  TLS_CERT_EXPIRING: { statuses: WF, meaning: "The server certificate expires within the warn/fail number of days." },
  TLS_CERT_EXPIRED: { statuses: F, meaning: 'The server certificate has expired or is not yet valid.' },
  TLS_HOSTNAME_MISMATCH: { statuses: F, meaning: 'The certificate does not cover the server name.' },
  TLS_UNTRUSTED: { statuses: F, meaning: 'The certificate chain does not lead to a trusted CA.' },
  TLS_HANDSHAKE: { statuses: F, meaning: 'The TLS handshake failed.' },
  TLS_CONNECT: { statuses: F, meaning: 'The TCP connection for the handshake failed.' },
  TLS_TIMEOUT: { statuses: F, meaning: 'The handshake did not finish within the timeout.' },
  // disk
  DISK_MISSING: { statuses: F, meaning: 'The path does not exist.' },
  DISK_READ_ONLY: { statuses: F, meaning: 'The filesystem is mounted or reports read-only.' },
  DISK_NOT_WRITABLE: { statuses: F, meaning: 'A probe file could not be created, written, synced or deleted.' },
  DISK_LOW_SPACE: { statuses: WF, meaning: 'Free space is below the warn/fail threshold.' },
  DISK_LOW_INODES: { statuses: WF, meaning: 'Free inodes are below the warn/fail threshold.' },
  // mount
  MOUNT_MISSING: { statuses: F, meaning: 'The path is not a mount point.' },
  MOUNT_FSTYPE: { statuses: F, meaning: 'The mount has an unexpected filesystem type.' },
  MOUNT_READ_ONLY: { statuses: F, meaning: 'The mount is read-only but read-write was expected.' },
  MOUNT_READ_WRITE: { statuses: F, meaning: 'The mount is read-write but read-only was expected.' },
  MOUNT_HUNG: { statuses: F, meaning: 'A stat/readdir of the mount did not answer within the deadline (hung NFS/FUSE).' },
  // file
  FILE_MISSING: { statuses: F, meaning: 'The file does not exist.' },
  FILE_UNREADABLE: { statuses: F, meaning: 'The file exists but cannot be read.' },
  FILE_EMPTY: { statuses: F, meaning: 'The file is empty.' },
  FILE_STALE: { statuses: WF, meaning: 'The file was not modified within the allowed age.' },
  FILE_CHECKSUM: { statuses: F, meaning: "The file's sha256 differs from the expected one." },
  // env
  ENV_MISSING: { statuses: F, meaning: 'A required environment variable is not set.' },
  ENV_INVALID: { statuses: F, meaning: 'An environment variable does not match its pattern (the value is never reported).' },
  // clock
  CLOCK_SKEW: { statuses: WF, meaning: 'The local clock differs from the reference by more than the threshold.' },
  CLOCK_SOURCE_UNREACHABLE: { statuses: U, meaning: 'The time reference (collector or SNTP server) could not be reached.' },
  // cgroup
  MEM_PRESSURE: { statuses: WF, meaning: 'Memory use against the limit, or memory PSI, is above the threshold.' },
  OOM_KILLED: { statuses: F, meaning: 'The cgroup OOM-kill count increased since the previous run.' },
  CPU_THROTTLED: { statuses: WF, meaning: 'The share of CPU periods throttled is above the threshold.' },
  CPU_PRESSURE: { statuses: WF, meaning: 'CPU PSI is above the threshold.' },
  IO_PRESSURE: { statuses: WF, meaning: 'IO PSI is above the threshold.' },
  PIDS_EXHAUSTED: { statuses: WF, meaning: 'The number of tasks is close to pids.max.' },
  // process
  PROCESS_MISSING: { statuses: F, meaning: 'No process matches (or fewer than the minimum).' },
  PROCESS_COUNT: { statuses: F, meaning: 'More matching processes than the maximum.' },
  PROCESS_ZOMBIES: { statuses: WF, meaning: 'The number of zombie processes is above the threshold.' },
  // port
  PORT_NOT_LISTENING: { statuses: F, meaning: 'No socket is in LISTEN state on the port.' },
  // exec
  EXEC_FAILED: { statuses: F, meaning: 'The program exited 1 (failure by the plugin convention).' },
  EXEC_UNKNOWN: { statuses: U, meaning: 'The program exited 2 or another code, or by a signal (cannot decide).' },
  // fd
  FD_EXHAUSTION: { statuses: WF, meaning: 'Open file descriptors are close to the soft limit.' },
} as const satisfies Record<string, CodeInfo>;

export type ReasonCode = keyof typeof REASON_CODES;
export const REASON_CODE_NAMES = Object.keys(REASON_CODES) as [ReasonCode, ...ReasonCode[]];

/** Whether `code` may be reported with `status`. */
export function codeAllows(code: ReasonCode, status: CheckStatus): boolean {
  return (REASON_CODES[code].statuses as readonly CheckStatus[]).includes(status);
}
