// The write benches' anchors beside kafkajs (./kafka-load.ts): the fastest Node producer we know,
// @platformatic/kafka (a dev dependency, Node >= 22), and Kafka's own Java producer through ProducerPerformance.
// Each writes `records` null-key records of one random `size`-byte value, acks=all, and returns records/s.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { repoRoot } from "../test/infra/paths.js";
import { PARTITIONS, recordsPerSend, sendInChunks } from "./kafka-load.js";

/** @platformatic/kafka's Producer, sends as the raw kafkajs side's (explicit partitions round-robin, 4 in flight). */
export async function producePlatformatic(
  bootstrap: string,
  topic: string,
  records: number,
  size: number,
): Promise<number> {
  const { Producer, ProduceAcks } = await import("@platformatic/kafka");
  const producer = new Producer({ clientId: "bench-platformatic", bootstrapBrokers: [bootstrap] });
  const value = randomBytes(size);
  // Connects and loads the topic's metadata outside the timed part, as the other sides do.
  await producer.send({ messages: [{ topic, value, partition: 0 }], acks: ProduceAcks.ALL });
  const started = performance.now();
  await sendInChunks(records - 1, recordsPerSend(size), (first, count) =>
    producer.send({
      messages: Array.from({ length: count }, (_, i) => ({ topic, value, partition: (first + i) % PARTITIONS })),
      acks: ProduceAcks.ALL,
    }),
  );
  const rate = (records - 1) / ((performance.now() - started) / 1000);
  await producer.close();
  return rate;
}

let toolsClasspath: string | undefined;

/** Kafka's ProducerPerformance in its own JVM (Java producer defaults, acks=all): its own summary's records/s. */
export async function producerPerformance(
  bootstrap: string,
  topic: string,
  records: number,
  size: number,
): Promise<number> {
  toolsClasspath ??= `${execFileSync("bash", [join(repoRoot(), "scripts/maven-libs.sh"), "kafka-tools"], { encoding: "utf8" }).trim()}/*`;
  const args = [
    "-cp",
    toolsClasspath,
    "org.apache.kafka.tools.ProducerPerformance",
    "--topic",
    topic,
    "--num-records",
    String(records),
    "--record-size",
    String(size),
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${bootstrap}`,
    "acks=all",
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn("java", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`ProducerPerformance exited ${code}:\n${out.slice(-2000)}`)),
    );
  });
  // The last line: "N records sent, R records/sec (M MB/sec), ..."
  const summary = /(\d+) records sent, ([\d.]+) records\/sec/.exec(
    output
      .split("\n")
      .reverse()
      .find((l) => l.includes("records sent")) ?? "",
  );
  if (!summary) throw new Error(`ProducerPerformance printed no summary:\n${output.slice(-2000)}`);
  return Number(summary[2]);
}
