/**
 * Reads the zod schema back as a plain tree (objects, records, lists, leaves
 * with their type, default and description), so the reference, the key list,
 * printConfig and the "did you mean" hints all come from the one schema.
 */
import type { z } from 'zod';
import { docs, type FieldType } from './fields.js';
import { configSchema } from './schema.js';

export type SchemaNode =
  | { kind: 'object'; fields: Record<string, Field> }
  | { kind: 'record'; keyName: string; value: SchemaNode }
  | { kind: 'array'; item: SchemaNode }
  | { kind: 'leaf'; typeName: string; fieldType?: FieldType };

export interface Field {
  node: SchemaNode;
  optional: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  description?: string;
}

type AnySchema = z.core.$ZodType;
interface Def { type: string; [k: string]: unknown }

const defOf = (s: AnySchema): Def => s._zod.def as unknown as Def;

export function describeSchema(schema: AnySchema): Field {
  const field: Field = { node: { kind: 'leaf', typeName: 'any' }, optional: false, hasDefault: false };
  let fieldType: FieldType | undefined;
  let keyName: string | undefined;
  let s = schema;
  for (;;) {
    const meta = docs.get(s as z.ZodType);
    field.description ??= meta?.description;
    fieldType ??= meta?.type;
    keyName ??= meta?.keyName;
    const def = defOf(s);
    if (def.type === 'optional') field.optional = true;
    if (def.type === 'default' || def.type === 'prefault') {
      if (!field.hasDefault) field.defaultValue = def.defaultValue;
      field.hasDefault = true;
    }
    if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch'].includes(def.type)) {
      s = def.innerType as AnySchema;
    } else if (def.type === 'pipe') {
      const input = def.in as AnySchema;
      s = defOf(input).type === 'transform' ? (def.out as AnySchema) : input;
    } else {
      break;
    }
  }
  field.node = nodeOf(s, fieldType, keyName);
  return field;
}

function nodeOf(s: AnySchema, fieldType: FieldType | undefined, keyName: string | undefined): SchemaNode {
  const def = defOf(s);
  if (fieldType !== undefined) {
    if (def.type === 'array') return { kind: 'array', item: describeSchema(def.element as AnySchema).node };
    return { kind: 'leaf', typeName: fieldType, fieldType };
  }
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, AnySchema>;
      return { kind: 'object', fields: Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, describeSchema(v)])) };
    }
    case 'record':
      return { kind: 'record', keyName: keyName ?? 'key', value: describeSchema(def.valueType as AnySchema).node };
    case 'array':
      return { kind: 'array', item: describeSchema(def.element as AnySchema).node };
    case 'enum':
      return { kind: 'leaf', typeName: Object.values(def.entries as Record<string, string>).join(' | ') };
    case 'number':
      return { kind: 'leaf', typeName: (s as unknown as { isInt?: boolean }).isInt ? 'integer' : 'number' };
    default:
      return { kind: 'leaf', typeName: def.type };
  }
}

/** A leaf of the schema, with its key path as documented (systems.<name>.imap.port, gateway.listen[].port). */
export interface LeafInfo {
  key: string;
  type: string;
  /** how the default reads in YAML, or undefined when there is none */
  defaultText?: string;
  required: boolean;
  description: string;
}

function isContainer(node: SchemaNode): boolean {
  if (node.kind === 'object') return true;
  if (node.kind === 'record' || node.kind === 'array') return isContainer(node.kind === 'record' ? node.value : node.item);
  return false;
}

export function typeText(node: SchemaNode): string {
  switch (node.kind) {
    case 'leaf': return node.typeName;
    case 'array': return `list of ${typeText(node.item)}`;
    case 'record': return `map of <${node.keyName}> to ${typeText(node.value)}`;
    default: return 'mapping';
  }
}

export function yamlText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(yamlText).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${yamlText(x)}`).join(', ')} }`;
  }
  return String(v);
}

export function leaves(node: SchemaNode, prefix = '', inherited?: Record<string, unknown>): LeafInfo[] {
  if (node.kind === 'record') return leaves(node.value, `${prefix}.<${node.keyName}>`);
  if (node.kind === 'array') return leaves(node.item, `${prefix}[]`);
  if (node.kind !== 'object') return [];
  const out: LeafInfo[] = [];
  for (const [name, f] of Object.entries(node.fields)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    if (isContainer(f.node)) {
      const dv = f.defaultValue;
      const objDefault = dv !== null && typeof dv === 'object' && !Array.isArray(dv) ? (dv as Record<string, unknown>) : undefined;
      out.push(...leaves(f.node, key, objDefault));
      continue;
    }
    const fromParent = inherited?.[name];
    const defaultText = f.hasDefault
      ? yamlText(f.defaultValue)
      : fromParent !== undefined ? `${yamlText(fromParent)} (when ${prefix} is omitted)` : undefined;
    out.push({
      key,
      type: typeText(f.node),
      defaultText,
      required: !f.optional && !f.hasDefault,
      description: f.description ?? '',
    });
  }
  return out;
}

let cached: Field | undefined;

/** The schema's tree, built once on first use (not at import). */
export function schemaTree(): Field {
  cached ??= describeSchema(configSchema({ dir: '/', env: {}, readFile: () => '' }));
  return cached;
}

/** The known keys of the object at a (parsed) issue path, for "did you mean". */
export function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let node: SchemaNode = schemaTree().node;
  for (const seg of path) {
    if (node.kind === 'record') node = node.value;
    else if (node.kind === 'array') node = node.item;
    else if (node.kind === 'object') {
      const f: Field | undefined = node.fields[String(seg)];
      if (!f) return [];
      node = f.node;
    } else return [];
  }
  return node.kind === 'object' ? Object.keys(node.fields) : [];
}
