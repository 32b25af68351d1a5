import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { infraRequired } from '../support/infra';
import { REPO_ROOT } from '../support/processes';

/**
 * Renders the Helm chart (and kustomizations) through infra/k8s/validate.sh,
 * which finds the pinned helm, kustomize and kubeconform. Suites using it are
 * skipped when the tools are not built (`npm run k8s:validate -- --install`),
 * and fail instead under REQUIRE_INFRA=1, as in CI.
 */

export const VALIDATE_SCRIPT = join(REPO_ROOT, 'infra', 'k8s', 'validate.sh');
const TOOLS_MISSING = 3;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [field: string]: unknown;
}

export function runValidate(args: string[]): { status: number; stdout: string; stderr: string } {
  const result = spawnSync('bash', [VALIDATE_SCRIPT, ...args], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function render(dir: string): K8sObject[] {
  const { status, stdout, stderr } = runValidate(['--render', join(REPO_ROOT, dir)]);
  if (status !== 0) throw new Error(`kustomize build ${dir} failed (${status}): ${stderr}`);
  return parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject);
}

/** The chart rendered with one of its values files (`default` = values.yaml alone), plus helm flags. */
export function renderChart(values: ChartValues, ...flags: string[]): K8sObject[] {
  const { status, stdout, stderr } = renderChartRaw(values, ...flags);
  if (status !== 0) throw new Error(`helm template (${values}) failed (${status}): ${stderr}`);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

export function renderChartRaw(values: ChartValues, ...flags: string[]): { status: number; stdout: string; stderr: string } {
  return runValidate(['--render-chart', values, ...flags]);
}

export type ChartValues = 'default' | 'dev' | 'prod';
export const CHART_VALUES: ChartValues[] = ['default', 'dev', 'prod'];

export function describeWithK8sTools(name: string, fn: () => void): void {
  const probe = runValidate(['--render-chart', 'dev']);
  if (probe.status === TOOLS_MISSING && !infraRequired) {
    describe.skip(`${name} (helm/kustomize/kubeconform not built: npm run k8s:validate -- --install)`, fn);
    return;
  }
  describe(name, () => {
    beforeAll(() => {
      if (probe.status === TOOLS_MISSING) throw new Error(`REQUIRE_INFRA=1 but the k8s tools are missing: ${probe.stderr.trim()}`);
    });
    fn();
  });
}
