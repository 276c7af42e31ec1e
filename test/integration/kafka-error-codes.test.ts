// Our table of Kafka's error codes (src/kafka/client/kafka-error-codes.ts) against the broker's own definitions:
// the Errors enum of the Kafka release the test broker runs, read by a small Java program on the same jars.
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { suite } from "../harness.js";
import { kafkaLibs } from "../infra/broker.js";
import { kafkaErrorCodes } from "../../src/kafka/client/kafka-error-codes.js";

const s = suite("Kafka error codes", { timeoutMs: 60_000 });

const DUMP = `
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.errors.RetriableException;
public class Dump {
  public static void main(String[] args) {
    for (Errors e : Errors.values()) System.out.println(e.code() + "," + e.name() + "," + (e.exception() instanceof RetriableException));
  }
}
`;

s.test("every code, name and retriable flag is Kafka's own (org.apache.kafka.common.protocol.Errors)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kbt-errors-"));
  try {
    writeFileSync(join(dir, "Dump.java"), DUMP);
    const { stdout } = await promisify(execFile)("java", ["-cp", `${await kafkaLibs()}/*`, join(dir, "Dump.java")]);
    const kafka = stdout
      .trim()
      .split("\n")
      .filter((l) => /^-?\d+,/.test(l))
      .map((l) => {
        const [code, name, retriable] = l.split(",");
        return { code: Number(code), name: name!, retriable: retriable === "true" };
      });
    assert.ok(kafka.length > 100, `${kafka.length} codes from Kafka`);
    assert.equal(kafkaErrorCodes(), kafka);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
