// TlsOptions → Node's tls.ConnectionOptions. Files are read here, when a client is created on the machine that
// runs it (a worker), not when the config is parsed (perhaps in the expansion service, which lacks them).
import { readFileSync } from "node:fs";
import type { ConnectionOptions as NodeTlsOptions } from "node:tls";
import { KafkaConfigError } from "../errors.js";
import type { TlsMaterial, TlsOptions } from "../config/index.js";

type Loaded = { readonly kind: "pem"; readonly text: string } | { readonly kind: "pkcs12"; readonly bytes: Buffer };

function load(material: TlsMaterial): Loaded {
  if (material.source === "inline") return { kind: "pem", text: material.pem };
  let bytes: Buffer;
  try {
    bytes = readFileSync(material.path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? "unreadable";
    throw new KafkaConfigError(material.configKey, `cannot read ${material.path} (${reason})`);
  }
  const looksPem = bytes.subarray(0, 4096).toString("latin1").includes("-----BEGIN ");
  if (material.format === "PEM" && !looksPem) {
    throw new KafkaConfigError(material.configKey, `${material.path} is not a PEM file`);
  }
  if (material.format === "PKCS12" || (material.format === "auto" && !looksPem)) return { kind: "pkcs12", bytes };
  return { kind: "pem", text: bytes.toString("utf8") };
}

/** Builds Node TLS options; throws KafkaConfigError naming the key whose file is missing or of the wrong kind. */
export function nodeTlsOptions(tls: TlsOptions): NodeTlsOptions {
  const out: NodeTlsOptions = { rejectUnauthorized: tls.verifyCertificate };
  if (tls.trustedCertificates) {
    const trusted = load(tls.trustedCertificates);
    if (trusted.kind !== "pem") {
      const key =
        tls.trustedCertificates.source === "file" ? tls.trustedCertificates.configKey : "ssl.truststore.certificates";
      throw new KafkaConfigError(
        key,
        "not a PEM file: JKS/PKCS12 truststores cannot be read by Node, export the CA certificates as PEM",
      );
    }
    out.ca = trusted.text;
  }
  if (tls.clientKey && tls.clientCertificateChain) {
    const key = load(tls.clientKey);
    if (key.kind === "pkcs12") {
      out.pfx = key.bytes;
    } else {
      const chain = tls.clientCertificateChain === tls.clientKey ? key : load(tls.clientCertificateChain);
      if (chain.kind !== "pem") {
        throw new KafkaConfigError(
          "ssl.keystore.certificate.chain",
          "the certificate chain must be PEM when the key is PEM",
        );
      }
      out.key = key.text;
      out.cert = chain.text;
    }
    if (tls.keyPassword !== undefined) out.passphrase = tls.keyPassword;
  }
  if (!tls.verifyHostname) out.checkServerIdentity = () => undefined;
  if (tls.protocols && tls.protocols.length > 0) {
    const sorted = [...tls.protocols].sort();
    out.minVersion = sorted[0]!;
    out.maxVersion = sorted[sorted.length - 1]!;
  }
  return out;
}
