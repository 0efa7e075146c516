import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { version } from '../../../src/protocol/common.ts';
import { RELEASE_MANIFEST_HEADER } from '../../../src/release/publish-release.ts';
import type { Authenticator } from '../../auth/agent-identity.ts';
import type { OperatorAuth } from '../../auth/operator-auth.ts';
import { agentAuthHook } from '../../api/agent-auth-hook.ts';
import { HttpError } from '../../api/http-error.ts';
import type { RecordStore } from '../../store/record-store.ts';
import { KINDS, type ControlState, type ReleasePin } from '../control-state.ts';
import { authorOf, jsonBody, notFound } from '../json-body.ts';
import { ReleaseRejectedError, type ReleaseRegistry } from './release-registry.ts';

export const MANIFEST_HEADER = RELEASE_MANIFEST_HEADER;
const PinBody = z.strictObject({ version, reason: z.string().max(512).optional() });

export interface ReleaseRoutesOptions {
  registry: ReleaseRegistry;
  state: ControlState;
  store: RecordStore;
  operatorAuth: OperatorAuth;
  authenticator: Authenticator;
  retryAfterSeconds: number;
  maxBytes: number;
}

/**
 * Releases: upload (admin; the bundle as `application/octet-stream`, the signed manifest in a header), list and
 * show (viewer), the global pin (admin), and the agents' download `GET /v1/agent/releases/{version}`.
 */
export function releaseRoutes(app: FastifyInstance, o: ReleaseRoutesOptions): void {
  const viewer = { onRequest: o.operatorAuth.require('viewer') };
  const admin = o.operatorAuth.require('admin');

  app.get('/api/v1/releases', viewer, async () => {
    await o.state.refreshIfChanged();
    return { items: o.registry.list(), pin: o.state.pin ?? null };
  });

  app.get('/api/v1/releases/pin', viewer, async () => {
    await o.state.refreshIfChanged();
    return { pin: o.state.pin ?? null };
  });

  app.put('/api/v1/releases/pin', { onRequest: admin }, async (req) => {
    const body = jsonBody(req, PinBody, 'release pin');
    req.audit = { action: 'release.pin', details: { version: body.version } };
    await o.state.refreshIfChanged();
    if (!o.registry.get(body.version)) throw new HttpError(400, 'PODPULSE_ERR_RELEASE_REJECTED', 'bad_request', `release ${body.version} does not exist`, { violations: [{ path: 'version', message: 'no stored release with this version' }] });
    const pin: ReleasePin = { version: body.version, by: authorOf(req), at: Date.now(), ...(body.reason ? { reason: body.reason } : {}) };
    await o.store.putRecord(KINDS.pin, 'global', pin);
    await o.state.changed();
    return { pin };
  });

  app.delete('/api/v1/releases/pin', { onRequest: admin }, async (req) => {
    req.audit = { action: 'release.unpin' };
    const had = await o.store.deleteRecord(KINDS.pin, 'global');
    await o.state.changed();
    return { removed: had };
  });

  app.get('/api/v1/releases/:version', viewer, async (req) => {
    const v = (req.params as { version: string }).version;
    await o.state.refreshIfChanged();
    const m = o.registry.get(v);
    if (!m) throw notFound(`no release ${v}`);
    return m;
  });

  // Bundles are not JSON: this encapsulated group parses octet-stream bodies up to the release size limit.
  void app.register((child, _opts, done) => {
    child.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: o.maxBytes }, (_req, body, next) => next(null, body));
    const upload = async (req: FastifyRequest, pathVersion?: string) => {
      if (!Buffer.isBuffer(req.body) || !/^application\/octet-stream\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
        throw new HttpError(415, 'PODPULSE_ERR_UNSUPPORTED_MEDIA_TYPE', 'unsupported_media_type', `send the bundle as Content-Type application/octet-stream with the signed manifest in ${MANIFEST_HEADER}`);
      }
      const header = req.headers[MANIFEST_HEADER];
      req.audit = { action: 'release.upload', details: { version: pathVersion ?? null, size: req.body.length } };
      try {
        const r = await o.registry.upload(Array.isArray(header) ? header[0] : header, req.body, pathVersion);
        req.audit.details = { version: r.manifest.version, sha256: r.manifest.sha256, created: r.created };
        return r;
      } catch (err) {
        if (err instanceof ReleaseRejectedError) {
          const msg = `${err.message.split('\n')[0]}: ${err.violations.map((v) => `${v.path}: ${v.message}`).join('; ')}`;
          if (err.status === 409) throw new HttpError(409, 'PODPULSE_ERR_CONFLICT', 'bad_request', msg, { violations: err.violations });
          throw new HttpError(400, 'PODPULSE_ERR_RELEASE_REJECTED', 'bad_request', msg, { violations: err.violations });
        }
        throw err;
      }
    };
    child.put('/api/v1/releases/:version', { onRequest: admin, bodyLimit: o.maxBytes }, async (req, reply) => {
      const r = await upload(req, (req.params as { version: string }).version);
      return reply.code(r.created ? 201 : 200).send(r);
    });
    child.post('/api/v1/releases', { onRequest: admin, bodyLimit: o.maxBytes }, async (req, reply) => {
      const r = await upload(req);
      return reply.code(r.created ? 201 : 200).send(r);
    });
    done();
  });

  app.get('/v1/agent/releases/:version', { onRequest: agentAuthHook(o.authenticator, o.retryAfterSeconds) }, async (req, reply) => {
    const v = (req.params as { version: string }).version;
    let b = await o.registry.bundle(v);
    if (!b) {
      // Uploaded through another replica a moment ago?
      await o.state.refreshIfChanged();
      b = await o.registry.bundle(v);
    }
    if (!b) throw notFound(`no release ${v}`);
    void reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', String(b.size))
      .header('x-podpulse-sha256', b.manifest.sha256)
      .header('digest', `sha-256=${Buffer.from(b.manifest.sha256, 'hex').toString('base64')}`)
      .header('etag', `"${b.manifest.sha256}"`);
    return reply.send(createReadStream(b.path));
  });
}

