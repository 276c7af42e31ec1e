// Pipeline options under which a runner holds our transforms' output back, found in the options the runner
// provisions to the worker and told in the worker's log (runners show it). Established on Beam's Flink runner 2.56
// (README, "On Flink"): the worker cannot change them, only say so before the pipeline seems to hang.
import type { protobufWkt } from "../model/proto/index.js";
import type { WorkerLogger } from "./logging.js";

type OptionValue = string | number | boolean | null | undefined;

/** A pipeline option by its snake_case name, as Python sends it (`beam:option:<name>:v1`) or as Java does (plain). */
function option(options: protobufWkt.IStruct, name: string): OptionValue {
  const fields = options.fields ?? {};
  const value = fields[`beam:option:${name}:v1`] ?? fields[name];
  if (!value) return undefined;
  if (value.boolValue !== undefined && value.boolValue !== null) return value.boolValue;
  if (value.numberValue !== undefined && value.numberValue !== null) return value.numberValue;
  if (value.stringValue !== undefined && value.stringValue !== null) return value.stringValue;
  return null;
}

function isTrue(value: OptionValue): boolean {
  return value === true || value === "true";
}

/** Advice for the worker's log, one line each; empty when nothing in the options is known to hold output back. */
export function pipelineOptionAdvice(options: unknown): string[] {
  if (options === null || typeof options !== "object") return [];
  const struct = options as protobufWkt.IStruct;
  const advice: string[] = [];
  const checkpointing = Number(option(struct, "checkpointing_interval") ?? -1);
  if (checkpointing > 0 && !isTrue(option(struct, "finish_bundle_before_checkpointing"))) {
    advice.push(
      "checkpointing_interval is set without finish_bundle_before_checkpointing: on Flink, a bundle that a " +
        "checkpoint finishes keeps its output until its operator's next bundle, and the read's first stage (after the " +
        "Impulse) never has one, so nothing may ever be read. Add --finish_bundle_before_checkpointing",
    );
  }
  if (option(struct, "max_bundle_time_millis") !== undefined && option(struct, "max_bundle_time_mills") === undefined) {
    advice.push(
      "max_bundle_time_millis is not an option of Beam's Flink runner and is ignored: its name is max_bundle_time_mills",
    );
  }
  return advice;
}

/** Logs the advice for these options (a worker's provisioned pipeline options) at WARN. */
export function logPipelineOptionAdvice(options: unknown, logger: WorkerLogger): void {
  for (const line of pipelineOptionAdvice(options)) logger.log("warn", `pipeline options: ${line}`);
}
