/**
 * viphealth's command line, apart from main.ts so the man page is generated from the very definition
 * the daemon parses (scripts/cli-docs.mjs).
 */
import { Command } from 'commander';
import { PRODUCT_VERSION, VIPHEALTH_DEFAULTS } from '@vipcontrol/core';

export function viphealthProgram(): Command {
  return new Command()
    .name('viphealth')
    .description('Health checks for vipcontrol: shift MEDs or withdraw VIPs when a local service fails')
    .version(PRODUCT_VERSION)
    .option('-c, --config <file>', 'configuration file', VIPHEALTH_DEFAULTS.configFile)
    .option('--check', 'validate the configuration file and exit');
}
