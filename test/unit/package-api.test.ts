// The package's public faces (package.json `exports`): every entry is an index that only re-exports, and every
// symbol it exports carries TSDoc, so users read documentation in their editor. Read with the TypeScript compiler.
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { suite } from "../harness.js";
import { repoRoot } from "../infra/paths.js";

const s = suite("package API", { timeoutMs: 60_000 });
const root = repoRoot();
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, string | { default: string }>;
};

/** The source file behind each export entry: ./dist/src/x/index.js → src/x/index.ts. */
const entries = Object.entries(pkg.exports)
  .filter(([name]) => name !== "./package.json")
  .map(([name, target]) => {
    const js = typeof target === "string" ? target : target.default;
    return { name, source: join(root, js.replace(/^\.\/dist\//, "").replace(/\.js$/, ".ts")) };
  });

s.test("every entry is an index of re-exports (code lives in named modules)", () => {
  for (const { name, source } of entries) {
    assert.ok(source.endsWith("index.ts"), `${name}: ${source} is an index`);
    const file = ts.createSourceFile(source, readFileSync(source, "utf8"), ts.ScriptTarget.ES2022, true);
    const declarations = file.statements.filter((st) => !ts.isExportDeclaration(st) && !ts.isImportDeclaration(st));
    // The Kafka layer's index also defines the worker's DoFn table and the close-everything call; nothing else may.
    const allowed = name === "./kafka" ? ["kafkaDoFnFactories", "closeAllClients"] : [];
    const names = declarations.map((d) =>
      ts.isVariableStatement(d)
        ? d.declarationList.declarations.map((v) => v.name.getText()).join()
        : ts.isFunctionDeclaration(d)
          ? (d.name?.getText() ?? "?")
          : ts.SyntaxKind[d.kind],
    );
    assert.equal(
      names.filter((n) => !allowed.includes(n)),
      [],
      `${name} declares only re-exports`,
    );
  }
});

s.test("every exported symbol of every entry has TSDoc", () => {
  const program = ts.createProgram(
    entries.map((e) => e.source),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      skipLibCheck: true,
      types: ["node"],
      noEmit: true,
    },
  );
  const checker = program.getTypeChecker();
  const undocumented: string[] = [];
  let count = 0;
  for (const { name, source } of entries) {
    const file = program.getSourceFile(source);
    assert.ok(file, `${source} is in the program`);
    for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(file!)!)) {
      count++;
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim() === "")
        undocumented.push(`${name}: ${exported.name}`);
    }
  }
  assert.ok(count > 150, `${count} exports checked`);
  assert.equal(undocumented, []);
});

s.run();
