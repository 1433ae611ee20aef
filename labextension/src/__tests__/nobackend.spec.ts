/**
 * The lab extension knows no backend: its sources name none, so a new backend
 * (a package of the server's) shows in the lab without a line changed here.
 *
 * Looked for, as whole words in any case, in the sources (src/*.ts, src/*.tsx
 * but the tests), the styles, the settings schemas and package.json:
 *
 * - the backends' names, the server's and Enterprise Gateway's: local, ssh,
 *   yarn, slurm, kubernetes, k8s, docker, spark, pyspark, hadoop, conductor,
 *   distributed (the test backend's name is looked for everywhere under src/
 *   by tests/local/test_toy_backend.py);
 * - the provisioners' names (jrk-ssh-provisioner...);
 * - the backend-owned facts the placement had at its top level before it had
 *   `details`: app_id, queue, tracking_url, job_id, partition, time_left, and
 *   their words: "application_", "tracking url", "time left", squeue, sbatch,
 *   pod.
 *
 * Words of JupyterLab's own that contain one (localStorage, toLocaleString,
 * @jupyterlab/application) are not whole words: not matched. The placement
 * schema (src/placement.schema.json) is the server's, generated from its
 * model: the server's tests check it, and placement.spec.ts its fields.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

const BACKEND_WORDS = [
  'local',
  'ssh',
  'yarn',
  'slurm',
  'kubernetes',
  'k8s',
  'docker',
  'spark',
  'pyspark',
  'hadoop',
  'conductor',
  'distributed',
  'app_id',
  'queue',
  'tracking_url',
  'tracking url',
  'job_id',
  'partition',
  'time_left',
  'time left',
  'squeue',
  'sbatch',
  'pod'
];

const PATTERN = new RegExp(
  `(?<![\\w])(?:${BACKEND_WORDS.join('|')})(?![\\w])|application_|jrk-\\w+-provisioner`,
  'gi'
);

/**
 * The backend words of `text`, "file:line: word" each.
 */
function backendWords(file: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    for (const match of line.matchAll(PATTERN)) {
      found.push(`${file}:${i + 1}: ${match[0]}`);
    }
  });
  return found;
}

/**
 * The files the extension is made of (tests and the server's schema left out).
 */
function sources(): { file: string; text: string }[] {
  const files: string[] = [];
  for (const [dir, pattern] of [
    ['src', /\.tsx?$/],
    ['style', /\.(css|js)$/],
    ['schema', /\.json$/]
  ] as const) {
    for (const name of fs.readdirSync(path.join(ROOT, dir))) {
      if (pattern.test(name)) {
        files.push(path.join(dir, name));
      }
    }
  }
  const found = files.map(file => ({
    file,
    text: fs.readFileSync(path.join(ROOT, file), 'utf-8')
  }));
  // What package.json says of the extension (not its tools' names).
  const pkg = JSON.parse(
    fs.readFileSync(path.join(ROOT, 'package.json'), 'utf-8')
  );
  found.push({
    file: 'package.json',
    text: [pkg.description, ...(pkg.keywords ?? [])].join('\n')
  });
  return found;
}

describe('the lab extension', () => {
  it('has sources to look at', () => {
    const names = sources().map(s => s.file);
    expect(names).toEqual(
      expect.arrayContaining([
        path.join('src', 'index.ts'),
        path.join('src', 'placement.ts'),
        path.join('src', 'running.tsx'),
        path.join('style', 'base.css'),
        'package.json'
      ])
    );
  });

  it('names no backend', () => {
    const found = sources().flatMap(({ file, text }) =>
      backendWords(file, text)
    );
    expect(found).toEqual([]);
  });

  it('would see one', () => {
    for (const text of [
      "kind: 'local' | 'ssh'",
      'Slurm job: 4242',
      "case 'yarn':",
      'a K8s pod',
      'YARN application_…_0042',
      'placement.tracking_url',
      '(1:52 time left)',
      'jrk-slurm-provisioner'
    ]) {
      expect(backendWords('x', text)).not.toEqual([]);
    }
    for (const text of [
      'localStorage.getItem(key)',
      'date.toLocaleString()',
      "from '@jupyterlab/application'",
      'the backend’s where and details',
      'the scheduler’s reason'
    ]) {
      expect(backendWords('x', text)).toEqual([]);
    }
  });
});
