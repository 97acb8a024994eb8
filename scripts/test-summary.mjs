// Sums the vitest JSON reports every package wrote during `npm test` into one closing line:
// "tests: N passed, N failed, N skipped". Exits 1 when anything failed or no test ran.
// A test file that failed to load counts as one failed test.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dirs = ['bench'];
for (const group of ['packages', 'tools', 'tests', 'examples']) {
  if (existsSync(group)) for (const name of readdirSync(group)) dirs.push(join(group, name));
}
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const dir of dirs) {
  const file = join(dir, '.vitest-results.json');
  if (!existsSync(file)) continue;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const brokenFiles = (report.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length;
  totals.passed += report.numPassedTests ?? 0;
  totals.failed += (report.numFailedTests ?? 0) + brokenFiles;
  totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 || totals.passed === 0 ? 1 : 0);
