// `sbwctl dev ingest` as a child process, on a port the OS picks.
import { type ChildProcess, spawn } from 'node:child_process';
import { SBWCTL } from './paths';

export interface IngestServer {
  url: string;
  /** Everything the server wrote to stderr (its logs), for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

export interface IngestOptions {
  rawDir: string;
  siteKeys?: string[];
  allowedOrigins?: string[];
  acceptUnverifiedJwt?: boolean;
}

export async function startIngest(options: IngestOptions): Promise<IngestServer> {
  const args = ['dev', 'ingest', '--listen', '127.0.0.1:0', '--raw-dir', options.rawDir];
  for (const key of options.siteKeys ?? []) args.push('--site-key', key);
  for (const origin of options.allowedOrigins ?? []) args.push('--allowed-origin', origin);
  if (options.acceptUnverifiedJwt) args.push('--dev-accept-unverified-jwt');
  const child: ChildProcess = spawn(SBWCTL, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk;
      const listening = /ingest listening on (http:\/\/[\d.:]+)\//.exec(stderr);
      if (listening) resolve(listening[1]);
    });
    child.on('exit', (code) => reject(new Error(`sbwctl dev ingest exited with ${code} before listening:\n${stderr}`)));
    child.on('error', reject);
  });
  return {
    url,
    logs: () => stderr,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode != null) return resolve();
        child.on('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}
