/**
 * `npm run gcs-emulator -- --port P --dir D`: the GCS emulator on its own, so a user can try
 * the gs:// path on a laptop (point the client at it with STORAGE_EMULATOR_HOST or apiEndpoint).
 */
import { parseArgs } from 'node:util';
import { startGcsEmulator } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4443' },
    dir: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`gcs-emulator: --port: received ${values.port}; expected 0..65535\n`);
  process.exit(2);
}
const emulator = await startGcsEmulator({
  port,
  host: values.host,
  ...(values.dir === undefined ? {} : { dir: values.dir }),
});
process.stdout.write(
  `GCS emulator listening on ${emulator.url}${values.dir === undefined ? ' (in memory)' : ` (objects in ${values.dir})`}\n` +
    `  export STORAGE_EMULATOR_HOST=${emulator.url}\n`,
);
const stop = () => {
  void emulator.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
