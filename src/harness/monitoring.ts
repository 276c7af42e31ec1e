// Monitoring infos for progress and bundle responses, sent as short ids + payloads (monitoring_data) as runners
// that declare MONITORING_INFO_SHORT_IDS expect; the runner resolves unknown short ids through
// MonitoringInfosMetadata. Prism watches read_index and element_count to decide when to split a slow bundle.
import { randomBytes } from "node:crypto";
import { monitoringInfoSpecs, type runnerApi } from "../model/proto/index.js";
import { doubleCoder, encodeToBytes, iterableCoder, varIntCoder } from "../model/coders/index.js";
import type { BundleMetrics, BundleProgress } from "../runners/bundle/index.js";

const progressPayloadCoder = iterableCoder(doubleCoder);

interface Sample {
  readonly urn: string;
  readonly type: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly payload: Uint8Array;
}

function sumInt64(spec: { urn: string; type: string }, labels: Record<string, string>, value: number): Sample {
  return { urn: spec.urn, type: spec.type, labels, payload: encodeToBytes(varIntCoder, BigInt(Math.trunc(value))) };
}

export function metricSamples(metrics: BundleMetrics, progress?: BundleProgress): Sample[] {
  const samples: Sample[] = [];
  for (const [pc, m] of Object.entries(metrics.pcollections)) {
    samples.push(sumInt64(monitoringInfoSpecs.ELEMENT_COUNT, { PCOLLECTION: pc }, m.elements));
  }
  for (const [transform, m] of Object.entries(metrics.transforms)) {
    for (const [name, value] of Object.entries(m.counters)) {
      samples.push(
        sumInt64(
          monitoringInfoSpecs.USER_SUM_INT64,
          { PTRANSFORM: transform, NAMESPACE: "kafka-beam-ts", NAME: name },
          value,
        ),
      );
    }
  }
  if (progress) {
    for (const [source, input] of Object.entries(progress.inputs)) {
      samples.push(
        sumInt64(monitoringInfoSpecs.DATA_CHANNEL_READ_INDEX, { PTRANSFORM: source }, input.elementsConsumed - 1),
      );
    }
    for (const work of progress.splittable) {
      for (const [spec, value] of [
        [monitoringInfoSpecs.WORK_REMAINING, work.workRemaining],
        [monitoringInfoSpecs.WORK_COMPLETED, work.workCompleted],
      ] as const) {
        samples.push({
          urn: spec.urn,
          type: spec.type,
          labels: { PTRANSFORM: work.transformId },
          payload: encodeToBytes(progressPayloadCoder, [value]),
        });
      }
    }
  }
  return samples;
}

/**
 * Short ids for (urn, labels), stable for the worker's lifetime. Runners keep one short-id table per job, shared
 * by every worker of every SDK (Prism does), so ours carry a prefix no other worker uses.
 */
export class ShortIds {
  private readonly prefix = `kbt-${randomBytes(4).toString("hex")}-`;
  private readonly byKey = new Map<string, string>();
  private readonly infos = new Map<string, runnerApi.IMonitoringInfo>();

  idFor(sample: Sample): string {
    const key = `${sample.urn}|${Object.entries(sample.labels)
      .sort()
      .map(([k, v]) => `${k}=${v}`)
      .join(",")}`;
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = `${this.prefix}${this.byKey.size + 1}`;
      this.byKey.set(key, id);
      this.infos.set(id, { urn: sample.urn, type: sample.type, labels: { ...sample.labels } });
    }
    return id;
  }

  monitoringData(samples: readonly Sample[]): Record<string, Uint8Array> {
    const data: Record<string, Uint8Array> = {};
    for (const sample of samples) data[this.idFor(sample)] = sample.payload;
    return data;
  }

  /** Full infos for the short ids a runner asks about (unknown ids are left out). */
  describe(ids: readonly string[]): Record<string, runnerApi.IMonitoringInfo> {
    const out: Record<string, runnerApi.IMonitoringInfo> = {};
    for (const id of ids) {
      const info = this.infos.get(id);
      if (info) out[id] = info;
    }
    return out;
  }
}

export function monitoringInfos(samples: readonly Sample[]): runnerApi.IMonitoringInfo[] {
  return samples.map((s) => ({ urn: s.urn, type: s.type, labels: { ...s.labels }, payload: s.payload }));
}
