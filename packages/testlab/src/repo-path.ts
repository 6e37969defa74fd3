import { fileURLToPath } from 'node:url';

/** The repository root, found from this file (packages/testlab/{src,dist/src}/repo-path.*), not hard-coded. */
export const REPO_ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/') ? '../../../../' : '../../../', import.meta.url));

/** An absolute path inside the repository, e.g. `repoPath('packages/vipctl/bin/vipctl.js')`. */
export function repoPath(relative: string): string {
  return fileURLToPath(new URL(relative, `file://${REPO_ROOT.endsWith('/') ? REPO_ROOT : `${REPO_ROOT}/`}`));
}
