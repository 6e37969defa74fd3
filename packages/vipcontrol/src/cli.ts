/**
 * vipcontrol's command line, apart from main.ts so the man page and the packaged docs are generated
 * from the very definition the daemon parses (scripts/cli-docs.mjs).
 */
import { Command } from 'commander';
import { DEFAULT_CONFIG_FILE } from './config-loader.js';
import { VERSION } from './version.js';

export function vipcontrolProgram(): Command {
  return new Command('vipcontrol')
    .description('Floating-VIP control plane: drives BIRD 2 over its control socket')
    .version(VERSION)
    .option('-c, --config <file>', 'vipcontrol.yaml', DEFAULT_CONFIG_FILE);
}
