// Builds the desk: esbuild bundles src/main.jsx into <outdir>/assets/[name]-[hash].{js,css}
// (ESM, code splitting, minified) and this script writes <outdir>/index.html referencing them.
// Every stylesheet is linked from index.html. No inline script, so a strict `Content-Security-Policy: script-src 'self'` works.
//
//   node build.mjs                 → dist/
//   node build.mjs --outdir DIR    → DIR/
//
// Prints every file written with its size and gzip size.

import { build } from "esbuild";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));

function outdirFromArgs(argv) {
  const i = argv.indexOf("--outdir");
  if (i >= 0 && argv[i + 1]) return path.resolve(argv[i + 1]);
  const inline = argv.find((a) => a.startsWith("--outdir="));
  return path.resolve(inline ? inline.slice("--outdir=".length) : path.join(here, "dist"));
}

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#14233c"/><path d="M9 8v16h14" stroke="#fff" stroke-width="4" fill="none"/></svg>
`;

function indexHtml({ script, styles, preloads }) {
  // The chunks the entry imports statically are announced up front, so the browser fetches
  // them with the entry instead of one round trip after it.
  const links = [
    ...styles.map((href) => `  <link rel="stylesheet" href="/${href}">`),
    ...preloads.map((href) => `  <link rel="modulepreload" href="/${href}">`),
  ].join("\n");
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="color-scheme" content="light">
  <title>Lead desk · lms</title>
  <link rel="icon" href="/favicon.svg" type="image/svg+xml">
${links}
  <script type="module" src="/${script}"></script>
</head>
<body>
  <div id="app"><noscript>The lead desk needs JavaScript.</noscript></div>
</body>
</html>
`;
}

async function main() {
  const outdir = outdirFromArgs(process.argv.slice(2));
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });

  const result = await build({
    absWorkingDir: here,
    entryPoints: ["src/main.jsx"],
    outdir: path.join(outdir, "assets"),
    entryNames: "[name]-[hash]",
    chunkNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    bundle: true,
    format: "esm",
    splitting: true,
    minify: true,
    sourcemap: false,
    target: "es2020",
    jsx: "automatic",
    jsxImportSource: "preact",
    define: { "process.env.NODE_ENV": '"production"' },
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  });

  const outputs = Object.entries(result.metafile.outputs);
  const [entryFile, entry] = outputs.find(([, o]) => o.entryPoint === "src/main.jsx");
  const relative = (file) => path.relative(outdir, path.resolve(here, file)).split(path.sep).join("/");
  // esbuild does not load the CSS of lazy chunks by itself: index.html links every stylesheet,
  // the entry's first (pages' CSS is small; their scripts still load only when needed).
  const cssFiles = outputs.map(([file]) => file).filter((file) => file.endsWith(".css"));
  const ordered = entry.cssBundle ? [entry.cssBundle, ...cssFiles.filter((f) => f !== entry.cssBundle)] : cssFiles;
  // Pages sharing one stylesheet get a copy each in their chunk's CSS: link identical ones once.
  const seenCss = new Set();
  const styles = ordered.map(relative).filter((file) => {
    const text = readFileSync(path.join(outdir, file), "utf8");
    if (seenCss.has(text)) return false;
    seenCss.add(text);
    return true;
  });
  // The entry and the chunks it imports statically load at once; dynamic imports load later.
  const firstLoad = new Set(["index.html", ...styles]);
  const visit = (file) => {
    if (firstLoad.has(relative(file))) return;
    firstLoad.add(relative(file));
    for (const imp of result.metafile.outputs[file].imports) if (imp.kind === "import-statement") visit(imp.path);
  };
  visit(entryFile);
  const preloads = [...firstLoad].filter((file) => file.endsWith(".js") && file !== relative(entryFile));
  writeFileSync(path.join(outdir, "index.html"), indexHtml({ script: relative(entryFile), styles, preloads }));
  writeFileSync(path.join(outdir, "favicon.svg"), FAVICON);
  const rows = ["index.html", "favicon.svg", ...outputs.map(([file]) => relative(file))].sort();
  let firstLoadGzip = 0;
  for (const file of rows) {
    const bytes = readFileSync(path.join(outdir, file));
    const gz = gzipSync(bytes, { level: 9 }).length;
    if (firstLoad.has(file)) firstLoadGzip += gz;
    const mark = firstLoad.has(file) ? "  (first load)" : "";
    console.log(`${String(bytes.length).padStart(9)} B  ${String(gz).padStart(8)} B gzip  ${file}${mark}`);
  }
  console.log(`first load: ${firstLoadGzip} B gzip (index.html, the entry script and what it imports, its CSS)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
