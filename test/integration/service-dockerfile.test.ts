// The Dockerfile, without a Docker engine: its stages are replayed into temp directories with the same COPY and RUN
// steps (npm ci, tsc, npm ci --omit=dev), then the runtime stage's ENTRYPOINT + CMD is started from there and its
// HEALTHCHECK run against it. Checks what the image would hold (no dev dependencies, no tests, non-root user) and
// prints the size of what the runtime stage copies.
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";
import { kafkaTransformDefinitions, TransformRegistry } from "../../src/expansion/index.js";
import { kbtFreeEnv, runCommand, startServeProcess, type ServeProcess } from "./service-fixtures.js";

interface Instruction {
  readonly op: string;
  readonly args: string;
}

interface Stage {
  readonly name: string;
  readonly base: string;
  readonly instructions: Instruction[];
}

/** FROM/COPY/RUN/... with line continuations and comments, grouped by stage. */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  for (const line of logical) {
    const match = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`Dockerfile: cannot parse ${JSON.stringify(line)}`);
    const op = match[1]!.toUpperCase();
    const args = match[2]!;
    if (op === "FROM") {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ base: from[1]!, name: from[2] ?? String(stages.length), instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile: ${op} before FROM`);
      stages.at(-1)!.instructions.push({ op, args });
    }
  }
  return stages;
}

/** Exec form (JSON array) or shell form. */
function commandOf(args: string): string[] {
  return args.startsWith("[") ? (JSON.parse(args) as string[]) : ["/bin/sh", "-c", args];
}

interface Replayed {
  readonly root: string;
  readonly workdir: string;
  readonly env: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  healthcheck?: string[];
  readonly exposed: number[];
  readonly copied: string[];
  readonly ran: string[];
}

const context = repoRoot();

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn("/bin/sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.once("exit", (code) =>
      code === 0 ? done() : fail(new Error(`RUN ${command} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

/** Replays one stage: WORKDIR/ENV/COPY/RUN into `root`, the rest recorded. */
async function replay(stage: Stage, root: string, stages: Map<string, Replayed>): Promise<Replayed> {
  const state: Replayed = { root, workdir: root, env: {}, exposed: [], copied: [], ran: [] };
  let workdir = root;
  const inRoot = (path: string, base: string) => (isAbsolute(path) ? join(root, path) : resolve(base, path));
  for (const { op, args } of stage.instructions) {
    switch (op) {
      case "WORKDIR":
        workdir = inRoot(args, workdir);
        mkdirSync(workdir, { recursive: true });
        (state as { workdir: string }).workdir = workdir;
        break;
      case "ENV": {
        for (const [, key, value] of args.matchAll(/(\w+)=(\S+)/g)) state.env[key!] = value!;
        break;
      }
      case "COPY": {
        const words = args.split(/\s+/);
        const from = words[0]!.startsWith("--from=") ? words.shift()!.slice("--from=".length) : undefined;
        const dest = words.pop()!;
        const sourceRoot = from === undefined ? context : stages.get(from)?.root;
        if (!sourceRoot) throw new Error(`COPY --from=${from}: no such stage`);
        const target = inRoot(dest, workdir);
        for (const source of words) {
          const path = from === undefined ? resolve(context, source) : join(sourceRoot, source);
          if (!existsSync(path)) throw new Error(`COPY ${from ? `--from=${from} ` : ""}${source}: missing (${path})`);
          const into = dest.endsWith("/") || words.length > 1 ? join(target, basename(path)) : target;
          mkdirSync(dirname(into), { recursive: true });
          cpSync(path, into, { recursive: true, dereference: false });
          state.copied.push(`${from ? `${from}:` : ""}${source} → ${dest}`);
        }
        break;
      }
      case "RUN":
        // The machine's npm cache stands in for the registry (same command, no network needed when it is warm).
        await runShell(args, workdir, {
          ...kbtFreeEnv(),
          ...state.env,
          npm_config_prefer_offline: "true",
          npm_config_update_notifier: "false",
        });
        state.ran.push(args);
        break;
      case "USER":
        state.user = args;
        break;
      case "EXPOSE":
        state.exposed.push(...args.split(/\s+/).map(Number));
        break;
      case "ENTRYPOINT":
        state.entrypoint = commandOf(args);
        break;
      case "CMD":
        state.cmd = commandOf(args);
        break;
      case "HEALTHCHECK": {
        const cmd = /\bCMD\s+(.*)$/.exec(args);
        if (!cmd) throw new Error(`HEALTHCHECK without CMD: ${args}`);
        state.healthcheck = commandOf(cmd[1]!);
        break;
      }
      default:
        throw new Error(`Dockerfile: instruction ${op} is not replayed by this test: teach it`);
    }
  }
  return state;
}

function bytesIn(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, name) => n + bytesIn(join(path, name)), 0);
}

