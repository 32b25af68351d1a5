import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOPOLOGY } from '../../topology/topics';
import { renderStrimziFiles } from '../../services/shared/log/kafka/strimzi-render';
import { REPO_ROOT } from '../support/processes';

/** strimzi/ is generated from topology/ and checked in: it must not drift from it. */
const HOW_TO_FIX = 'run npx llm-logger topology render --out strimzi';

const rendered = renderStrimziFiles(TOPOLOGY);

test.each([
  ['topics.yaml', rendered.topics],
  ['users.yaml', rendered.users],
])('strimzi/%s matches topology/', (file, expected) => {
  const path = join(REPO_ROOT, 'strimzi', file);
  if (!existsSync(path)) throw new Error(`strimzi/${file} is missing: ${HOW_TO_FIX}`);
  const checkedIn = readFileSync(path, 'utf8');
  if (checkedIn !== expected) {
    const a = checkedIn.split('\n');
    const b = expected.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    throw new Error(
      `strimzi/${file} differs from what topology/ renders (first at line ${line + 1}: ` +
        `checked in ${JSON.stringify(a[line] ?? '<end of file>')}, rendered ${JSON.stringify(b[line] ?? '<end of file>')}): ${HOW_TO_FIX}`,
    );
  }
});
