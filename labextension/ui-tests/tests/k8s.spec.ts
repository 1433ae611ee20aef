import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';

import {
  escapeRegExp,
  ISetup,
  keepScreenshot,
  openNotebookOn,
  panelItems,
  remoteKernel,
  remoteKernels,
  remoteSection,
  requireReal,
  statusItem,
  statusText
} from './helpers';

const KERNEL = 'remote-k8s-big';
const OURS = 'app.kubernetes.io%2Fmanaged-by%3Djupyter-remote-kernels';

/**
 * What jupyter_server_test_config.py says of its real Kubernetes cluster.
 */
type IK8sSetup = ISetup & {
  k8s: {
    server: string;
    node: string;
    namespace: string;
    ca: string;
    cert: string;
    key: string;
  } | null;
  k8s_skipped?: string;
  k8s_error?: string;
};

interface IPod {
  metadata: { name: string; labels: { [key: string]: string } };
  spec: { nodeName?: string };
  status: {
    phase: string;
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
    }[];
  };
}

/**
 * Our pods, asked of the API server itself (the admin's certificate), not of
 * the Jupyter server.
 */
function podsOfCluster(k8s: NonNullable<IK8sSetup['k8s']>): IPod[] {
  const out = execFileSync(
    'curl',
    [
      '-sS',
      '--fail',
      '--max-time',
      '20',
      '--cacert',
      k8s.ca,
      '--cert',
      k8s.cert,
      '--key',
      k8s.key,
      `${k8s.server}/api/v1/namespaces/${k8s.namespace}/pods?labelSelector=${OURS}`
    ],
    { encoding: 'utf-8', timeout: 30000 }
  );
  return JSON.parse(out).items as IPod[];
}

test.describe('Kubernetes kernels', () => {
  test.use({ kernels: null });

  test.afterEach(async ({ request }) => {
    for (const model of await remoteKernels(request)) {
      await request.delete(`api/kernels/${model.kernel_id}`, {
        timeout: 120000
      });
    }
  });

  test("an unschedulable pod shows pending with the scheduler's reason in the Running panel", async ({
    page,
    request,
    tmpPath
  }, testInfo) => {
    test.setTimeout(4 * 60 * 1000);
    const response = await request.get(
      'api/contents/jrk-ui-tests.json?content=1'
    );
    const info = JSON.parse((await response.json()).content) as IK8sSetup;
    // Skipped only where there is no Kubernetes provisioner or no cluster
    // parts, and never with JRK_REQUIRE_REAL=1 (.ci/run). A cluster that did
    // not start is a failure.
    expect(info.k8s_error).toBeUndefined();
    if (requireReal()) {
      expect(info.k8s, `JRK_REQUIRE_REAL=1: ${info.k8s_skipped}`).toBeTruthy();
    }
    test.skip(!info.k8s, info.k8s_skipped ?? 'no Kubernetes test cluster');
    const k8s = info.k8s!;
    expect(podsOfCluster(k8s)).toEqual([]);

    // The lab starts the kernel for a notebook; its pod asks for 64 CPUs.
    await openNotebookOn(page, tmpPath, KERNEL);
    let kernelId = '';
    await expect
      .poll(
        async () => {
          const models = await remoteKernels(request);
          const model = models.find(m => m.kernel_name === KERNEL);
          kernelId = model?.kernel_id ?? '';
          return model
            ? `${model.placement?.phase}: ${model.placement?.detail}`
            : '';
        },
        {
          message: "the kernel waits with the scheduler's reason",
          timeout: 90000
        }
      )
      .toMatch(/^pending: 0\/1 nodes are available: 1 Insufficient cpu/);
    const model = await remoteKernel(request, kernelId);
    const detail = model.placement!.detail;

    // What Kubernetes itself says of that pod: Pending, not scheduled, the
    // scheduler's message is the one the server shows.
    const pods = podsOfCluster(k8s);
    expect(pods).toHaveLength(1);
    const pod = pods[0];
    expect(pod.metadata.labels['jupyter-remote-kernels/kernel-id']).toBe(
      kernelId
    );
    expect(pod.status.phase).toBe('Pending');
    expect(pod.spec.nodeName ?? '').toBe('');
    const scheduled = (pod.status.conditions ?? []).find(
      c => c.type === 'PodScheduled'
    );
    expect(scheduled).toMatchObject({
      status: 'False',
      reason: 'Unschedulable'
    });
    expect(detail).toContain(scheduled!.message!.trim().replace(/\.$/, ''));

    // The Running panel: the row is in the pending phase with that reason.
    await remoteSection(page);
    const row = panelItems(page).and(
      page.locator(`[data-context="${kernelId}"]`)
    );
    await expect(row).toHaveCount(1);
    await expect(row).toHaveClass(/jp-mod-phase-pending/);
    await expect(row).toContainText(
      new RegExp(
        escapeRegExp('pending: 0/1 nodes are available: 1 Insufficient cpu')
      )
    );
    await expect(row.locator('.jp-RemoteKernels-where')).toHaveText(
      model.placement!.where
    );
    // The status bar says the same.
    const item = statusItem(page);
    await expect(item).toHaveAttribute('data-phase', 'pending', {
      timeout: 30000
    });
    await expect(item).toHaveText(`${statusText(model)} (pending: ${detail})`);
    await keepScreenshot(
      page.locator('#jp-running-sessions'),
      testInfo,
      'running-panel-k8s-pending'
    );

    // At the launch timeout the pod is deleted and the lab says why, naming
    // the scheduler's reason; nothing of ours is left in the cluster.
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toBeVisible({ timeout: 120000 });
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText(
      'Error Starting Kernel'
    );
    const body = dialog.locator('.jp-Dialog-body');
    await expect(body).toContainText('Insufficient cpu');
    await expect(body).not.toContainText('Traceback');
    await keepScreenshot(
      dialog.locator('.jp-Dialog-content'),
      testInfo,
      'k8s-launch-timeout'
    );
    await dialog.locator('.jp-mod-accept').click();
    const select = page.locator('.jp-Dialog', { hasText: 'Select Kernel' });
    await expect(select).toBeVisible();
    await select.getByRole('button', { name: 'No Kernel' }).click();
    await expect
      .poll(() => podsOfCluster(k8s).length, {
        message: 'the pending pod is deleted',
        timeout: 60000
      })
      .toBe(0);
    await expect(row).toHaveCount(0, { timeout: 30000 });
  });
});
