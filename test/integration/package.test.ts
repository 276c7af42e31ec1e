// The package as its users install it: `npm pack` ships only what runs (no tests, benches or source maps), an empty
// project installs the tarball, type-checks a program with `tsc --strict` against the package's own declarations,
// and runs the README's TypeScript example, as written, against the test broker. Internals are not importable.
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";
import {
  brokerBootstrap,
  createTopic,
  readTopicByOffset,
  releaseBroker,
  testKafka,
  uniqueTopic,
} from "../infra/fixtures.js";

const s = suite("the npm package, installed into an empty project", { timeoutMs: 300_000 });
const run = promisify(execFile);
const root = repoRoot();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  devDependencies: Record<string, string>;
  exports: Record<string, unknown>;
};
let scratch = "";
let project = "";
let tarball = "";
let bootstrap = "";

/** The README's TypeScript example, the first ```ts block under "Use it from TypeScript". */
function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Use it from TypeScript"));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md: no ```ts block under "Use it from TypeScript"');
  return match[1]!;
}

s.before(async () => {
  bootstrap = await brokerBootstrap();
  scratch = mkdtempSync(join(tmpdir(), "kbt-package-"));
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", scratch], {
    cwd: root,
    maxBuffer: 16 << 20,
  });
  tarball = join(scratch, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
  project = join(scratch, "consumer");
  await run("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        types: ["node"],
        outDir: "out",
        skipLibCheck: false,
      },
      include: ["*.ts"],
    }),
  );
  // The package from its tarball; the compiler and Node's types at the versions this repository builds with.
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      tarball,
      `typescript@${pkg.devDependencies.typescript}`,
      `@types/node@${pkg.devDependencies["@types/node"]}`,
    ],
    { cwd: project, maxBuffer: 16 << 20 },
  );
});

s.after(async () => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  await releaseBroker();
});

s.test(
  "npm pack ships the compiled library, its declarations, the CLI and the launchers; no tests, benches or maps",
  async () => {
    const { stdout } = await run("tar", ["-tzf", tarball]);
    const files = stdout
      .trim()
      .split("\n")
      .map((f) => f.replace(/^package\//, ""));
    for (const needed of [
      "package.json",
      "README.md",
      "bin/kafka-beam-ts",
      "bin/kafka-beam-ts-worker",
      "dist/src/index.js",
      "dist/src/index.d.ts",
      "dist/src/kafka/index.d.ts",
      "dist/service/cli.js",
    ]) {
      assert.ok(files.includes(needed), `${needed} is in the package`);
    }
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|scratch|scripts|src|service|proto)\//.test(f) ||
        f.startsWith("dist/test/") ||
        f.startsWith("dist/bench/") ||
        f.endsWith(".map") ||
        (f.endsWith(".ts") && !f.endsWith(".d.ts")),
    );
    assert.equal(unwanted, [], "nothing but what runs");
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (entry === "./package.json") continue;
      const { types, default: js } = target as { types: string; default: string };
      assert.ok(
        files.includes(types.slice(2)) && files.includes(js.slice(2)),
        `${entry}: ${types} and ${js} are in the package`,
      );
    }
  },
);

s.test(
  "the README's TypeScript example type-checks with tsc --strict against the installed package and runs against Kafka",
  async () => {
    const input = uniqueTopic("pkg-events");
    const output = uniqueTopic("pkg-events-upper");
    const example = readmeExample();
    assert.match(example, /from "kafka-beam-ts";/, "the README imports the package by its name");
    writeFileSync(
      join(project, "example.ts"),
      example
        .replaceAll("localhost:9092", bootstrap)
        .replaceAll('"events-upper"', JSON.stringify(output))
        .replaceAll('"events"', JSON.stringify(input)),
    );
    await run(join(project, "node_modules/.bin/tsc"), ["-p", project], { cwd: project }).catch(
      (err: { stdout?: string }) => {
        throw new Error(`tsc --strict failed on the README example:\n${err.stdout ?? String(err)}`);
      },
    );

    await createTopic(bootstrap, input, 3);
    const producer = testKafka(bootstrap).producer();
    await producer.connect();
    for (let i = 0; i < 10_000; i += 2_500) {
      await producer.send({
        topic: input,
        acks: -1,
        messages: Array.from({ length: 2_500 }, (_, j) => ({ key: `k${i + j}`, value: `v${i + j}` })),
      });
    }
    await producer.disconnect();
    const { stdout } = await run(process.execPath, [join(project, "out/example.js")], {
      cwd: project,
      timeout: 120_000,
    });
    assert.is(stdout.trim(), "DONE");
    const written = [...(await readTopicByOffset(bootstrap, output)).values()].flat();
    assert.equal(
      written.map((r) => `${r.key}=${r.value}`).sort(),
      Array.from({ length: 10_000 }, (_, i) => `k${i}=V${i}`).sort(),
    );
  },
);

s.test("every entry resolves with types; internals and dist paths are not importable; the CLI runs", async () => {
  const entries = Object.keys(pkg.exports)
    .filter((e) => e !== "./package.json")
    .map((e) => `kafka-beam-ts${e.slice(1)}`);
  writeFileSync(
    join(project, "entries.ts"),
    `${entries.map((e, i) => `import * as entry${i} from "${e}";\nvoid entry${i};`).join("\n")}\n`,
  );
  await run(join(project, "node_modules/.bin/tsc"), ["-p", project], { cwd: project }).catch(
    (err: { stdout?: string }) => {
      throw new Error(`tsc failed on the package's entries:\n${err.stdout ?? String(err)}`);
    },
  );
  const loaded = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `${entries.map((e, i) => `import * as e${i} from "${e}";`).join("")} console.log([${entries.map((_, i) => `Object.keys(e${i}).length`).join(",")}].join(" "));`,
    ],
    { cwd: project },
  );
  for (const count of loaded.stdout.trim().split(" "))
    assert.ok(Number(count) > 0, `every entry exports something: ${loaded.stdout}`);
  for (const internal of [
    "kafka-beam-ts/dist/src/kafka/index.js",
    "kafka-beam-ts/src/kafka/client/kafkajs-internals.js",
  ]) {
    const failure = await run(process.execPath, ["--input-type=module", "-e", `await import("${internal}")`], {
      cwd: project,
    }).then(
      () => "",
      (err: { stderr?: string }) => err.stderr ?? "",
    );
    assert.match(failure, /ERR_PACKAGE_PATH_NOT_EXPORTED/, `${internal} is not importable`);
  }
  const version = await run(join(project, "node_modules/.bin/kafka-beam-ts"), ["--version"], { cwd: project });
  assert.is(version.stdout.trim(), pkg.version);
});

s.run();
