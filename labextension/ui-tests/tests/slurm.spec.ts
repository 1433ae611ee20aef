import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext } from '@playwright/test';
import { execFileSync } from 'child_process';

import {
  detailLine,
  escapeRegExp,
  IRemoteKernel,
  keepScreenshot,
  openNotebookOn,
  panelItems,
  remoteKernels,
  remoteSection,
  requireReal,
  remoteKernel,
  setup,
  statusItem,
  statusText
} from './helpers';

const KERNEL = 'remote-slurm';

interface IJob {
  id: string;
  name: string;
  state: string;
  reason: string;
  node: string;
}

/**
 * The live jobs of the real Slurm test cluster, from Slurm itself (`squeue`
 * with the cluster's SLURM_CONF), not from the server.
 */
function squeue(slurmConf: string): IJob[] {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('SLURM')) {
      env[key] = value;
    }
  }
  env.SLURM_CONF = slurmConf;
  const out = execFileSync('squeue', ['-h', '-a', '-o', '%i|%T|%r|%N|%j'], {
    env,
    encoding: 'utf-8',
    timeout: 30000
  });
  return out
    .split('\n')
    .filter(line => line.trim())
    .map(line => {
      const [id, state, reason, node, ...name] = line.split('|');
      return {
        id,
        state,
        reason,
        node: node === '(null)' ? '' : node,
        name: name.join('|')
      };
    });
}

/**
 * Start a Slurm kernel through the REST API and wait until it is ready.
 */
