// Strings Beam attaches to enum values of its model protos with the (beam_urn), (beam_constant),
// (monitoring_info_spec) and (label_props) options. Our .proto files leave those options out, so the strings live
// here, keyed by the same message/enum/value path as the proto (urns.StandardCoders.Enum.BYTES is the URN of
// StandardCoders.Enum.BYTES). test/xlang/proto-conformance.test.ts checks every entry against Beam's descriptors.

/** URNs (beam_urn) of the standard enums, by message path then enum value name. */
export const urns = {
  StandardPTransforms: {
    Primitives: {
      PAR_DO: "beam:transform:pardo:v1",
      FLATTEN: "beam:transform:flatten:v1",
      GROUP_BY_KEY: "beam:transform:group_by_key:v1",
      IMPULSE: "beam:transform:impulse:v1",
      ASSIGN_WINDOWS: "beam:transform:window_into:v1",
      TEST_STREAM: "beam:transform:teststream:v1",
      MAP_WINDOWS: "beam:transform:map_windows:v1",
      MERGE_WINDOWS: "beam:transform:merge_windows:v1",
      TO_STRING: "beam:transform:to_string:v1",
    },
    DeprecatedPrimitives: {
      READ: "beam:transform:read:v1",
      CREATE_VIEW: "beam:transform:create_view:v1",
    },
    Composites: {
      COMBINE_PER_KEY: "beam:transform:combine_per_key:v1",
      COMBINE_GLOBALLY: "beam:transform:combine_globally:v1",
      RESHUFFLE: "beam:transform:reshuffle:v1",
      WRITE_FILES: "beam:transform:write_files:v1",
      PUBSUB_READ: "beam:transform:pubsub_read:v1",
      PUBSUB_WRITE: "beam:transform:pubsub_write:v1",
      PUBSUB_WRITE_V2: "beam:transform:pubsub_write:v2",
      GROUP_INTO_BATCHES_WITH_SHARDED_KEY: "beam:transform:group_into_batches_with_sharded_key:v1",
      REDISTRIBUTE_BY_KEY: "beam:transform:redistribute_by_key:v1",
      REDISTRIBUTE_ARBITRARILY: "beam:transform:redistribute_arbitrarily:v1",
    },
    CombineComponents: {
      COMBINE_PER_KEY_PRECOMBINE: "beam:transform:combine_per_key_precombine:v1",
      COMBINE_PER_KEY_MERGE_ACCUMULATORS: "beam:transform:combine_per_key_merge_accumulators:v1",
      COMBINE_PER_KEY_EXTRACT_OUTPUTS: "beam:transform:combine_per_key_extract_outputs:v1",
      COMBINE_GROUPED_VALUES: "beam:transform:combine_grouped_values:v1",
      COMBINE_PER_KEY_CONVERT_TO_ACCUMULATORS: "beam:transform:combine_per_key_convert_to_accumulators:v1",
    },
    SplittableParDoComponents: {
      PAIR_WITH_RESTRICTION: "beam:transform:sdf_pair_with_restriction:v1",
      SPLIT_AND_SIZE_RESTRICTIONS: "beam:transform:sdf_split_and_size_restrictions:v1",
      PROCESS_SIZED_ELEMENTS_AND_RESTRICTIONS: "beam:transform:sdf_process_sized_element_and_restrictions:v1",
      TRUNCATE_SIZED_RESTRICTION: "beam:transform:sdf_truncate_sized_restrictions:v1",
    },
    GroupIntoBatchesComponents: {
      GROUP_INTO_BATCHES: "beam:transform:group_into_batches:v1",
    },
  },
  StandardSideInputTypes: {
    Enum: {
      ITERABLE: "beam:side_input:iterable:v1",
      MULTIMAP: "beam:side_input:multimap:v1",
    },
  },
  StandardUserStateTypes: {
    Enum: {
      BAG: "beam:user_state:bag:v1",
      MULTIMAP: "beam:user_state:multimap:v1",
      ORDERED_LIST: "beam:user_state:ordered_list:v1",
    },
  },
  StandardCoders: {
    Enum: {
      BYTES: "beam:coder:bytes:v1",
      STRING_UTF8: "beam:coder:string_utf8:v1",
      KV: "beam:coder:kv:v1",
      BOOL: "beam:coder:bool:v1",
      VARINT: "beam:coder:varint:v1",
      DOUBLE: "beam:coder:double:v1",
      ITERABLE: "beam:coder:iterable:v1",
      TIMER: "beam:coder:timer:v1",
      INTERVAL_WINDOW: "beam:coder:interval_window:v1",
      LENGTH_PREFIX: "beam:coder:length_prefix:v1",
      GLOBAL_WINDOW: "beam:coder:global_window:v1",
      WINDOWED_VALUE: "beam:coder:windowed_value:v1",
      PARAM_WINDOWED_VALUE: "beam:coder:param_windowed_value:v1",
      STATE_BACKED_ITERABLE: "beam:coder:state_backed_iterable:v1",
      CUSTOM_WINDOW: "beam:coder:custom_window:v1",
      ROW: "beam:coder:row:v1",
      SCHEMA: "beam:coder:schema:v1",
      SHARDED_KEY: "beam:coder:sharded_key:v1",
      NULLABLE: "beam:coder:nullable:v1",
    },
  },
  StandardArtifacts: {
    Types: {
      FILE: "beam:artifact:type:file:v1",
      URL: "beam:artifact:type:url:v1",
      EMBEDDED: "beam:artifact:type:embedded:v1",
      PYPI: "beam:artifact:type:pypi:v1",
      MAVEN: "beam:artifact:type:maven:v1",
      DEFERRED: "beam:artifact:type:deferred:v1",
    },
    Roles: {
      STAGING_TO: "beam:artifact:role:staging_to:v1",
      PIP_REQUIREMENTS_FILE: "beam:artifact:role:pip_requirements_file:v1",
      GO_WORKER_BINARY: "beam:artifact:role:go_worker_binary:v1",
    },
  },
  StandardEnvironments: {
    Environments: {
      DOCKER: "beam:env:docker:v1",
      PROCESS: "beam:env:process:v1",
      EXTERNAL: "beam:env:external:v1",
      DEFAULT: "beam:env:default:v1",
      ANYOF: "beam:env:anyof:v1",
    },
  },
  StandardProtocols: {
    Enum: {
      LEGACY_PROGRESS_REPORTING: "beam:protocol:progress_reporting:v0",
      PROGRESS_REPORTING: "beam:protocol:progress_reporting:v1",
      WORKER_STATUS: "beam:protocol:worker_status:v1",
      MULTI_CORE_BUNDLE_PROCESSING: "beam:protocol:multi_core_bundle_processing:v1",
      SIBLING_WORKERS: "beam:protocol:sibling_workers:v1",
      HARNESS_MONITORING_INFOS: "beam:protocol:harness_monitoring_infos:v1",
      CONTROL_REQUEST_ELEMENTS_EMBEDDING: "beam:protocol:control_request_elements_embedding:v1",
      STATE_CACHING: "beam:protocol:state_caching:v1",
      DATA_SAMPLING: "beam:protocol:data_sampling:v1",
      SDK_CONSUMING_RECEIVED_DATA: "beam:protocol:sdk_consuming_received_data:v1",
      ORDERED_LIST_STATE: "beam:protocol:ordered_list_state:v1",
      ELEMENT_METADATA: "beam:protocol:element_metadata:v1",
      MULTIMAP_STATE: "beam:protocol:multimap_state:v1",
      NAMED_DATA_STREAMS: "beam:protocol:named_data_streams:v1",
    },
  },
  StandardRunnerProtocols: {
    Enum: {
      MONITORING_INFO_SHORT_IDS: "beam:protocol:monitoring_info_short_ids:v1",
      CONTROL_RESPONSE_ELEMENTS_EMBEDDING: "beam:protocol:control_response_elements_embedding:v1",
      MULTIMAP_KEYS_VALUES_SIDE_INPUT: "beam:protocol:multimap_keys_values_side_input:v1",
    },
  },
  StandardRequirements: {
    Enum: {
      REQUIRES_STATEFUL_PROCESSING: "beam:requirement:pardo:stateful:v1",
      REQUIRES_BUNDLE_FINALIZATION: "beam:requirement:pardo:finalization:v1",
      REQUIRES_STABLE_INPUT: "beam:requirement:pardo:stable_input:v1",
      REQUIRES_TIME_SORTED_INPUT: "beam:requirement:pardo:time_sorted_input:v1",
      REQUIRES_SPLITTABLE_DOFN: "beam:requirement:pardo:splittable_dofn:v1",
      REQUIRES_ON_WINDOW_EXPIRATION: "beam:requirement:pardo:on_window_expiration:v1",
    },
  },
  StandardDisplayData: {
    DisplayData: {
      LABELLED: "beam:display_data:labelled:v1",
    },
  },
  StandardResourceHints: {
    Enum: {
      ACCELERATOR: "beam:resources:accelerator:v1",
      MIN_RAM_BYTES: "beam:resources:min_ram_bytes:v1",
      CPU_COUNT: "beam:resources:cpu_count:v1",
      MAX_ACTIVE_BUNDLES_PER_WORKER: "beam:resources:max_active_bundles_per_worker:v1",
    },
  },
  LogicalTypes: {
    Enum: {
      PYTHON_CALLABLE: "beam:logical_type:python_callable:v1",
      MICROS_INSTANT: "beam:logical_type:micros_instant:v1",
      MILLIS_INSTANT: "beam:logical_type:millis_instant:v1",
      DECIMAL: "beam:logical_type:decimal:v1",
      FIXED_BYTES: "beam:logical_type:fixed_bytes:v1",
      VAR_BYTES: "beam:logical_type:var_bytes:v1",
      FIXED_CHAR: "beam:logical_type:fixed_char:v1",
      VAR_CHAR: "beam:logical_type:var_char:v1",
      DATE: "beam:logical_type:date:v1",
      TIMESTAMP: "beam:logical_type:timestamp:v1",
    },
  },
  ExpansionMethods: {
    Enum: {
      JAVA_CLASS_LOOKUP: "beam:expansion:payload:java_class_lookup:v1",
      SCHEMA_TRANSFORM: "beam:expansion:payload:schematransform:v1",
    },
  },
  ManagedTransforms: {
    Urns: {
      ICEBERG_READ: "beam:schematransform:org.apache.beam:iceberg_read:v1",
      ICEBERG_WRITE: "beam:schematransform:org.apache.beam:iceberg_write:v1",
      KAFKA_READ: "beam:schematransform:org.apache.beam:kafka_read:v1",
      KAFKA_WRITE: "beam:schematransform:org.apache.beam:kafka_write:v1",
      BIGQUERY_READ: "beam:schematransform:org.apache.beam:bigquery_storage_read:v1",
      BIGQUERY_WRITE: "beam:schematransform:org.apache.beam:bigquery_write:v1",
      ICEBERG_CDC_READ: "beam:schematransform:org.apache.beam:iceberg_cdc_read:v1",
      POSTGRES_READ: "beam:schematransform:org.apache.beam:postgres_read:v1",
      POSTGRES_WRITE: "beam:schematransform:org.apache.beam:postgres_write:v1",
      MYSQL_READ: "beam:schematransform:org.apache.beam:mysql_read:v1",
      MYSQL_WRITE: "beam:schematransform:org.apache.beam:mysql_write:v1",
      SQL_SERVER_READ: "beam:schematransform:org.apache.beam:sql_server_read:v1",
      SQL_SERVER_WRITE: "beam:schematransform:org.apache.beam:sql_server_write:v1",
      DELTA_LAKE_READ: "beam:schematransform:org.apache.beam:delta_lake_read:v1",
      DELTA_LAKE_CDC_READ: "beam:schematransform:org.apache.beam:delta_lake_cdc_read:v1",
    },
  },
  MonitoringInfoTypeUrns: {
    Enum: {
      SUM_INT64_TYPE: "beam:metrics:sum_int64:v1",
      SUM_DOUBLE_TYPE: "beam:metrics:sum_double:v1",
      DISTRIBUTION_INT64_TYPE: "beam:metrics:distribution_int64:v1",
      DISTRIBUTION_DOUBLE_TYPE: "beam:metrics:distribution_double:v1",
      LATEST_INT64_TYPE: "beam:metrics:latest_int64:v1",
      LATEST_DOUBLE_TYPE: "beam:metrics:latest_double:v1",
      TOP_N_INT64_TYPE: "beam:metrics:top_n_int64:v1",
      TOP_N_DOUBLE_TYPE: "beam:metrics:top_n_double:v1",
      BOTTOM_N_INT64_TYPE: "beam:metrics:bottom_n_int64:v1",
      BOTTOM_N_DOUBLE_TYPE: "beam:metrics:bottom_n_double:v1",
      PROGRESS_TYPE: "beam:metrics:progress:v1",
      SET_STRING_TYPE: "beam:metrics:set_string:v1",
      BOUNDED_TRIE_TYPE: "beam:metrics:bounded_trie:v1",
      HISTOGRAM: "beam:metrics:histogram_int64:v1",
    },
  },
  GlobalWindowsPayload: {
    Enum: {
      PROPERTIES: "beam:window_fn:global_windows:v1",
    },
  },
  FixedWindowsPayload: {
    Enum: {
      PROPERTIES: "beam:window_fn:fixed_windows:v1",
    },
  },
  SlidingWindowsPayload: {
    Enum: {
      PROPERTIES: "beam:window_fn:sliding_windows:v1",
    },
  },
  SessionWindowsPayload: {
    Enum: {
      PROPERTIES: "beam:window_fn:session_windows:v1",
    },
  },
  FnApiTransforms: {
    Runner: {
      DATA_SOURCE: "beam:runner:source:v1",
      DATA_SINK: "beam:runner:sink:v1",
    },
  },
} as const;

