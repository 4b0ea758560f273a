/** The Query protocol's parameter lists, `<prefix>.member.N.<rest>`, as Heat and CloudWatch read them. */

export interface ParamMember {
  /** N as sent: error messages name the parameter the client sent. */
  index: number;
  fields: Record<string, string>;
}

/** Members grouped by N, in N order. */
export function extractParamMembers(params: Record<string, string>, prefix: string): ParamMember[] {
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.member\\.([0-9]+)\\.(.*)$`);
  const groups = new Map<number, Record<string, string>>();
  for (const [k, v] of Object.entries(params)) {
    const m = re.exec(k);
    if (!m) continue;
    const i = Number(m[1]);
    if (!groups.has(i)) groups.set(i, {});
    groups.get(i)![m[2]] = v;
  }
  return [...groups.entries()].sort(([a], [b]) => a - b).map(([index, fields]) => ({ index, fields }));
}

/** Heat's `extract_param_list`: the members' fields only. */
export function extractParamList(params: Record<string, string>, prefix: string): Array<Record<string, string>> {
  return extractParamMembers(params, prefix).map((m) => m.fields);
}
