import type { ObjectEvent, ObjectEventSink } from '../engine/kube/object-event.ts';
import type { KubeFacts, NodeFacts, PodFacts } from './kube-facts.ts';
import { NODE_FACT_FIELDS, nodeFactsFromObject, POD_FACT_FIELDS, podFactsFromObject, podOwnerReplicaSet, REPLICASET_FACT_FIELDS, withOwner } from './pod-facts.ts';

interface PodEntry {
  facts: PodFacts;
  replicaSet: string | undefined;
}

export interface KubeFactsIndexOptions {
  /** The sidecar's container name (the webhook's `containerName`). */
  sidecar?: string;
  /** Deleted pods remembered (so a pod that went silent after its deletion is retired, not alarmed). */
  maxTombstones?: number;
}

/**
 * The Kubernetes facts the instance diagnosis asks for, answered from memory: a few fields per pod (by uid), per
 * node and per ReplicaSet, fed by the watch (Pod, Node, ReplicaSet events projected to `KubeFactsIndex.fields`).
 * Deleted pods leave a bounded tombstone, since their silence is noticed after they are gone.
 */
export class KubeFactsIndex implements KubeFacts, ObjectEventSink {
  /** What the reflectors' projections must keep, per kind. */
  static readonly fields: Readonly<Record<string, readonly string[][]>> = { Pod: POD_FACT_FIELDS, Node: NODE_FACT_FIELDS, ReplicaSet: REPLICASET_FACT_FIELDS };
  readonly #pods = new Map<string, PodEntry>();
  readonly #tombstones = new Map<string, PodFacts>();
  readonly #nodes = new Map<string, NodeFacts>();
  readonly #replicas = new Map<string, number>();
  readonly #sidecar: string | undefined;
  readonly #maxTombstones: number;

  constructor(opts: KubeFactsIndexOptions = {}) {
    this.#sidecar = opts.sidecar;
    this.#maxTombstones = opts.maxTombstones ?? 50_000;
  }

  handle(ev: ObjectEvent): Promise<void> {
    this.apply(ev);
    return Promise.resolve();
  }

  /** Synchronous form of `handle`. */
  apply(ev: ObjectEvent): void {
    switch (ev.resource.kind) {
      case 'Pod': {
        if (ev.type === 'DELETED') {
          const last = this.#pods.get(ev.uid);
          this.#pods.delete(ev.uid);
          this.#tombstone(ev.uid, { ...(last?.facts ?? podFactsFromObject(ev.object, this.#opts())), deleted: true });
          return;
        }
        this.#tombstones.delete(ev.uid);
        this.#pods.set(ev.uid, { facts: podFactsFromObject(ev.object, this.#opts()), replicaSet: podOwnerReplicaSet(ev.object) });
        return;
      }
      case 'Node':
        if (ev.type === 'DELETED') this.#nodes.set(ev.key, { ready: false, readyStatus: 'Deleted' });
        else this.#nodes.set(ev.key, nodeFactsFromObject(ev.object));
        return;
      case 'ReplicaSet': {
        if (ev.type === 'DELETED') {
          this.#replicas.set(ev.key, 0);
          return;
        }
        const r = (ev.object.spec as { replicas?: unknown } | undefined)?.replicas;
        this.#replicas.set(ev.key, typeof r === 'number' ? r : 1);
        return;
      }
    }
  }

  podFacts(podUid: string): PodFacts {
    const t = this.#tombstones.get(podUid);
    if (t) return t;
    const p = this.#pods.get(podUid);
    if (!p) return {};
    return withOwner(p.facts, p.replicaSet === undefined ? undefined : this.#replicas.get(p.replicaSet));
  }

  nodeFacts(name: string): NodeFacts {
    return this.#nodes.get(name) ?? {};
  }

  get size(): { pods: number; tombstones: number; nodes: number; replicaSets: number } {
    return { pods: this.#pods.size, tombstones: this.#tombstones.size, nodes: this.#nodes.size, replicaSets: this.#replicas.size };
  }

  #opts(): { sidecar?: string } {
    return this.#sidecar === undefined ? {} : { sidecar: this.#sidecar };
  }

  #tombstone(uid: string, facts: PodFacts): void {
    this.#tombstones.set(uid, facts);
    if (this.#tombstones.size > this.#maxTombstones) {
      const oldest = this.#tombstones.keys().next().value;
      if (oldest !== undefined) this.#tombstones.delete(oldest);
    }
  }
}