/** Constants (beam_constant) as Beam spells them (decimal strings for timestamps). */
export const beamConstants = {
  BeamConstants: {
    Constants: {
      MIN_TIMESTAMP_MILLIS: "-9223372036854775",
      MAX_TIMESTAMP_MILLIS: "9223372036854775",
      GLOBAL_WINDOW_MAX_TIMESTAMP_MILLIS: "9223371950454775",
    },
  },
  Annotations: {
    Enum: {
      CONFIG_ROW_KEY: "config_row",
      CONFIG_ROW_SCHEMA_KEY: "config_row_schema",
      SCHEMATRANSFORM_URN_KEY: "schematransform_urn",
      MANAGED_UNDERLYING_TRANSFORM_URN_KEY: "managed_underlying_transform_urn",
    },
  },
} as const;

export interface MonitoringInfoSpecFacts {
  readonly urn: string;
  readonly type: string;
  readonly requiredLabels: readonly string[];
}

/** MonitoringInfoSpecs.Enum value name → its (monitoring_info_spec): urn, type urn, required labels. */
export const monitoringInfoSpecs = {
  USER_SUM_INT64: {
    urn: "beam:metric:user:sum_int64:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_SUM_DOUBLE: {
    urn: "beam:metric:user:sum_double:v1",
    type: "beam:metrics:sum_double:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_DISTRIBUTION_INT64: {
    urn: "beam:metric:user:distribution_int64:v1",
    type: "beam:metrics:distribution_int64:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_DISTRIBUTION_DOUBLE: {
    urn: "beam:metric:user:distribution_double:v1",
    type: "beam:metrics:distribution_double:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_LATEST_INT64: {
    urn: "beam:metric:user:latest_int64:v1",
    type: "beam:metrics:latest_int64:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_LATEST_DOUBLE: {
    urn: "beam:metric:user:latest_double:v1",
    type: "beam:metrics:latest_double:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_TOP_N_INT64: {
    urn: "beam:metric:user:top_n_int64:v1",
    type: "beam:metrics:top_n_int64:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_TOP_N_DOUBLE: {
    urn: "beam:metric:user:top_n_double:v1",
    type: "beam:metrics:top_n_double:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_BOTTOM_N_INT64: {
    urn: "beam:metric:user:bottom_n_int64:v1",
    type: "beam:metrics:bottom_n_int64:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_BOTTOM_N_DOUBLE: {
    urn: "beam:metric:user:bottom_n_double:v1",
    type: "beam:metrics:bottom_n_double:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_SET_STRING: {
    urn: "beam:metric:user:set_string:v1",
    type: "beam:metrics:set_string:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  USER_BOUNDED_TRIE: {
    urn: "beam:metric:user:bounded_trie:v1",
    type: "beam:metrics:bounded_trie:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
  ELEMENT_COUNT: {
    urn: "beam:metric:element_count:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["PCOLLECTION"],
  },
  SAMPLED_BYTE_SIZE: {
    urn: "beam:metric:sampled_byte_size:v1",
    type: "beam:metrics:distribution_int64:v1",
    requiredLabels: ["PCOLLECTION"],
  },
  START_BUNDLE_MSECS: {
    urn: "beam:metric:pardo_execution_time:start_bundle_msecs:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["PTRANSFORM"],
  },
  PROCESS_BUNDLE_MSECS: {
    urn: "beam:metric:pardo_execution_time:process_bundle_msecs:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["PTRANSFORM"],
  },
  FINISH_BUNDLE_MSECS: {
    urn: "beam:metric:pardo_execution_time:finish_bundle_msecs:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["PTRANSFORM"],
  },
  TOTAL_MSECS: {
    urn: "beam:metric:ptransform_execution_time:total_msecs:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["PTRANSFORM"],
  },
  WORK_REMAINING: {
    urn: "beam:metric:ptransform_progress:remaining:v1",
    type: "beam:metrics:progress:v1",
    requiredLabels: ["PTRANSFORM"],
  },
  WORK_COMPLETED: {
    urn: "beam:metric:ptransform_progress:completed:v1",
    type: "beam:metrics:progress:v1",
    requiredLabels: ["PTRANSFORM"],
  },
  DATA_CHANNEL_READ_INDEX: {
    urn: "beam:metric:data_channel:read_index:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["PTRANSFORM"],
  },
  API_REQUEST_COUNT: {
    urn: "beam:metric:io:api_request_count:v1",
    type: "beam:metrics:sum_int64:v1",
    requiredLabels: ["SERVICE", "METHOD", "RESOURCE", "PTRANSFORM", "STATUS"],
  },
  API_REQUEST_LATENCIES: {
    urn: "beam:metric:io:api_request_latencies:v1",
    type: "beam:metrics:histogram_int64:v1",
    requiredLabels: ["SERVICE", "METHOD", "RESOURCE", "PTRANSFORM"],
  },
  USER_HISTOGRAM: {
    urn: "beam:metric:user:histogram_int64:v1",
    type: "beam:metrics:histogram_int64:v1",
    requiredLabels: ["PTRANSFORM", "NAMESPACE", "NAME"],
  },
} as const satisfies Record<string, MonitoringInfoSpecFacts>;

/** MonitoringInfo.MonitoringInfoLabels value name → the label key used in MonitoringInfo.labels (label_props). */
export const monitoringInfoLabels = {
  TRANSFORM: "PTRANSFORM",
  PCOLLECTION: "PCOLLECTION",
  WINDOWING_STRATEGY: "WINDOWING_STRATEGY",
  CODER: "CODER",
  ENVIRONMENT: "ENVIRONMENT",
  NAMESPACE: "NAMESPACE",
  NAME: "NAME",
  SERVICE: "SERVICE",
  METHOD: "METHOD",
  RESOURCE: "RESOURCE",
  STATUS: "STATUS",
  BIGQUERY_PROJECT_ID: "BIGQUERY_PROJECT_ID",
  BIGQUERY_DATASET: "BIGQUERY_DATASET",
  BIGQUERY_TABLE: "BIGQUERY_TABLE",
  BIGQUERY_VIEW: "BIGQUERY_VIEW",
  BIGQUERY_QUERY_NAME: "BIGQUERY_QUERY_NAME",
  GCS_BUCKET: "GCS_BUCKET",
  GCS_PROJECT_ID: "GCS_PROJECT_ID",
  DATASTORE_PROJECT: "DATASTORE_PROJECT",
  DATASTORE_NAMESPACE: "DATASTORE_NAMESPACE",
  BIGTABLE_PROJECT_ID: "BIGTABLE_PROJECT_ID",
  INSTANCE_ID: "INSTANCE_ID",
  TABLE_ID: "TABLE_ID",
  SPANNER_PROJECT_ID: "SPANNER_PROJECT_ID",
  SPANNER_DATABASE_ID: "SPANNER_DATABASE_ID",
  SPANNER_TABLE_ID: "SPANNER_TABLE_ID",
  SPANNER_INSTANCE_ID: "SPANNER_INSTANCE_ID",
  SPANNER_QUERY_NAME: "SPANNER_QUERY_NAME",
  PER_WORKER_METRIC: "PER_WORKER_METRIC",
} as const;
