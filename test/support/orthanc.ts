import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real Orthanc (the PACS web server from Debian's `orthanc` package) run by a test. */
export interface Orthanc {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  user: string;
  password: string;
  /** Stores one DICOM file (`POST /instances`) and returns its Orthanc instance id. */
  upload(bytes: Uint8Array): Promise<string>;
  /** SIGTERM, SIGKILL if it has not exited after a few seconds; removes its directory. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** What `dpkg -L orthanc` prints: the files the Debian package installed. */
const DPKG_LIST = '/var/lib/dpkg/info/orthanc.list';

/** The `Orthanc` binary installed by the Debian package, or an error that says how to get it. */
function orthancBinary(): string {
  const binary = existsSync(DPKG_LIST)
    ? readFileSync(DPKG_LIST, 'utf8')
        .split('\n')
        .find((line) => /\/s?bin\/Orthanc$/.test(line) && existsSync(line))
    : undefined;
  if (binary === undefined) {
    throw new Error(
      'Orthanc is not installed: run `apt-get install -y orthanc` (CI installs it through .ci/run). ' +
        'The test starts its own Orthanc process; the system service is not needed.',
    );
  }
  return binary;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts Orthanc on a free port with a storage and index directory of its own, HTTP Basic auth
 * (user `eden`, a random password), remote access and the DICOM server off, no plugins.
 * Resolves once `GET /system` answers; fails with Orthanc's log if it does not.
 */
export async function startOrthanc(): Promise<Orthanc> {
  const binary = orthancBinary();
  const dir = await mkdtemp(join(tmpdir(), 'eden-orthanc-'));
  const user = 'eden';
  const password = randomBytes(12).toString('base64url');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const config = {
    Name: 'eden-test',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    StorageCompression: false,
    HttpServerEnabled: true,
    HttpPort: port,
    DicomServerEnabled: false,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [user]: password },
    Plugins: [],
    LuaScripts: [],
    SaveJobs: false,
  };
  const configPath = join(dir, 'orthanc.json');
  await writeFile(configPath, JSON.stringify(config, null, 2));

  const child = spawn(binary, [configPath], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
    child.once('error', (error) => {
      log += `\n${String(error)}`;
      exited = true;
      resolve();
    });
  });

  const stop = async (): Promise<void> => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  let ready = false;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!ready && !exited && Date.now() < deadline) {
    try {
      const response = await fetch(`${origin}/system`, { headers: { authorization } });
      ready = response.ok;
      await response.arrayBuffer();
    } catch {
      // Not listening yet: poll again until the deadline.
    }
    if (!ready) await delay(100);
  }
  if (!ready) {
    const why = exited ? 'exited' : `did not answer GET /system within ${START_TIMEOUT_MS} ms`;
    await stop();
    throw new Error(`Orthanc (${binary}) ${why}. Its log:\n${log}`);
  }

  return {
    origin,
    user,
    password,
    async upload(bytes) {
      const response = await fetch(`${origin}/instances`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/dicom' },
        body: bytes,
      });
      const text = await response.text();
      if (!response.ok)
        throw new Error(`Orthanc refused the file: HTTP ${response.status} ${text}`);
      return (JSON.parse(text) as { ID: string }).ID;
    },
    stop,
  };
}
