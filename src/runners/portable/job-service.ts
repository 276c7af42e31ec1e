// A client of Beam's Job API (beam_job_api.proto): prepare a pipeline, stage its artifacts, run it, follow its
// state and messages, cancel it, read its metrics. What Python's PortableRunner does, for our TypeScript pipelines.
import type * as grpc from "@grpc/grpc-js";
import {
  beamClient,
  jobApi,
  unary,
  type GenericClient,
  type protobufWkt,
  type runnerApi,
} from "../../model/proto/index.js";

/** A job's state as the Job API names it ("RUNNING", "DONE", "FAILED", "CANCELLED", ...). */
export type JobState = keyof typeof jobApi.JobState.Enum;

/** The name of a JobState enum value ("RUNNING", "DONE", ...). */
export function jobStateName(state: jobApi.JobState.Enum | null | undefined): JobState {
  const name = (jobApi.JobState.Enum as unknown as Record<number, string>)[state ?? 0];
  return (name ?? "UNSPECIFIED") as JobState;
}

/** States after which a job does nothing more. */
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(["DONE", "FAILED", "CANCELLED", "UPDATED", "DRAINED"]);

/** A prepared job: its preparation id, and where and with which token its artifacts are staged. */
export interface PreparedJob {
  readonly preparationId: string;
  readonly stagingEndpoint: string;
  readonly stagingToken: string;
}

/** A message of the runner about a job (JOB_MESSAGE_ERROR ones carry what failed on a worker). */
export interface JobMessage {
  readonly importance: string;
  readonly text: string;
}

/**
 * One job service connection: prepare → stageArtifacts → run, then followState / followMessages until the end,
 * cancel and metrics on the way. close() ends the streams and the connection.
 */
export class JobServiceClient {
  private readonly jobs: GenericClient;
  private readonly streams = new Set<grpc.ClientReadableStream<unknown>>();

  constructor(readonly endpoint: string) {
    this.jobs = beamClient("org.apache.beam.model.job_management.v1.JobService", endpoint);
  }

  async prepare(pipeline: runnerApi.IPipeline, options: protobufWkt.IStruct, jobName: string): Promise<PreparedJob> {
    const response = await unary<jobApi.IPrepareJobRequest, jobApi.PrepareJobResponse>(this.jobs, "Prepare", {
      pipeline,
      pipelineOptions: options,
      jobName,
    });
    return {
      preparationId: response.preparationId,
      stagingEndpoint: response.artifactStagingEndpoint?.url || this.endpoint,
      stagingToken: response.stagingSessionToken,
    };
  }

  /**
   * Answers the job service's artifact questions for this preparation. Our environments list no dependencies, so
   * every resolution is "as given" and no artifact is ever asked for; the exchange still has to happen: runners wait
   * for it before they run the job.
   */
  stageArtifacts(prepared: PreparedJob): Promise<void> {
    const staging = beamClient(
      "org.apache.beam.model.job_management.v1.ArtifactStagingService",
      prepared.stagingEndpoint,
    );
    return new Promise<void>((resolve, reject) => {
      const call = (
        staging.ReverseArtifactRetrievalService as () => grpc.ClientDuplexStream<
          jobApi.IArtifactResponseWrapper,
          jobApi.ArtifactRequestWrapper
        >
      )();
      call.write({ stagingToken: prepared.stagingToken });
      call.on("data", (request: jobApi.ArtifactRequestWrapper) => {
        if (request.resolveArtifact) {
          call.write({ resolveArtifactResponse: { replacements: request.resolveArtifact.artifacts ?? [] } });
        } else if (request.getArtifact) {
          call.write({ getArtifactResponse: { data: new Uint8Array(0) }, isLast: true });
        }
      });
      call.on("end", () => {
        call.end();
        staging.close();
        resolve();
      });
      call.on("error", (err) => {
        staging.close();
        reject(err);
      });
    });
  }

  async run(prepared: PreparedJob): Promise<string> {
    const response = await unary<jobApi.IRunJobRequest, jobApi.RunJobResponse>(this.jobs, "Run", {
      preparationId: prepared.preparationId,
      retrievalToken: prepared.stagingToken,
    });
    return response.jobId;
  }

  /** Calls `onState` with every state the job passes through; `onError` if the stream breaks before the end. */
  followState(jobId: string, onState: (state: JobState) => void, onError: (err: Error) => void): void {
    const call = (
      this.jobs.GetStateStream as (r: jobApi.IGetJobStateRequest) => grpc.ClientReadableStream<jobApi.JobStateEvent>
    )({ jobId });
    this.track(call);
    call.on("data", (event: jobApi.JobStateEvent) => onState(jobStateName(event.state)));
    call.on("error", (err: grpc.ServiceError) => {
      if (err.code !== 1 /* CANCELLED: we closed it */) onError(err);
    });
  }

  /** Calls `onMessage` with the job's messages (the runner's, and errors its workers reported). */
  followMessages(jobId: string, onMessage: (message: JobMessage) => void): void {
    const call = (
      this.jobs.GetMessageStream as (
        r: jobApi.IJobMessagesRequest,
      ) => grpc.ClientReadableStream<jobApi.JobMessagesResponse>
    )({ jobId });
    this.track(call);
    call.on("data", (response: jobApi.JobMessagesResponse) => {
      const message = response.messageResponse;
      if (!message?.messageText) return;
      const importance = (jobApi.JobMessage.MessageImportance as unknown as Record<number, string>)[
        message.importance ?? 0
      ];
      onMessage({ importance: importance ?? "UNSPECIFIED", text: message.messageText });
    });
    call.on("error", () => undefined); // the state stream reports what matters; this one only adds detail
  }

  async cancel(jobId: string): Promise<void> {
    await unary<jobApi.ICancelJobRequest, jobApi.CancelJobResponse>(this.jobs, "Cancel", { jobId });
  }

  /** The job's monitoring infos, committed where the runner has them, else attempted. */
  async metrics(jobId: string): Promise<runnerApi.IMonitoringInfo[]> {
    const response = await unary<jobApi.IGetJobMetricsRequest, jobApi.GetJobMetricsResponse>(
      this.jobs,
      "GetJobMetrics",
      {
        jobId,
      },
    );
    const results = response.metrics;
    return results?.committed?.length ? results.committed : (results?.attempted ?? []);
  }

  close(): void {
    for (const call of this.streams) call.cancel();
    this.streams.clear();
    this.jobs.close();
  }

  private track(call: grpc.ClientReadableStream<unknown>): void {
    this.streams.add(call);
    const forget = () => this.streams.delete(call);
    call.on("end", forget);
    call.on("error", forget);
  }
}
