// Pre-encoded Expand responses for transforms without inputs (the reads). Such a response depends on the payload,
// the unique name and the request's namespace only, and every request brings a new namespace: the graph is the
// same each time, under a different prefix. A template is the response encoded once per namespace length, with
// the positions where the namespace sits; a request copies it and writes its namespace there. Lengths inside the
// message do not change, because the namespace has the template's length.
//
// Made by encoding the response for three namespaces of that length and comparing the bytes: two letter-only ones
// find the positions, a third (mixed case, digits, punctuation) must come out exactly as the template renders it.
// An expansion that uses its namespace any other way than verbatim gets no template and is built per request.

/** Namespaces a template can serve: characters no encoding on the way (JSON, case, escaping) changes. */
const TEMPLATE_NAMESPACE = /^[A-Za-z0-9_.:/-]{1,256}$/;
const PROBE_ALPHABET = "aZ09_.:/-Qx";

export interface ResponseTemplate {
  readonly bytes: Uint8Array;
  readonly namespaceLength: number;
  /** Where each copy of the namespace starts. */
  readonly positions: readonly number[];
}

export function templatableNamespace(namespace: string): boolean {
  return TEMPLATE_NAMESPACE.test(namespace);
}

export function renderTemplate(template: ResponseTemplate, namespace: string, into: Buffer, offset: number): void {
  if (namespace.length !== template.namespaceLength)
    throw new Error("renderTemplate: namespace length differs from the template's");
  into.set(template.bytes, offset);
  for (const position of template.positions) into.write(namespace, offset + position, "latin1");
}

function probe(length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += PROBE_ALPHABET[i % PROBE_ALPHABET.length];
  return text;
}

/**
 * The template of `encodeFor` at namespaces of `namespaceLength`, or undefined when the encoding does not place the
 * namespace verbatim (or `encodeFor` throws for the probe namespaces).
 */
export function makeTemplate(
  encodeFor: (namespace: string) => Uint8Array,
  namespaceLength: number,
): ResponseTemplate | undefined {
  let first: Uint8Array, second: Uint8Array, check: Uint8Array;
  const checkNamespace = probe(namespaceLength);
  try {
    first = encodeFor("q".repeat(namespaceLength));
    second = encodeFor("z".repeat(namespaceLength));
    check = encodeFor(checkNamespace);
  } catch {
    return undefined;
  }
  if (second.length !== first.length || check.length !== first.length) return undefined;
  const positions: number[] = [];
  for (let i = 0; i < first.length; ) {
    if (first[i] === second[i]) {
      i++;
      continue;
    }
    let end = i;
    while (end < first.length && first[end] !== second[end]) end++;
    if ((end - i) % namespaceLength !== 0) return undefined;
    for (let p = i; p < end; p += namespaceLength) positions.push(p);
    i = end;
  }
  const template: ResponseTemplate = { bytes: first, namespaceLength, positions };
  const rendered = Buffer.allocUnsafe(first.length);
  renderTemplate(template, checkNamespace, rendered, 0);
  return rendered.equals(check) ? template : undefined;
}
