// Drives the npm `clamscan` package (pinned in package.json next to this script) against a clamd
// socket, the way a Node upload service would, and prints what the package reports as one JSON object.
// Only the socket is used: the package is kept from running a local clamscan/clamdscan binary.
//
//   node clamscan_client.js SOCKET_PATH CORPUS_DIR
//
// Output: {"version": getVersion(),
//          "stream":     {relpath: {"isInfected", "viruses"} | {"error"}}   scanStream(fs.createReadStream(file))
//          "isInfected": {relpath: {"isInfected", "viruses"} | {"error"}}   isInfected(file)
//          "scanDir":    {"goodFiles": [relpath], "badFiles": [relpath], "viruses": [...],
//                         "errors": {relpath: message}} | {"error"}        scanDir(CORPUS_DIR), promise form}
// Every regular file under CORPUS_DIR is scanned, one call at a time. Exits 0 when it ran.
'use strict';

const fs = require('fs');
const path = require('path');
const NodeClam = require(path.join(__dirname, 'node_modules', 'clamscan'));

function usage() {
  process.stderr.write('usage: node clamscan_client.js SOCKET_PATH CORPUS_DIR\n');
  process.exit(2);
}

// Regular files under `dir`, recursively, as paths relative to `root`, sorted.
function regularFiles(root, dir = root) {
  let out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(regularFiles(root, full));
    else if (entry.isFile()) out.push(path.relative(root, full));
  }
  return out.sort();
}

function message(error) {
  if (error instanceof Error) return error.message || String(error);
  return typeof error === 'string' ? error : JSON.stringify(error);
}

function verdict(result) {
  if (result === null || typeof result !== 'object') return { error: `unexpected result: ${JSON.stringify(result)}` };
  return { isInfected: result.isInfected === undefined ? null : result.isInfected, viruses: result.viruses };
}

async function settle(promiseFactory) {
  try {
    return verdict(await promiseFactory());
  } catch (error) {
    return { error: message(error) };
  }
}

async function main() {
  const [socket, corpusArg] = process.argv.slice(2);
  if (!socket || !corpusArg) usage();
  const corpus = path.resolve(corpusArg);
  const relative = (file) => path.relative(corpus, path.resolve(file));

  const clamscan = await new NodeClam().init({
    removeInfected: false,
    quarantineInfected: false,
    debugMode: false,
    scanRecursively: true,
    // Never the local binaries: clamscan inactive, and a clamdscan path that does not exist, so
    // init() cannot execFile `clamdscan --version`, and localFallback stays off.
    clamscan: { active: false },
    clamdscan: {
      socket,
      host: false,
      port: false,
      timeout: 60000,
      localFallback: false,
      path: '/nonexistent/clamdscan',
      multiscan: true,
      active: true,
      bypassTest: false, // init() PINGs the socket
    },
    preference: 'clamdscan',
  });

  const out = { version: null, stream: {}, isInfected: {}, scanDir: null };
  try {
    out.version = await clamscan.getVersion();
  } catch (error) {
    out.version = { error: message(error) };
  }

  const files = regularFiles(corpus);
  for (const file of files) {
    const full = path.join(corpus, file);
    out.stream[file] = await settle(() => clamscan.scanStream(fs.createReadStream(full)));
  }
  for (const file of files) {
    out.isInfected[file] = await settle(() => clamscan.isInfected(path.join(corpus, file)));
  }

  try {
    const { goodFiles, badFiles, viruses, errors } = await clamscan.scanDir(corpus);
    const errorMessages = {};
    for (const [file, error] of Object.entries(errors || {})) errorMessages[relative(file)] = message(error);
    out.scanDir = {
      goodFiles: (goodFiles || []).map(relative).sort(),
      badFiles: (badFiles || []).map(relative).sort(),
      viruses: viruses || [],
      errors: errorMessages,
    };
  } catch (error) {
    out.scanDir = { error: message(error) };
  }

  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`clamscan_client: ${error && error.stack ? error.stack : message(error)}\n`);
    process.exit(1);
  }
);
