// A small metrics registry rendered in the Prometheus text format (0.0.4): counters, gauges (set or sampled at
// scrape time) and histograms, with labels. The service's own metrics are declared in serviceMetrics() below; the
// expansion and harness layers feed them through their event hooks, so nothing under src/ knows about Prometheus.
type Labels = Readonly<Record<string, string>>;

interface Metric {
  readonly name: string;
  render(): string;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(",")}}`;
}

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`;
}

function checkLabels(name: string, labelNames: readonly string[], labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length !== labelNames.length || labelNames.some((l) => !(l in labels))) {
    throw new Error(`metric ${name}: labels ${JSON.stringify(keys)} do not match ${JSON.stringify(labelNames)}`);
  }
  return JSON.stringify(labelNames.map((l) => labels[l]));
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[] = [],
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name}: cannot decrease`);
    const key = checkLabels(this.name, this.labelNames, labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels: { ...labels }, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(checkLabels(this.name, this.labelNames, labels))?.value ?? 0;
  }

  render(): string {
    let out = header(this.name, this.help, "counter");
    for (const { labels, value } of this.values.values()) out += `${this.name}${labelText(labels)} ${number(value)}\n`;
    return out;
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  /** `sample`, when given, is read at every scrape (and replaces set values). */
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[] = [],
    private readonly sample?: () => number | readonly [Labels, number][],
  ) {}

  set(labels: Labels, value: number): void {
    this.values.set(checkLabels(this.name, this.labelNames, labels), { labels: { ...labels }, value });
  }

  render(): string {
    let out = header(this.name, this.help, "gauge");
    let samples: readonly [Labels, number][] = [...this.values.values()].map((e) => [e.labels, e.value]);
    if (this.sample) {
      const sampled = this.sample();
      samples = typeof sampled === "number" ? [[{}, sampled]] : sampled;
    }
    for (const [labels, value] of samples) out += `${this.name}${labelText(labels)} ${number(value)}\n`;
    return out;
  }
}

export class Histogram implements Metric {
  private readonly values = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = checkLabels(this.name, this.labelNames, labels);
    let entry = this.values.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.values.set(key, entry);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) entry.counts[i]!++;
    entry.sum += value;
    entry.count++;
  }

  render(): string {
    let out = header(this.name, this.help, "histogram");
    for (const { labels, counts, sum, count } of this.values.values()) {
      this.buckets.forEach((le, i) => {
        out += `${this.name}_bucket${labelText({ ...labels, le: number(le) })} ${counts[i]}\n`;
      });
      out += `${this.name}_bucket${labelText({ ...labels, le: "+Inf" })} ${count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${number(sum)}\n`;
      out += `${this.name}_count${labelText(labels)} ${count}\n`;
    }
    return out;
  }
}

export class MetricsRegistry {
  private readonly metrics = new Map<string, Metric>();

  private add<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(
    name: string,
    help: string,
    labelNames: readonly string[] = [],
    sample?: () => number | readonly [Labels, number][],
  ): Gauge {
    return this.add(new Gauge(name, help, labelNames, sample));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** A counter whose value is read at scrape time from something that only grows (CPU time, ...). */
  sampledCounter(name: string, help: string, sample: () => number): Metric {
    return this.add({ name, render: () => `${header(name, help, "counter")}${name} ${number(sample())}\n` });
  }

  /** The exposition text (content type `text/plain; version=0.0.4`). */
  render(): string {
    return [...this.metrics.values()].map((m) => m.render()).join("");
  }
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Sources sampled at scrape time. */
export interface ServiceGaugeSources {
  readonly workersActive: () => number;
  readonly bundlesActive: () => number;
  readonly ready: () => boolean;
  /** Per-partition state of the reads in this process (watermark, backlog); none by default. */
  readonly partitionReads?: () => readonly {
    topic: string;
    partition: number;
    watermarkMs: number;
    backlogRecords: number;
  }[];
}

/** The service's metrics, by name. Label values are URNs, outcomes, topics: never config values. */
export function serviceMetrics(registry: MetricsRegistry, sources: ServiceGaugeSources, version: string) {
  const started = Date.now() / 1000;
  registry.gauge(
    "kbt_build_info",
    "Version of this service and of Node.js (always 1)",
    ["version", "node_version"],
    () => [[{ version, node_version: process.versions.node }, 1]],
  );
  registry.gauge("kbt_ready", "1 while both gRPC servers accept calls, 0 while starting or shutting down", [], () =>
    sources.ready() ? 1 : 0,
  );
  const metrics = {
    expansions: registry.counter("kbt_expansions_total", "Expand calls by URN and outcome (ok or the error code)", [
      "urn",
      "outcome",
    ]),
    expansionSeconds: registry.histogram(
      "kbt_expansion_duration_seconds",
      "Time to answer an Expand call",
      ["urn"],
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    ),
    workerStarts: registry.counter("kbt_worker_starts_total", "StartWorker calls to the worker pool by outcome", [
      "outcome",
    ]),
    workerStops: registry.counter("kbt_worker_stops_total", "StopWorker calls to the worker pool", []),
    bundles: registry.counter("kbt_bundles_total", "Bundles processed by this process's workers, by outcome", [
      "outcome",
    ]),
    recordsRead: registry.counter("kbt_kafka_records_read_total", "Kafka records read, by topic", ["topic"]),
    bytesRead: registry.counter("kbt_kafka_bytes_read_total", "Kafka record bytes (key + value) read, by topic", [
      "topic",
    ]),
    partitionRecordsRead: registry.counter(
      "kbt_kafka_partition_records_read_total",
      "Kafka records read, by topic and partition",
      ["topic", "partition"],
    ),
    fetches: registry.counter("kbt_kafka_fetches_total", "Fetch results the Kafka reads consumed, by topic", ["topic"]),
    fetchWaitSeconds: registry.counter(
      "kbt_kafka_fetch_wait_seconds_total",
      "Time the Kafka reads waited for a fetch (prefetch not ready), by topic",
      ["topic"],
    ),
    recordsWritten: registry.counter("kbt_kafka_records_written_total", "Kafka records written, by topic", ["topic"]),
    bytesWritten: registry.counter(
      "kbt_kafka_bytes_written_total",
      "Kafka record bytes (key + value) written, by topic",
      ["topic"],
    ),
    errors: registry.counter(
      "kbt_errors_total",
      "Errors by where they happened (expansion, bundle, worker_pool, http)",
      ["kind"],
    ),
    httpRequests: registry.counter("kbt_http_requests_total", "HTTP requests by route and status code", [
      "route",
      "status",
    ]),
  };
  registry.gauge(
    "kbt_workers_active",
    "Fn API workers running in this process (worker pool)",
    [],
    sources.workersActive,
  );
  const reads = () => sources.partitionReads?.() ?? [];
  registry.gauge(
    "kbt_kafka_backlog_records",
    "Records between each partition read's position and the partition's high watermark at its last fetch",
    ["topic", "partition"],
    () => reads().map((r) => [{ topic: r.topic, partition: String(r.partition) }, r.backlogRecords] as const),
  );
  registry.gauge(
    "kbt_kafka_watermark_lag_seconds",
    "Wall time minus each partition read's output watermark",
    ["topic", "partition"],
    () => {
      const now = Date.now();
      // A watermark before the epoch (nothing read yet: Beam's minimum) has no meaningful lag.
      return reads()
        .filter((r) => r.watermarkMs > 0)
        .map((r) => [{ topic: r.topic, partition: String(r.partition) }, (now - r.watermarkMs) / 1000] as const);
    },
  );
  registry.gauge(
    "kbt_bundles_active",
    "Bundles being processed right now by this process's workers",
    [],
    sources.bundlesActive,
  );
  registry.gauge(
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch in seconds",
    [],
    () => started,
  );
  registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes", [], () => process.memoryUsage.rss());
  registry.gauge("nodejs_heap_used_bytes", "V8 heap in use in bytes", [], () => process.memoryUsage().heapUsed);
  registry.sampledCounter("process_cpu_seconds_total", "User and system CPU time spent in seconds", () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1e6;
  });
  return metrics;
}

export type ServiceMetrics = ReturnType<typeof serviceMetrics>;
