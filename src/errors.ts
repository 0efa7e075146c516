/**
 * Stable error codes. Every code thrown anywhere in podpulse is listed here with what it means and how to fix it;
 * docs/errors.md mirrors this table and test/unit/errors-doc.test.ts fails when the two drift apart.
 */
export const ERROR_CODES = {
  PODPULSE_ERR_USAGE: {
    meaning: 'The command line could not be parsed: an unknown flag, a missing value, or a flag of the wrong type.',
    fix: 'Run the program with `--help` and correct the flag named in the message.',
  },
  PODPULSE_ERR_CONFIG_READ: {
    meaning: 'The config file could not be read or is not valid YAML/JSON.',
    fix: 'Check that the path given with `--config` exists, is readable, and parses as YAML or JSON.',
  },
  PODPULSE_ERR_CONFIG_INVALID: {
    meaning: 'The merged configuration (defaults, file, environment) failed validation.',
    fix: 'Correct each key path listed in the message; `--check-config` validates without starting.',
  },
  PODPULSE_ERR_PROTOCOL: {
    meaning: 'A protocol message (heartbeat, config, command, release, event) failed schema validation.',
    fix: 'Send a message that matches the v1 schema in src/protocol; each violation names its path.',
  },
  PODPULSE_ERR_UNSUPPORTED_PROTOCOL: {
    meaning: 'A message declared an `apiVersion` this build does not speak.',
    fix: 'Upgrade the older side, or send `apiVersion: podpulse.io/v1`.',
  },
  PODPULSE_ERR_NOT_IMPLEMENTED: {
    meaning: 'The program or subcommand exists in the layout but its capability has not been built yet.',
    fix: 'Use a build that includes the capability; the message names what is missing.',
  },
  PODPULSE_ERR_COLLECTOR_UNAVAILABLE: {
    meaning: 'The collector could not be reached: the connection was refused or reset, or no answer came within the timeout.',
    fix: 'Check the collector URL and that the collector is running and reachable from the pod; the sidecar spools and retries meanwhile.',
  },
  PODPULSE_ERR_STORE: {
    meaning: 'The collector store (SQLite file or PostgreSQL) could not be opened, migrated, read or written.',
    fix: 'Check the store path or URL, permissions, free disk space and that PostgreSQL is reachable; the message names the operation.',
  },
  PODPULSE_ERR_UNAUTHENTICATED: {
    meaning: 'An agent request carried no bearer token, or a token the collector does not accept.',
    fix: 'Mount the projected ServiceAccount token with audience `podpulse` (or a static token listed in the collector\'s tokens file) and send it as `Authorization: Bearer <token>`.',
  },
  PODPULSE_ERR_FORBIDDEN: {
    meaning: 'The token is valid but does not cover the instance the heartbeat names (another pod, namespace or app).',
    fix: 'Send heartbeats only for the pod the token belongs to; check the downward-API values the sidecar reports.',
  },
  PODPULSE_ERR_PAYLOAD_TOO_LARGE: {
    meaning: 'A request body, or its gzip-decompressed form, is larger than the collector accepts.',
    fix: 'Send smaller batches, or raise `limits.bodyBytes` in the collector config.',
  },
  PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE: {
    meaning: 'A request body has a content type or content encoding the endpoint does not accept.',
    fix: 'Send `Content-Type: application/json`, optionally with `Content-Encoding: gzip`.',
  },
  PODPULSE_ERR_OVERLOADED: {
    meaning: 'The collector\'s write queue is full, or an upstream it needs (the apiserver for TokenReview) did not answer.',
    fix: 'Retry after the `Retry-After` seconds (the sidecar does this and spools meanwhile); add replicas or a faster store if it persists.',
  },
  PODPULSE_ERR_NOT_FOUND: {
    meaning: 'The operator or agent API has no such object: instance, command, config revision, release or rollout.',
    fix: 'Check the id or name in the request; list the collection (e.g. `podpulse instances`) to find the right one.',
  },
  PODPULSE_ERR_CONFLICT: {
    meaning: 'The object changed or already ended: a command result posted twice with different contents, or a write racing another.',
    fix: 'Read the object again and retry with its current state.',
  },
  PODPULSE_ERR_COMMAND_REJECTED: {
    meaning: 'A command request was refused before anything was queued: unknown template, a param missing, undeclared or failing its regex, or a selector matching no instance or more than its maxFanOut.',
    fix: 'Use a template listed in the collector\'s `commands.templates`, give every param it declares matching its pattern, and narrow the selector or raise `target.maxFanOut` (at most `commands.maxFanOut`).',
  },
  PODPULSE_ERR_RULE_INVALID: {
    meaning: 'A diagnosis rule was refused: it does not parse or type-check as CEL, names an unknown kind or field, tests a field with a value of the wrong type, or breaks the DSL\'s shape.',
    fix: 'Correct the rule at the path named in the message (e.g. `PodSidecarNotReady.checkField[0].subField`); the rules already loaded stay in force.',
  },
  PODPULSE_ERR_RELEASE_REJECTED: {
    meaning: 'A worker release upload was refused: no or a bad manifest, a bundle whose sha256 or size differs from the manifest, or an ed25519 signature that does not verify against the collector\'s `releases.publicKeys`.',
    fix: 'Build with `podpulse release build`, sign with `podpulse release sign` using a private key whose public key is configured on the collector, and upload the bundle unmodified.',
  },
  PODPULSE_ERR_ROLLOUT_REJECTED: {
    meaning: 'A rollout request or action was refused: its target version is not a stored release, another rollout of the same instances is in progress, or the action does not fit its status.',
    fix: 'Publish the release first (`podpulse release list` shows what is stored), finish or abort the rollout in progress, and check the rollout\'s status before pausing, resuming or aborting it.',
  },
  PODPULSE_ERR_INTERNAL: {
    meaning: 'An unexpected internal failure; the message and its cause say where.',
    fix: 'Report it with the log line; it is a bug.',
  },
  PODPULSE_ERR_KUBE_API: {
    meaning: 'A Kubernetes API request the collector needed (a pod or namespace list, its webhook Secret or configuration) failed or was refused.',
    fix: 'Check that the apiserver is reachable from the collector and that its ServiceAccount has the RBAC of manifests/base; the message names the request and the HTTP status.',
  },
} as const satisfies Record<string, { meaning: string; fix: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One violation of a schema or rule, located by a readable path such as `checks[3].status`. */
export interface Violation {
  path: string;
  message: string;
}

/** Renders violations one per line: `path: message` (or just the message at the root). */
export function formatViolations(violations: readonly Violation[]): string {
  return violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).join('\n');
}

/** Base error: every podpulse error carries a stable `code` from ERROR_CODES. */
export class PodpulseError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PodpulseError';
    this.code = code;
  }
}

/** A validation failure carrying every violation with its path; callers print or return `violations`. */
export class ValidationError extends PodpulseError {
  readonly violations: readonly Violation[];

  constructor(code: ErrorCode, what: string, violations: readonly Violation[]) {
    super(code, `${what}:\n${formatViolations(violations)}`);
    this.name = 'ValidationError';
    this.violations = violations;
  }
}
