// A sync server of a test's own, for what the shared one cannot show: stopping the server
// entirely (a cold start with no network) and deploying another build on the same address
// (an update). `cargo xtask test` names the server binary in FIELDBOOK_SERVER_BIN, the build
// in FIELDBOOK_DIST and a second build, with a changed stylesheet, in FIELDBOOK_DIST_B.
//
// The port and the data folder stay the same across restarts: the origin is what the service
// worker, IndexedDB and the session cookie belong to.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BrowserContext, chromium, Page } from '@playwright/test';
import chromiumLaunch from './chromium.cjs';
import { Login } from './fixtures';

export function env(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the end-to-end tests with \`cargo xtask test\``);
  }
  return value;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `fieldbook-${prefix}-`));
}

export function removeDir(dir: string) {
  rmSync(dir, { recursive: true, force: true });
}

/// A port nobody listens on right now.
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

export class OwnServer {
  private constructor(
    private child: ChildProcess,
    readonly url: string,
    private demo: Map<string, Login>,
  ) {}

  /// `fieldbook-server serve --demo` on `port`, with its data in `dataDir`, serving `dist`.
  /// The demo team is seeded on the first start; its one-time passwords are read from the
  /// output then (later starts print nothing new, so pass the logins of the first one on).
  static async start(options: {
    port: number;
    dataDir: string;
    dist: string;
    logins?: Map<string, Login>;
  }): Promise<OwnServer> {
    const child = spawn(
      env('FIELDBOOK_SERVER_BIN'),
      [
        'serve',
        '--demo',
        '--port',
        String(options.port),
        '--data-dir',
        options.dataDir,
        '--dist',
        options.dist,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const demo = new Map(options.logins ?? []);
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(/Demo login: (\S+) password: (\S+) role: (\S+)/g)) {
        // Output is matched whole on every chunk: a login read before (whose password may
        // have been chosen since) stays as it is.
        if (!demo.has(m[1])) demo.set(m[1], { login: m[1], password: m[2], role: m[3] });
      }
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const url = `http://127.0.0.1:${options.port}`;
    const server = new OwnServer(child, url, demo);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) {
        throw new Error(`the server exited with ${child.exitCode}:\n${output}`);
      }
      try {
        const health = await fetch(`${url}/api/health`);
        if (health.ok) break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`the server did not answer within 30 s:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // The demo accounts start with one-time passwords that open nothing but the password
    // change: each new one chooses its own, as a person does on the first sign-in.
    for (const [name, login] of demo) {
      if (!options.logins?.has(name)) {
        demo.set(name, await choosePassword(url, login));
      }
    }
    return server;
  }

  login(name: string): Login {
    const found = this.demo.get(name);
    if (!found) throw new Error(`no demo login ${name}`);
    return found;
  }

  get logins(): Map<string, Login> {
    return this.demo;
  }

  /// Stops the process and waits until it is gone, so the port is free and nothing answers.
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timeout = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timeout);
  }
}

/// Signs in with a one-time password and chooses a new one through the API; returns the
/// login with the new password.
export async function choosePassword(url: string, login: Login): Promise<Login> {
  const signIn = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: login.login, password: login.password }),
  });
  if (!signIn.ok) throw new Error(`signing in as ${login.login}: ${signIn.status}`);
  const cookie = signIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const chosen = `${login.password} chosen`;
  const change = await fetch(`${url}/api/password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ current_password: login.password, new_password: chosen }),
  });
  if (!change.ok) throw new Error(`choosing a password for ${login.login}: ${change.status}`);
  return { ...login, password: chosen };
}

/// A browser with a profile on disk: what a phone keeps between launches (the service worker,
/// its caches, IndexedDB, cookies). Closing it ends the browser; launching it again on the same
/// folder is a cold start.
export async function launchProfile(profileDir: string, baseURL: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profileDir, {
    ...chromiumLaunch,
    baseURL,
    locale: 'en-US',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 390, height: 844 },
  });
}

/// A phone (a browser profile on disk) and a sync server of the test's own on a fixed
/// address, which the test can switch off, stop, and redeploy with another build.
export class Field {
  phone: BrowserContext | undefined;
  private extraDirs: string[] = [];

  private constructor(
    public server: OwnServer,
    private port: number,
    private dataDir: string,
    private profileDir: string,
  ) {}

  static async start(dist: string): Promise<Field> {
    const port = await freePort();
    const dataDir = tempDir('data');
    const server = await OwnServer.start({ port, dataDir, dist });
    return new Field(server, port, dataDir, tempDir('profile'));
  }

  /// Starts the phone's browser (again: a cold start) and returns its page.
  async launch(): Promise<Page> {
    await this.closePhone();
    this.phone = await launchProfile(this.profileDir, this.server.url);
    return this.phone.pages()[0] ?? (await this.phone.newPage());
  }

  async closePhone() {
    await this.phone?.close();
    this.phone = undefined;
  }

  /// Stops the server and starts it again on the same address and data with `dist`.
  async deploy(dist: string) {
    await this.server.stop();
    this.server = await OwnServer.start({
      port: this.port,
      dataDir: this.dataDir,
      dist,
      logins: this.server.logins,
    });
  }

  /// A folder removed with everything else at the end.
  tempDir(prefix: string): string {
    const dir = tempDir(prefix);
    this.extraDirs.push(dir);
    return dir;
  }

  async dispose() {
    await this.closePhone();
    await this.server.stop();
    for (const dir of [this.dataDir, this.profileDir, ...this.extraDirs]) removeDir(dir);
  }
}