function filesIn(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return 1;
  return readdirSync(path).reduce((n, name) => n + filesIn(join(path, name)), 0);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

const s = suite("service: Dockerfile", { timeoutMs: 300_000 });
let scratch = "";
let stages: Stage[] = [];
let runtime: Replayed;
/** The image's Node (24 LTS, from scripts/node.sh 24) for the launchers, or this Node when unavailable. */
let imageEnv: NodeJS.ProcessEnv = {};

async function node24Env(): Promise<NodeJS.ProcessEnv> {
  const result = await runCommand("bash", [join(context, "scripts/node.sh"), "24"], kbtFreeEnv(), 120_000);
  const bin = result.stdout.trim().split("\n").at(-1) ?? "";
  if (result.code !== 0 || !existsSync(join(bin, "node"))) {
    console.log(
      `  Node 24 unavailable (${result.stderr.trim().split("\n").at(-1) ?? "no output"}): the image runs on ${process.version}`,
    );
    return {};
  }
  return { KBT_NODE: join(bin, "node"), PATH: `${bin}:${process.env.PATH ?? ""}` };
}

s.before(async () => {
  scratch = mkdtempSync(join(tmpdir(), "kbt-docker-"));
  stages = parseDockerfile(readFileSync(join(context, "Dockerfile"), "utf8"));
  const done = new Map<string, Replayed>();
  for (const stage of stages) {
    const root = join(scratch, stage.name);
    mkdirSync(root);
    done.set(stage.name, await replay(stage, root, done));
  }
  runtime = done.get(stages.at(-1)!.name)!;
  imageEnv = { ...runtime.env, ...(await node24Env()) };
});

s.after(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** An absolute path of the image, in the replayed runtime root. */
function inImage(path: string): string {
  return isAbsolute(path) ? join(runtime.root, path) : path;
}

s.test(
  "stages: multi-stage on Node 24 LTS, npm ci + tsc in the build, npm ci --omit=dev in the runtime, non-root",
  () => {
    assert.is(stages.length, 2);
    for (const stage of stages) assert.match(stage.base, /^node:24(-|$|@)/, `${stage.name} base`);
    const [build, run] = stages;
    const buildRuns = build!.instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    assert.ok(
      buildRuns.some((r) => /^npm ci\b/.test(r)),
      "build: npm ci",
    );
    assert.ok(
      buildRuns.some((r) => /\btsc\b/.test(r)),
      "build: tsc",
    );
    assert.ok(
      runtime.ran.some((r) => /^npm ci\b.*--omit=dev/.test(r)),
      "runtime: npm ci --omit=dev",
    );
    assert.ok(
      run!.instructions.some(
        (i) => i.op === "COPY" && i.args.startsWith(`--from=${build!.name} `) && /\/dist\b/.test(i.args),
      ),
      "runtime: dist from the build",
    );
    assert.ok(runtime.user && !/^(root|0)(:|$)/.test(runtime.user), `USER ${runtime.user}`);
    assert.match(runtime.user!, /^\d+(:\d+)?$/, "numeric USER (Kubernetes runAsNonRoot can check it)");
    assert.equal(
      [...runtime.exposed].sort((a, b) => a - b),
      [8080, 8097, 50000],
    );
    assert.equal(runtime.entrypoint, ["/app/bin/kafka-beam-ts"]);
    assert.equal(runtime.cmd, ["serve", "--host", "0.0.0.0"]);
    assert.equal(runtime.healthcheck, ["/app/bin/kafka-beam-ts", "healthcheck"]);
    const ignore = readFileSync(join(context, ".dockerignore"), "utf8");
    for (const name of ["node_modules", "dist", ".git"])
      assert.match(ignore, new RegExp(`^${name.replace(".", "\\.")}$`, "m"), `.dockerignore ${name}`);
  },
);

s.test("runtime layout: production dependencies, compiled src/ and service/, launchers; no tests or dev tools", () => {
  const app = runtime.workdir;
  assert.is(app, join(runtime.root, "app"));
  const manifest = JSON.parse(readFileSync(join(context, "package.json"), "utf8")) as {
    dependencies: object;
    devDependencies: object;
  };
  for (const dependency of Object.keys(manifest.dependencies))
    assert.ok(existsSync(join(app, "node_modules", dependency)), dependency);
  // Dev-only packages (the lockfile marks them `dev`) stay out; a dev dependency a runtime one needs (protobufjs
  // depends on @types/node) is installed by npm ci --omit=dev all the same.
  const lock = JSON.parse(readFileSync(join(context, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const devOnly = Object.keys(manifest.devDependencies).filter(
    (name) => lock.packages[`node_modules/${name}`]?.dev === true,
  );
  assert.ok(devOnly.includes("typescript") && devOnly.includes("uvu"), `dev-only: ${devOnly.join(", ")}`);
  for (const dev of devOnly) assert.not.ok(existsSync(join(app, "node_modules", dev)), `no ${dev}`);
  const devPackages = Object.entries(lock.packages).filter(
    ([path, p]) => path.startsWith("node_modules/") && p.dev === true,
  ).length;
  const installed = Object.keys(lock.packages).filter(
    (path) => path.startsWith("node_modules/") && existsSync(join(app, path)),
  );
  assert.ok(
    installed.every((path) => lock.packages[path]!.dev !== true),
    `no dev-only package of the ${devPackages} in the lockfile`,
  );
  assert.equal(readdirSync(join(app, "dist")).sort(), ["service", "src"]);
  for (const launcher of ["kafka-beam-ts", "kafka-beam-ts-worker"])
    accessSync(join(app, "bin", launcher), constants.X_OK);
  const sizes = {
    node_modules: bytesIn(join(app, "node_modules")),
    dist: bytesIn(join(app, "dist")),
    bin: bytesIn(join(app, "bin")),
    package: bytesIn(join(app, "package.json")) + bytesIn(join(app, "package-lock.json")),
  };
  const total = Object.values(sizes).reduce((a, b) => a + b, 0);
  const jsOnly =
    bytesIn(join(app, "dist")) -
    [...walk(join(app, "dist"))].filter((f) => f.endsWith(".map")).reduce((n, f) => n + statSync(f).size, 0);
  console.log(
    `  runtime stage adds ${mb(total)} in ${filesIn(app)} files on top of the node:24-slim base: ` +
      `node_modules ${mb(sizes.node_modules)}, dist ${mb(sizes.dist)} (${mb(jsOnly)} without source maps), ` +
      `bin ${sizes.bin} B, package files ${(sizes.package / 1024).toFixed(0)} KiB`,
  );
  assert.ok(total < 64 * 1024 * 1024, `runtime stage stays small (${mb(total)})`);
});

function* walk(path: string): Generator<string> {
  for (const name of readdirSync(path)) {
    const full = join(path, name);
    if (statSync(full).isDirectory()) yield* walk(full);
    else yield full;
  }
}

s.test(
  "ENTRYPOINT + CMD serve from the replayed image: /healthz, /transforms, the worker launcher; HEALTHCHECK passes",
  async () => {
    const command = [...runtime.entrypoint!.map(inImage), ...runtime.cmd!];
    let service: ServeProcess | undefined;
    try {
      service = await startServeProcess([], { command, env: kbtFreeEnv(imageEnv) });
      assert.match(service.http, /^0\.0\.0\.0:\d+$/, "CMD binds every interface");
      if (imageEnv.KBT_NODE) assert.match(String(service.serving.node), /^24\./, "runs on Node 24 like the image");
      const health = await service.get("/healthz");
      assert.is(health.status, 200);
      assert.is((await service.get("/readyz")).status, 200);
      const transforms = JSON.parse((await service.get("/transforms")).body) as {
        transforms: unknown[];
        version: string;
      };
      assert.is(transforms.transforms.length, new TransformRegistry(kafkaTransformDefinitions()).urns.length);
      assert.is(
        transforms.version,
        (JSON.parse(readFileSync(join(context, "package.json"), "utf8")) as { version: string }).version,
      );
      const port = service.http.split(":")[1]!;
      const healthcheck = runtime.healthcheck!.map(inImage);
      const healthy = await runCommand(
        healthcheck[0]!,
        healthcheck.slice(1),
        kbtFreeEnv({ ...imageEnv, KBT_HTTP_PORT: port }),
      );
      assert.is(healthy.code, 0, healthy.stderr);
      service.signal("SIGTERM");
      assert.is(await service.exited, 0, service.output());
      const unhealthy = await runCommand(
        healthcheck[0]!,
        healthcheck.slice(1),
        kbtFreeEnv({ ...imageEnv, KBT_HTTP_PORT: port, KBT_HEALTHCHECK_TIMEOUT_MS: "2000" }),
      );
      assert.is(unhealthy.code, 1);
      assert.match(unhealthy.stderr, /^kafka-beam-ts healthcheck: http:\/\/127\.0\.0\.1:\d+\/healthz: /);
    } finally {
      await service?.stop();
    }
  },
);

s.test(
  "the image's other commands: worker (a docker environment's boot flags) and demo without a local broker",
  async () => {
    const entry = runtime.entrypoint!.map(inImage);
    const boot = await runCommand(entry[0]!, ["--id=w1"], kbtFreeEnv(imageEnv));
    assert.is(boot.code, 2);
    assert.match(boot.stderr, /^kafka-beam-ts worker: --provision_endpoint or --control_endpoint is required/);
    const demo = await runCommand(entry[0]!, ["demo"], kbtFreeEnv(imageEnv));
    assert.is(demo.code, 1, demo.stderr);
    assert.match(demo.stdout, /this installation has no local broker .*: pass --bootstrap HOST:PORT/);
  },
);

s.run();
