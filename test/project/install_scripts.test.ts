// scripts/install-vulkan.sh takes bookworm-backports from the Debian mirror apt's sources already use (a machine
// behind its own mirror keeps using it) and fails clearly when no source lists bookworm. `--print-mirror` runs only
// that choice, on the fake apt directory FLATGRAD_APT_DIR names: no root, no apt, nothing written.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The script's choice on an apt directory holding these files (paths relative to it). */
function printMirror(files: Readonly<Record<string, string>>): { status: number | null; stdout: string; stderr: string } {
  const apt = mkdtempSync(join(tmpdir(), 'flatgrad-apt-'));
  mkdirSync(join(apt, 'sources.list.d'));
  for (const [path, text] of Object.entries(files)) writeFileSync(join(apt, path), text);
  return spawnSync('bash', ['scripts/install-vulkan.sh', '--print-mirror'], { encoding: 'utf8', env: { ...process.env, FLATGRAD_APT_DIR: apt } });
}

const security = 'Types: deb\nURIs: http://mirror.example.internal/debian-security\nSuites: bookworm-security\nComponents: main\n';

describe('scripts/install-vulkan.sh: the Debian mirror for bookworm-backports', () => {
  it('is the one a deb822 source lists bookworm from, with its keyring (not the security archive)', () => {
    const run = printMirror({
      'sources.list.d/debian.sources': `${security}\nTypes: deb\n# URIs: http://elsewhere.example.internal/debian\nURIs: http://mirror.example.internal/debian\n` +
        'Suites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/corp-debian.gpg\n',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('http://mirror.example.internal/debian /usr/share/keyrings/corp-debian.gpg\n');
    expect(run.status).toBe(0);
  });

  it('is the one a one-line sources.list gives, its signed-by option read; commented and disabled entries are not', () => {
    const run = printMirror({
      'sources.list': '# deb http://old.example.internal/debian bookworm main\ndeb [arch=amd64 signed-by=/etc/apt/keyrings/corp.gpg] https://apt.example.internal/debian bookworm main contrib\n',
      'sources.list.d/a.sources': 'Types: deb\nURIs: http://off.example.internal/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n',
      'sources.list.d/0.list.disabled': 'deb http://disabled.example.internal/debian bookworm main\n',
    });
    expect(run.stdout).toBe('https://apt.example.internal/debian /etc/apt/keyrings/corp.gpg\n');
    expect(run.status).toBe(0);
    // no keyring given: `-`, and the script writes Debian's archive keyring
    expect(printMirror({ 'sources.list.d/m.list': 'deb http://m.example.internal/debian bookworm main\n' }).stdout).toBe('http://m.example.internal/debian -\n');
  });

  it('fails clearly, exit 1, when no enabled source lists bookworm', () => {
    const run = printMirror({
      'sources.list.d/debian.sources': `${security}\nTypes: deb\nURIs: http://off.example.internal/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n`,
      'sources.list.d/debian.list.disabled-by-admin': 'deb http://disabled.example.internal/debian bookworm main\n',
    });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(
      /^install-vulkan: no enabled entry in apt's sources \(.*\/sources\.list, .*\/sources\.list\.d\/\*\.list, \*\.sources\) lists Debian's bookworm suite, /.source +
      /so there is no mirror to take bookworm-backports from; add your Debian mirror's bookworm entry/.source,
    ));
    expect(printMirror({}).status).toBe(1);
  });

  it('adds nothing where a source lists bookworm-backports already', () => {
    const run = printMirror({ 'sources.list.d/bp.list': 'deb http://m.example.internal/debian bookworm-backports main\n' });
    expect(run.stdout).toBe('bookworm-backports is already listed\n');
    expect(run.status).toBe(0);
  });
});
