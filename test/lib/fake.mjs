// fake.mjs - start test/fake-iccam.mjs on a free loopback port for a test file.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fake-iccam.mjs');

// Serve feed directory dir (args: more fake-iccam flags, e.g. ['--token', T]);
// resolves with { proc, port } once it printed "listening <port>".
export function startFake(dir, args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [FAKE, '--dir', dir, '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening (\d+)\n/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]) });
    });
    proc.on('exit', (code) => reject(new Error(`fake-iccam exited ${code}`)));
  });
}
