import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * Docker cannot run here: the compose file is checked by Compose itself (`config` resolves and
 * validates it without a daemon), the Dockerfile by its shape.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

const ENV = {
  SOURCE_DATABASE_NAME: 'pacs',
  SOURCE_DATABASE_USER: 'reader',
  SOURCE_DATABASE_PASS: 'pacs-pass',
  SOURCE_DATABASE_HOST: 'pacs-db.internal',
  STATE_DB_PASSWORD: 'state-pass',
  STATE_DATABASE_URL: 'postgres://eden:state-pass@postgres:5432/eden_state',
  GCS_BUCKET_NAME: 'eden-datasets',
  DASHBOARD_PASSWORD: 'dash-pass',
  WORKER_REPLICAS: '3',
};

function compose(args: string[], env: Record<string, string>) {
  return run('docker-compose', ['-f', 'docker-compose.yml', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
  });
}

describe('docker-compose.yml', () => {
  it('passes `docker-compose config` with the variables of .env', async () => {
    const { stdout, stderr } = await compose(['config', '-q'], ENV);
    expect(stdout).toBe('');
    expect(stderr).not.toMatch(/error/i);
  });

  it('runs redis with an append-only file, postgres on a volume, N workers and the dashboard', async () => {
    const { stdout } = await compose(['config'], ENV);
    expect(stdout).toMatch(
      /redis:\n(.*\n)*?\s+command:\n\s+- redis-server\n\s+- --appendonly\n\s+- "yes"/,
    );
    expect(stdout).toContain('state-data:/var/lib/postgresql/data');
    expect(stdout).toMatch(/worker:\n(.*\n)*?\s+command:\n\s+- worker\n/);
    expect(stdout).toMatch(/deploy:\n\s+replicas: 3/);
    expect(stdout).toMatch(
      /dashboard:\n(.*\n)*?\s+command:\n\s+- dashboard\n\s+- --host\n\s+- 0\.0\.0\.0\n\s+- --port\n\s+- '3000'/,
    );
    expect(stdout).toContain('REDIS_URL: redis://redis:6379/0');
    expect(stdout).toContain(
      'STATE_DATABASE_URL: postgres://eden:state-pass@postgres:5432/eden_state',
    );
    expect(stdout).toMatch(/published: 3000\n\s+target: 3000/);
  });

  it('refuses to start the dashboard without a password, naming the variable', async () => {
    const withoutPassword: Record<string, string> = { ...ENV };
    delete withoutPassword.DASHBOARD_PASSWORD;
    const failure = (await compose(['config', '-q'], withoutPassword).then(
      () => null,
      (error: unknown) => error,
    )) as { code?: number; stderr?: string } | null;
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toContain('DASHBOARD_PASSWORD');
  });
});

describe('Dockerfile', () => {
  it('builds on node:20-slim in two stages and runs as a user other than root', async () => {
    const text = await readFile(`${ROOT}/Dockerfile`, 'utf8');
    const instructions = text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
    const froms = instructions.filter((line) => line.startsWith('FROM '));
    expect(froms).toEqual(['FROM node:20-slim AS build', 'FROM node:20-slim']);
    expect(text).toContain('npm ci');
    expect(text).toContain('npm run build');
    expect(text).toContain('npm prune --omit=dev');
    const users = instructions.filter((line) => line.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|\s|$)/);
    expect(instructions.join('\n')).not.toMatch(/java|jdk|gsutil|google-cloud-sdk/i);
  });
});
