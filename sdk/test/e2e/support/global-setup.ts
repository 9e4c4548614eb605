// Once per run: the ingest server binary and the SDK bundle must exist.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CHROMIUM, REPO_ROOT, SBWCTL, SDK_BUNDLE } from './paths';

export default function setup(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: run scripts/test-sdk.sh, which installs it`);
  if (!process.env.SBW_SBWCTL) {
    console.log('building sbwctl (cargo build -p sbwctl)');
    execFileSync('cargo', ['build', '-q', '-p', 'sbwctl'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  const help = execFileSync(SBWCTL, ['dev', 'ingest', '--help'], { encoding: 'utf8' });
  for (const option of ['--raw-dir', '--site-key', '--allowed-origin', '--dev-accept-unverified-jwt']) {
    if (!help.includes(option)) throw new Error(`${SBWCTL} dev ingest has no ${option} option`);
  }
  if (!existsSync(SDK_BUNDLE)) execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
}
