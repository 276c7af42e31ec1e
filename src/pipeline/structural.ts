// Value identity without coders: a canonical string per value, used to group keys and compare test outputs.
// Handles the values pipelines carry: primitives, bigint, Uint8Array, arrays, plain objects (keys sorted), Map, Set.

/**
 * A canonical string for a value, the same for structurally equal values: how GroupByKey groups keys and assertThat
 * compares outputs, without coders. Arrays compare in order; object keys, Map and Set entries in any order; bytes by
 * content; class instances by own enumerable properties. Throws TypeError for a symbol or function.
 */
export function structuralKey(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "n-0" : `n${value}`;
    case "bigint":
      return `${value}n`;
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "undefined";
    case "symbol":
    case "function":
      throw new TypeError(`cannot use a ${typeof value} as a key or compare it structurally`);
  }
  if (value === null) return "null";
  if (value instanceof Uint8Array)
    return `b${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
  if (Array.isArray(value)) return `[${value.map(structuralKey).join(",")}]`;
  if (value instanceof Map) {
    return `Map{${[...value.entries()]
      .map(([k, v]) => `${structuralKey(k)}:${structuralKey(v)}`)
      .sort()
      .join(",")}}`;
  }
  if (value instanceof Set) return `Set{${[...value].map(structuralKey).sort().join(",")}}`;
  if (value instanceof Date) return `Date(${value.getTime()})`;
  const entries = Object.keys(value as object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${structuralKey((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(",")}}`;
}

/** Deep equality by structuralKey (see there for the rules). Throws TypeError for a symbol or function. */
export function structurallyEqual(a: unknown, b: unknown): boolean {
  return structuralKey(a) === structuralKey(b);
}

/** A readable rendering for error messages (bigint as 12n, bytes as hex). */
export function describeValue(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) => {
        if (typeof v === "bigint") return `${v}n`;
        if (v instanceof Uint8Array) return `<${Buffer.from(v).toString("hex")}>`;
        return v;
      }) ?? String(value)
    );
  } catch {
    return String(value);
  }
}
