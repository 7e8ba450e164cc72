#!/usr/bin/env node
// Starts s3rver for smrun's s3 tests (tests/s3/support/s3_server.cpp).
//
//   node serve.js '{"directory": DIR, "address": "127.0.0.1", "port": 0, "buckets": ["b"],
//                   "key": KEY_PEM_PATH, "cert": CERT_PEM_PATH}'
//
// s3rver's own request log goes to stdout/stderr (the fixture sends both to a log file). Once the
// server accepts connections, one JSON line {"address": ..., "port": N} is written to fd 3 and fd 3
// is closed, so the fixture learns the port the kernel chose for port 0 without polling. On a
// start-up error the process exits 1 with the error on stderr (fd 3 closes without a line).
'use strict';

const fs = require('fs');
const path = require('path');
const S3rver = require(path.join(__dirname, 'node_modules', 's3rver'));

async function main() {
  const config = JSON.parse(process.argv[2] || '{}');
  const options = {
    directory: config.directory,
    address: config.address || '127.0.0.1',
    port: config.port === undefined ? 0 : config.port,
    silent: Boolean(config.silent),
    configureBuckets: (config.buckets || []).map(name => ({ name, configs: [] })),
  };
  if (config.key) options.key = fs.readFileSync(config.key);
  if (config.cert) options.cert = fs.readFileSync(config.cert);
  if (!options.directory) throw new Error('serve.js: "directory" is required');
  fs.mkdirSync(options.directory, { recursive: true });

  const server = new S3rver(options);
  const { address, port } = await server.run();
  console.log('S3rver listening on %s:%d (%s)', address, port, options.key ? 'https' : 'http');
  fs.writeSync(3, JSON.stringify({ address, port }) + '\n');
  fs.closeSync(3);
  // SIGTERM from the fixture ends the process (node's default action): nothing to flush.
}

main().catch(err => {
  console.error('serve.js: s3rver did not start:', err && err.stack ? err.stack : err);
  process.exit(1);
});
