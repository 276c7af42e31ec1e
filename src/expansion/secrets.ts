// What becomes of literal secrets (passwords, private keys, JAAS text) in a Kafka config on their way into DoFn
// payloads, which the runner stores with the pipeline: sealed for the service's workers (the default of `serve`),
// refused (only `${provider:...}` references accepted), or passed as given (the library default, in one process).
import type { ReadSpec } from "../kafka/read/spec.js";
import type { WriteSpec } from "../kafka/write/spec.js";
import { isLiteralSecret, type SecretSealer } from "../kafka/config/sealing.js";
import { invalidArgument } from "./errors.js";

export type SecretsPolicy =
  | { readonly literalSecrets: "seal"; readonly sealer: SecretSealer }
  | { readonly literalSecrets: "refuse" }
  | { readonly literalSecrets: "pass" };

export const PASS_SECRETS: SecretsPolicy = Object.freeze({ literalSecrets: "pass" });

const REFERENCE_HINT =
  "pass a reference resolved on the worker instead, e.g. ${env:KAFKA_PASSWORD} with config.providers=env and " +
  "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider";

function protectConfig(
  config: Readonly<Record<string, string>>,
  field: string,
  policy: SecretsPolicy,
): Readonly<Record<string, string>> {
  if (policy.literalSecrets === "pass") return config;
  if (policy.literalSecrets === "seal") return Object.freeze(policy.sealer.sealConfig(config));
  for (const [key, value] of Object.entries(config)) {
    if (isLiteralSecret(key, value)) {
      throw invalidArgument(
        `${field}['${key}']`,
        `this service refuses literal secrets (--literal-secrets refuse): ${REFERENCE_HINT}`,
      );
    }
  }
  return config;
}

// One protected spec per spec and policy: payloads derived from it are cached per spec object (kafka-transforms.ts).
const protectedSpecs = new WeakMap<SecretsPolicy, WeakMap<ReadSpec | WriteSpec, ReadSpec | WriteSpec>>();

/** The spec as it may travel in a payload under `policy`. */
export function protectedSpec<S extends ReadSpec | WriteSpec>(spec: S, policy: SecretsPolicy = PASS_SECRETS): S {
  if (policy.literalSecrets === "pass") return spec;
  let specs = protectedSpecs.get(policy);
  if (!specs) protectedSpecs.set(policy, (specs = new WeakMap()));
  let out = specs.get(spec) as S | undefined;
  if (!out) {
    const protectedOne: ReadSpec | WriteSpec =
      "consumerConfig" in spec
        ? { ...spec, consumerConfig: protectConfig(spec.consumerConfig, "consumer_config", policy) }
        : { ...spec, producerConfig: protectConfig(spec.producerConfig, "producer_config", policy) };
    out = Object.freeze(protectedOne) as S;
    specs.set(spec, out);
  }
  return out;
}
