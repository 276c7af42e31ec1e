// Certificates made per run with the machine's openssl: a CA, the broker's certificate for 127.0.0.1/localhost, one
// for a host name nobody connects to (host-name mismatch), a CA that signed nothing the broker holds (untrusted),
// and a client certificate for mutual TLS. Keys are EC P-256 (fast to make); stores are PKCS#12 for the broker
// (Java) and PEM and PKCS#12 for our clients.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface TlsMaterial {
  readonly dir: string;
  /** The CA that signed the broker's and the client's certificates (PEM file and text). */
  readonly caFile: string;
  readonly caPem: string;
  /** A CA that signed nothing here: trusting only it makes the broker's certificate untrusted. */
  readonly rogueCaPem: string;
  /** PKCS#12 keystores for the broker, protected by `storePassword`. */
  readonly serverKeystore: string;
  readonly wrongHostKeystore: string;
  readonly storePassword: string;
  /** The client's certificate and its private key encrypted with `clientKeyPassword` (PEM text and files). */
  readonly clientCertPem: string;
  readonly clientKeyPem: string;
  readonly clientKeyPassword: string;
  /** The same identity as a PKCS#12 keystore protected by `clientKeyPassword`. */
  readonly clientKeystore: string;
  /** The broker's certificate and unencrypted key as PEM files (for any server on 127.0.0.1/localhost). */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  remove(): void;
}

/** `openssl req` arguments for a new unencrypted P-256 key. */
const NEW_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function openssl(cwd: string, args: string[]): Promise<void> {
  await execFileAsync("openssl", args, { cwd });
}

async function selfSignedCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...NEW_EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

/** A key and a certificate signed by ca.pem, with these subjectAltName entries. */
async function signedCertificate(dir: string, name: string, altNames: string, usage: string): Promise<void> {
  await openssl(dir, ["req", ...NEW_EC_KEY, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${altNames}\nextendedKeyUsage=${usage}\n`);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-out",
    `${name}.pem`,
    "-extfile",
    `${name}.ext`,
  ]);
}

async function pkcs12(dir: string, name: string, password: string): Promise<string> {
  const out = join(dir, `${name}.p12`);
  await openssl(dir, [
    "pkcs12",
    "-export",
    "-in",
    `${name}.pem`,
    "-inkey",
    `${name}.key`,
    "-certfile",
    "ca.pem",
    "-name",
    name,
    "-out",
    out,
    "-passout",
    `pass:${password}`,
  ]);
  return out;
}

export async function makeTlsMaterial(): Promise<TlsMaterial> {
  const dir = mkdtempSync(join(tmpdir(), "kbt-tls-"));
  const storePassword = "kbt-store-secret";
  const clientKeyPassword = "kbt-client-key-secret";
  try {
    await selfSignedCa(dir, "ca");
    await selfSignedCa(dir, "rogue-ca");
    await signedCertificate(dir, "broker", "IP:127.0.0.1,DNS:localhost", "serverAuth");
    await signedCertificate(dir, "wrong-host", "DNS:wrong-host.invalid", "serverAuth");
    await signedCertificate(dir, "client", "DNS:kbt-client", "clientAuth");
    const serverKeystore = await pkcs12(dir, "broker", storePassword);
    const wrongHostKeystore = await pkcs12(dir, "wrong-host", storePassword);
    const clientKeystore = await pkcs12(dir, "client", clientKeyPassword);
    // The client's PEM key encrypted (PKCS#8), as ssl.key.password expects.
    await openssl(dir, [
      "pkcs8",
      "-topk8",
      "-in",
      "client.key",
      "-out",
      "client-encrypted.key",
      "-passout",
      `pass:${clientKeyPassword}`,
    ]);
    const read = (name: string) => readFileSync(join(dir, name), "utf8");
    return {
      dir,
      caFile: join(dir, "ca.pem"),
      caPem: read("ca.pem"),
      rogueCaPem: read("rogue-ca.pem"),
      serverKeystore,
      wrongHostKeystore,
      storePassword,
      clientCertPem: read("client.pem"),
      clientKeyPem: read("client-encrypted.key"),
      clientKeyPassword,
      clientKeystore,
      serverCertFile: join(dir, "broker.pem"),
      serverKeyFile: join(dir, "broker.key"),
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