async function startKernel(request: APIRequestContext): Promise<string> {
  const response = await request.post('api/kernels', {
    data: { name: KERNEL },
    timeout: 180000
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()).id;
}

async function placementOf(
  request: APIRequestContext,
  kernelId: string
): Promise<NonNullable<IRemoteKernel['placement']>> {
  const model = await remoteKernel(request, kernelId);
  expect(model.placement, `placement of kernel ${kernelId}`).toBeTruthy();
  return model.placement!;
}

/**
 * The Slurm job of a placement: one of the backend's details.
 */
function jobOf(placement: NonNullable<IRemoteKernel['placement']>): string {
  const job = placement.details.job_id;
  return job === null || job === undefined ? '' : String(job);
}

test.describe('Slurm kernels', () => {
  // Let the lab see every kernel of the server (galata's default shows it only
  // those the page started): the two started through REST get their shut-down
  // button in the Running panel.
  test.use({ kernels: null });

  test.afterEach(async ({ request }) => {
    // Nothing a test started may outlive it (the next one counts kernels).
    for (const model of await remoteKernels(request)) {
      await request.delete(`api/kernels/${model.kernel_id}`, {
        timeout: 120000
      });
    }
  });

  test('a kernel waiting for a node shows pending: Resources, then where it runs once a node frees', async ({
    page,
    request,
    tmpPath
  }, testInfo) => {
    test.setTimeout(8 * 60 * 1000);
    const info = await setup(request);
    // Skipped only where there is no Slurm provisioner or no Slurm packages,
    // and never with JRK_REQUIRE_REAL=1 (.ci/run). A cluster that did not
    // start is a failure.
    expect(info.slurm_error).toBeUndefined();
    if (requireReal()) {
      expect(
        info.slurm,
        `JRK_REQUIRE_REAL=1: ${info.slurm_skipped}`
      ).toBeTruthy();
    }
    test.skip(!info.slurm, info.slurm_skipped ?? 'no Slurm test cluster');
    const slurm = info.slurm!;
    expect(squeue(slurm.slurm_conf)).toEqual([]);

    // Two kernels fill both 1-CPU nodes.
    const busy = await Promise.all([
      startKernel(request),
      startKernel(request)
    ]);
    const busyNodes: string[] = [];
    const busyJobs: string[] = [];
    for (const id of busy) {
      const placement = await placementOf(request, id);
      expect(placement.phase).toBe('ready');
      expect(slurm.nodes).toContain(placement.host);
      busyNodes.push(placement.host!);
      busyJobs.push(jobOf(placement));
    }
    expect(new Set(busyNodes).size).toBe(2);
    // The job ids the server gives (its details) are Slurm's own.
    expect(
      squeue(slurm.slurm_conf)
        .filter(j => j.state === 'RUNNING')
        .map(j => j.id)
        .sort()
    ).toEqual([...busyJobs].sort());

    // A third, started by the lab for a notebook, has to wait: Slurm's reason
    // is Resources (it first says None, or Priority, until its scheduler ran).
    await openNotebookOn(page, tmpPath, KERNEL);
    let third = '';
    await expect
      .poll(
        async () => {
          const waiting = (await remoteKernels(request)).find(
            m => !busy.includes(m.kernel_id)
          );
          third = waiting?.kernel_id ?? '';
          return waiting?.placement?.details.job_id ?? null;
        },
        { message: 'the third kernel has a Slurm job', timeout: 60000 }
      )
      .toBeTruthy();
    const jobId = jobOf(await placementOf(request, third));
    // Slurm's reason, in the generic pending phase.
    await expect
      .poll(
        async () => {
          const { phase, detail } = await placementOf(request, third);
          return `${phase}: ${detail}`;
        },
        { message: 'phase and detail of the third kernel', timeout: 30000 }
      )
      .toBe('pending: Resources');
    const waiting = await remoteKernel(request, third);
    const pending = waiting.placement!;
    expect(pending.details).toMatchObject({
      job_id: jobId,
      partition: slurm.partition
    });

    // The status bar: the backend's where, the phase and Slurm's reason.
    const item = statusItem(page);
    await expect(item).toHaveText(
      `${statusText(waiting)} (pending: Resources)`,
      { timeout: 30000 }
    );
    await expect(item).toHaveAttribute('data-phase', 'pending');
    for (const key of ['job_id', 'partition']) {
      await expect(item).toHaveAttribute(
        'title',
        new RegExp(escapeRegExp(detailLine(key, pending.details[key]!)))
      );
    }

    await remoteSection(page);
    const rows = panelItems(page);
    await expect(rows).toHaveCount(3);
    const rowOf = (kernelId: string) =>
      rows.and(page.locator(`[data-context="${kernelId}"]`));
    const row = rowOf(third);
    await expect(row).toHaveCount(1);
    await expect(row).toHaveClass(/jp-mod-phase-pending/);
    await expect(row).toContainText('pending: Resources');
    await expect(row.locator('.jp-RemoteKernels-where')).toHaveText(
      pending.where
    );
    // What Slurm itself says of that job.
    const pendingJob = squeue(slurm.slurm_conf).find(j => j.id === jobId);
    expect(pendingJob).toMatchObject({
      name: third,
      state: 'PENDING',
      reason: 'Resources'
    });
    await keepScreenshot(
      page.locator('#jp-running-sessions'),
      testInfo,
      'running-panel-pending'
    );

    // Shut down a running kernel from the panel: its node frees and the third
    // kernel starts there, shown in both places without a reload.
    const freed = busyNodes[0];
    const busyRow = rowOf(busy[0]);
    await expect(busyRow).toHaveCount(1);
    await expect(busyRow.locator('.jp-RemoteKernels-where')).toHaveText(
      (await placementOf(request, busy[0])).where
    );
    await expect(busyRow).toHaveClass(/jp-mod-phase-ready/);
    await busyRow.hover();
    await busyRow.locator('.jp-RunningSessions-itemShutdown').click();
    await expect(busyRow).toHaveCount(0, { timeout: 60000 });

    await expect(item).toHaveAttribute('data-phase', 'ready', {
      timeout: 120000
    });
    const started = await remoteKernel(request, third);
    const ready = started.placement!;
    expect(ready.host).toBe(freed);
    expect(jobOf(ready)).toBe(jobId);
    await expect(item).toHaveText(statusText(started));
    await expect(item).toHaveAttribute(
      'title',
      new RegExp(escapeRegExp(`Host: ${freed}`))
    );
    for (const [key, value] of Object.entries(ready.details)) {
      if (value !== null && value !== '') {
        await expect(item).toHaveAttribute(
          'title',
          new RegExp(escapeRegExp(detailLine(key, value)))
        );
      }
    }
    await expect(row).toHaveClass(/jp-mod-phase-ready/, { timeout: 30000 });
    await expect(row.locator('.jp-RemoteKernels-where')).toHaveText(
      ready.where
    );
    expect(squeue(slurm.slurm_conf).find(j => j.id === jobId)).toMatchObject({
      state: 'RUNNING',
      node: freed
    });
    await keepScreenshot(
      page.locator('#jp-main-statusbar'),
      testInfo,
      'status-bar-slurm'
    );

    // Delete every kernel: no job of ours is left in Slurm.
    for (const model of await remoteKernels(request)) {
      const response = await request.delete(`api/kernels/${model.kernel_id}`, {
        timeout: 120000
      });
      expect(response.status()).toBe(204);
    }
    await expect
      .poll(async () => (await remoteKernels(request)).length, {
        timeout: 30000
      })
      .toBe(0);
    await expect
      .poll(() => squeue(slurm.slurm_conf), {
        message: 'live jobs in squeue',
        timeout: 60000
      })
      .toEqual([]);
  });
});
