import { AgentConfig, type AgentConfigInput, type DesiredRelease } from '../../../src/protocol/agent-config.ts';
import { parseWith } from '../../../src/protocol/parse.ts';
import type { Violation } from '../../../src/errors.ts';
import type { ReleaseManifest } from '../../../src/protocol/release.ts';
import { canonicalJson, sha256Hex } from '../canonical-json.ts';
import type { ReleasePin } from '../control-state.ts';
import { inRollout } from '../rollouts/assignment.ts';
import { rolloutApplies, type Rollout } from '../rollouts/rollout-spec.ts';
import type { ConfigDocument } from './config-document.ts';
import { chainFor, type InstanceKey } from './config-scope.ts';
import { mergeDocuments } from './merge-config.ts';

/**
 * Release URLs are stored against this base and rewritten to the collector URL the agent used when served, so the
 * revision (a hash of the content) is the same whichever address an agent reaches the collector by.
 */
export const RELEASE_URL_BASE = 'http://podpulse-collector.invalid';
export const releasePath = (version: string): string => `/v1/agent/releases/${encodeURIComponent(version)}`;

/** What an effective config is computed from. */
export interface ConfigInputs {
  documents: ReadonlyMap<string, ConfigDocument>;
  releases: ReadonlyMap<string, ReleaseManifest>;
  pin: ReleasePin | undefined;
  /** Newest first. */
  rollouts: readonly Rollout[];
}

/** The effective config of an instance; instances with the same documents and release share one object. */
export interface EffectiveConfig {
  /** Parsed (defaults filled in) when valid; the merged input otherwise. */
  config: AgentConfig;
  /** Content hash of the config without its `revision` field: equal configs have equal revisions. */
  revision: string;
  /** Scope ids that contributed, broadest first. */
  scopes: string[];
  /** Where the desired release came from: `pin`, `rollout/<id>`, `document`, or absent. */
  releaseSource?: string;
  /** Violations of the merged config (it is still served; the daemon refuses it and reports configError). */
  violations?: readonly Violation[];
}

/** The release the pin or a rollout sets for an instance, before its documents have a say. */
export function releaseOverride(inputs: ConfigInputs, k: InstanceKey): { version: string; source: string } | undefined {
  if (inputs.pin) return { version: inputs.pin.version, source: 'pin' };
  for (const r of inputs.rollouts) if (rolloutApplies(r) && inRollout(r, k)) return { version: r.target, source: `rollout/${r.id}` };
  return undefined;
}

/** The release an instance should run: the pin, else the newest rollout that reached it, else its documents' version. */
export function resolveRelease(inputs: ConfigInputs, k: InstanceKey, documentVersion: string | undefined): { version: string; source: string } | undefined {
  return releaseOverride(inputs, k) ?? (documentVersion === undefined ? undefined : { version: documentVersion, source: 'document' });
}

export function desiredRelease(m: ReleaseManifest): DesiredRelease {
  return { version: m.version, url: `${RELEASE_URL_BASE}${releasePath(m.version)}`, sha256: m.sha256, signature: m.signature ?? '', ...(m.keyId ? { keyId: m.keyId } : {}) };
}

/** Merges the documents of an instance's chain (with `overrides` standing in for stored ones; null = deleted). */
export function computeEffective(inputs: ConfigInputs, k: InstanceKey, overrides?: ReadonlyMap<string, ConfigDocument | null>): EffectiveConfig {
  const docs: ConfigDocument[] = [];
  const scopes: string[] = [];
  for (const id of chainFor(k)) {
    const d = overrides?.has(id) ? overrides.get(id) : inputs.documents.get(id);
    if (d) {
      docs.push(d);
      scopes.push(id);
    }
  }
  const merged = mergeDocuments(docs);
  const input: AgentConfigInput = { ...merged.config };
  const rel = resolveRelease(inputs, k, merged.releaseVersion);
  const manifest = rel ? inputs.releases.get(rel.version) : undefined;
  if (manifest) input.release = desiredRelease(manifest);
  const r = parseWith(AgentConfig, input, { what: 'effective config', byId: true, code: 'PODPULSE_ERR_CONFIG_INVALID' });
  const config = (r.ok ? r.value : input) as AgentConfig;
  const revision = sha256Hex(canonicalJson({ ...config, revision: undefined })).slice(0, 16);
  const out: EffectiveConfig = { config: { ...config, revision }, revision, scopes };
  if (rel && manifest) out.releaseSource = rel.source;
  if (!r.ok) out.violations = r.error.violations;
  return out;
}

/** The body an agent gets: the config with release URLs on `base`, and its ETag (the body's sha256). */
export function servedBody(e: EffectiveConfig, base: string): { body: string; etag: string } {
  const c = e.config.release ? { ...e.config, release: { ...e.config.release, url: base.replace(/\/+$/, '') + e.config.release.url.slice(RELEASE_URL_BASE.length) } } : e.config;
  const body = JSON.stringify(c);
  return { body, etag: `"${sha256Hex(body).slice(0, 32)}"` };
}
