/**
 * A software config's input and output declarations as Heat stores them
 * (its software_config_io, fed by the config resource's properties, where
 * every key the template left out is None): a missing description is "", an
 * input's `default` is converted to the input's type (a Number's "5" is
 * stored as 5) and a missing one is the type's empty value ("", 0, false,
 * [], {}). The stored form is what a server's metadata carries, so the agent
 * under test sees the very values Heat would hand it.
 */
import { isMapping, pyJsonDumps, pyStr } from './heat-format';

export const IO_TYPES = ['String', 'Number', 'CommaDelimitedList', 'Json', 'Boolean'] as const;
export type IoType = (typeof IO_TYPES)[number];

export interface InputSpec {
  name: string;
  description?: string;
  /** Default String. */
  type?: IoType;
  default?: unknown;
}

export interface OutputSpec {
  name: string;
  description?: string;
  /** Default String. */
  type?: IoType;
  /** A value for this output fails the deployment (default false). */
  error_output?: boolean;
}

/** A default the input's type refuses, worded as Heat's (Python's) conversion words it. */
export class SoftwareConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SoftwareConfigError';
  }
}

/** Python's int() or float() of a string, as Heat's str_to_num tries them. */
function strToNum(text: string): number {
  const t = text.trim();
  if (/^[-+]?\d+$/.test(t)) return Number(t);
  if (t !== '' && /^[-+]?(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?|inf(inity)?|nan)$/i.test(t)) return Number(t.replace(/^([-+]?)inf(inity)?$/i, '$1Infinity'));
  throw new SoftwareConfigError(`could not convert string to float: ${pyStr([text]).slice(1, -1)}`);
}

/** The default as the property schema of the input's type reads it; none reads as the type's empty value. */
function typedDefault(type: IoType, value: unknown): unknown {
  if (value === undefined || value === null) return { String: '', Number: 0, CommaDelimitedList: [], Json: {}, Boolean: false }[type];
  switch (type) {
    case 'String':
      if (typeof value === 'string') return value;
      if (typeof value === 'boolean' || (typeof value === 'number' && Number.isInteger(value))) return pyStr(value);
      throw new SoftwareConfigError(`Value must be a string; got ${pyStr([value]).slice(1, -1)}`);
    case 'Number':
      if (typeof value === 'number' || typeof value === 'boolean') return value;
      if (typeof value === 'string') return strToNum(value);
      throw new SoftwareConfigError(`int() argument must be a string, a bytes-like object or a real number, not '${Array.isArray(value) ? 'list' : 'dict'}'`);
    case 'CommaDelimitedList':
      if (Array.isArray(value)) return value;
      if (typeof value === 'string') return value === '' ? [] : value.split(',');
      throw new SoftwareConfigError(`"${pyStr([value]).slice(1, -1)}" is not a list`);
    case 'Json':
      // A Json input's schema is a map that also lets strings through and turns lists into JSON text.
      if (isMapping(value) || typeof value === 'string') return value;
      if (Array.isArray(value)) return pyJsonDumps(value);
      throw new SoftwareConfigError(`"${pyStr(value)}" is not a map`);
    case 'Boolean':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && ['true', 'false'].includes(value.toLowerCase())) return value.toLowerCase() === 'true';
      throw new SoftwareConfigError(`"${typeof value === 'string' ? value.toLowerCase() : pyStr(value)}" is not a valid boolean`);
  }
}

/** An input as stored: name, description, type, default (typed), in the schema's order. */
export function storedInput(spec: InputSpec): Record<string, unknown> {
  const type = spec.type ?? 'String';
  // Heat's legacy rule: an empty-string default of a non-String input is kept untyped.
  const value = spec.default === '' && type !== 'String' ? '' : typedDefault(type, spec.default);
  return { name: spec.name, description: spec.description ?? '', type, default: value };
}

/** An output as stored: name, description, type, error_output. */
export function storedOutput(spec: OutputSpec): Record<string, unknown> {
  return { name: spec.name, description: spec.description ?? '', type: spec.type ?? 'String', error_output: spec.error_output ?? false };
}
