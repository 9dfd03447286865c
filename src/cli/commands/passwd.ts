import type { Command } from 'commander';
import { hashPassword } from '../../core/index.js';
import { CommandExit, printText } from '../output.js';
import { ExitCode } from '../../core/index.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function registerPasswd(program: Command): void {
  program.command('passwd')
    .description('read a password on stdin, print its hash for web.users[].passwordHash')
    .action(async () => {
      if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
      const password = (await readStdin()).replace(/\r?\n$/, '');
      if (password.length === 0) throw new CommandExit(ExitCode.badUsage, 'mailbridge passwd: empty password on stdin');
      printText(await hashPassword(password));
    });
}
