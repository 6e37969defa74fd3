/** `bash scripts/gen-docs.sh`: rewrites docs/configuration.md from the schemas (see config-reference.ts). */
import { writeFile } from 'node:fs/promises';
import { repoPath } from '../repo-path.js';
import { configReferenceProblems, renderConfigurationDoc } from './config-reference.js';

const problems = configReferenceProblems();
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
await writeFile(repoPath('docs/configuration.md'), renderConfigurationDoc());
process.stdout.write('docs/configuration.md written\n');
