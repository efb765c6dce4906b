// Wraps each dashboard JSON file as a typed TypeScript constant, for tsc to check:
//   node wrap-dashboards.mjs OUT_DIR dashboards/a.json dashboards/b.json ...
// writes OUT_DIR/a.ts: `export const dashboard = <the JSON> satisfies ExportedDashboard;`
// importing ExportedDashboard from ../dashboard-types (copy dashboard-types.ts beside OUT_DIR).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

const [outDir, ...files] = process.argv.slice(2);
if (!outDir || files.length === 0) {
  console.error("usage: node wrap-dashboards.mjs OUT_DIR DASHBOARD.json...");
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });
for (const file of files) {
  const text = readFileSync(file, "utf8");
  JSON.parse(text); // a syntax error is reported here, with the file name
  const name = basename(file, ".json").replace(/[^A-Za-z0-9_-]/g, "_");
  const ts =
    `// Generated from ${file} by wrap-dashboards.mjs. Do not edit.\n` +
    `import type { ExportedDashboard } from "../dashboard-types";\n\n` +
    `export const dashboard = ${text.trimEnd()} satisfies ExportedDashboard;\n`;
  writeFileSync(join(outDir, `${name}.ts`), ts);
}
