// Builds chicrime/app/static/plotly.min.js: plotly.js (from npm, the version package.json
// pins) with only the trace types the dashboard draws. Dash's own plotly.min.js registers every
// trace type plotly.js has (4.8 MB); a browser compiles and runs all of it before the first
// chart, which made up most of a first visit. `make` runs this (npm run build:plotly).
import { readFileSync, writeFileSync } from "node:fs";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import InlineCSSPlugin from "esbuild-plugin-inline-css";

const OUT = "chicrime/app/static/plotly.min.js";

// Every trace type chicrime/app/figures.py uses; tests/test_browser.py checks the served
// bundle registers exactly these.
const TRACES = ["bar", "heatmap", "scattermap", "choroplethmap"]; // scatter is in the core

const entry = [
  'var Plotly = require("plotly.js/lib/core");',
  `Plotly.register([${TRACES.map((t) => `require("plotly.js/lib/${t}")`).join(", ")}]);`,
  "module.exports = Plotly;",
].join("\n");

// The options plotly.js's own bundles are built with (its esbuild-config.js), minified.
await esbuild.build({
  stdin: { contents: entry, resolveDir: process.cwd(), sourcefile: "plotly-chicrime.js" },
  outfile: OUT,
  bundle: true,
  minify: true,
  format: "iife",
  globalName: "Plotly",
  target: "es2016",
  legalComments: "eof",
  banner: { js: `/* plotly.js (MIT), traces: scatter ${TRACES.join(" ")}; built for chicrime */` },
  plugins: [InlineCSSPlugin()],
  alias: { stream: "stream-browserify" },
  define: { global: "window", "define.amd": "false" },
  logLevel: "warning",
});

// Compressed once here, at the strongest settings, so no server compresses 3 MB per visit
// (brotli at flask-compress's level took ~90 ms of a worker's time per first visit).
const bundle = readFileSync(OUT);
const brotli = { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bundle.length };
writeFileSync(`${OUT}.br`, brotliCompressSync(bundle, { params: brotli }));
writeFileSync(`${OUT}.gz`, gzipSync(bundle, { level: 9 }));
