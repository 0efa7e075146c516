import * as k8s from '@kubernetes/client-node';

interface Attribute { baseName: string; type: string }
type Model = { getAttributeTypeMap(): Attribute[] };

const ARRAY = /^Array<(.+)>$/;
const MAP = /^\{ \[key: string\]: (.+); \}$/;

/**
 * The OpenAPI schemas in kubernetes-models accept any extra property, so a misspelt field (`resource:` for
 * `resources:`, `imagePullPolicyy`) passes them and the apiserver then silently drops it. This walks an object
 * beside client-node's generated models (the same OpenAPI document, one class per definition) and returns the
 * path of every property the model does not know. `type` is a model name such as `V1Pod`.
 */
export function unknownFields(value: unknown, type: string, path = ''): string[] {
  const array = ARRAY.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownFields(v, array[1]!, `${path}[${i}]`)) : [];
  const map = MAP.exec(type);
  if (map) return isObject(value) ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1]!, `${path}.${k}`)) : [];
  const model = (k8s as unknown as Record<string, Model | undefined>)[type];
  if (typeof model?.getAttributeTypeMap !== 'function' || !isObject(value)) return [];
  const known = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, v]) => {
    const t = known.get(key);
    const at = path ? `${path}.${key}` : key;
    return t === undefined ? [at] : unknownFields(v, t, at);
  });
}

/** The client-node model name of a built-in kind (`apps/v1` Deployment → `V1Deployment`); undefined for CRDs. */
export function modelName(apiVersion: string, kind: string): string | undefined {
  const version = apiVersion.split('/').at(-1)!;
  const name = `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
  return typeof (k8s as unknown as Record<string, Model | undefined>)[name]?.getAttributeTypeMap === 'function' ? name : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
