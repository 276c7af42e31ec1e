// Inline PEM text from config maps. Values often lose their line breaks on the way (YAML folding, one-line
// properties, `\n` escapes), so blocks are re-wrapped to 64-column base64 before OpenSSL sees them.
import { KafkaConfigError } from "../errors.js";

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

export type PemKind = "certificate" | "private key";

/** Validates and normalises PEM text holding at least one block of `kind`; errors name the key, never the text. */
export function normalizePem(key: string, text: string, kind: PemKind): string {
  const unescaped = text.includes("\\n") && !text.includes("\n") ? text.replace(/\\n/g, "\n") : text;
  const blocks: string[] = [];
  let found = false;
  for (const match of unescaped.matchAll(BLOCK)) {
    const label = match[1]!;
    const body = match[2]!;
    if (kind === "certificate" ? label === "CERTIFICATE" : label.endsWith("PRIVATE KEY")) found = true;
    const compact = body.replace(/\s+/g, "");
    // Legacy encrypted keys carry "Proc-Type:" headers inside the block: leave such blocks as they were written.
    if (/^[A-Za-z0-9+/=]*$/.test(compact)) {
      const lines = compact.match(/.{1,64}/g) ?? [];
      blocks.push(`-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----`);
    } else {
      blocks.push(match[0]);
    }
  }
  if (!found) {
    const expected = kind === "certificate" ? "-----BEGIN CERTIFICATE-----" : "-----BEGIN ... PRIVATE KEY-----";
    throw new KafkaConfigError(key, `expected PEM text with a ${expected} block`);
  }
  return `${blocks.join("\n")}\n`;
}
