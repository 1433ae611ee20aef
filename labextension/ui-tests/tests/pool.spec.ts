import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import type { APIRequestContext, Locator } from '@playwright/test';

import {
  allRemoteKernels,
  isPoolKernel,
  keepScreenshot,
  openNotebookOn,
  openRemoteSection,
  panelItems,
  poolLines,
  remoteKernels,
  statusItem,
  statusText,
  warmPools
} from './helpers';

/**
 * The kernelspecs with a warm pool (jupyter_server_test_config.py).
 */
const POOL = 'remote-pool';
const POOL_NAME = 'Python (warm pool)';
const BROKEN = 'remote-pool-broken';

/**
 * A pool's line in the Running panel (its context is "pool:<kernelspec>:<user>").
 */
function poolLine(page: IJupyterLabPageFixture, kernelName: string): Locator {
  return poolLines(page).and(
    page.locator(`[data-context^="pool:${kernelName}:"]`)
  );
}

/**
 * The ids of the pool's kernels ready in it (launching ones left out).
 */
async function pooledIds(
  request: APIRequestContext,
  kernelName: string
): Promise<string[]> {
  return (await allRemoteKernels(request))
    .filter(
      m =>
        isPoolKernel(m) &&
        m.pool?.kernel_name === kernelName &&
        m.placement?.phase === 'pooled'
    )
    .map(m => m.kernel_id);
}

test.describe('Warm pools', () => {
  test.afterEach(async ({ request }) => {
    // Nothing a test started may outlive it; the pools keep their own kernels.
    for (const model of await remoteKernels(request)) {
      await request.delete(`api/kernels/${model.kernel_id}`);
    }
  });

  test('a warm pool shows ready / target, and its kernels are nobody’s', async ({
    page,
    request,
    tmpPath
  }, testInfo) => {
    await openRemoteSection(page);
    const line = poolLine(page, POOL);
    const detail = line.locator('.jp-RunningSessions-itemDetail');
    // The server fills the pool in the background: the line follows.
    await expect(detail).toHaveText('2 / 2 ready', { timeout: 90000 });
    await expect(line).toHaveClass(/jp-mod-pool-full/);
    await expect(line.locator('.jp-RemoteKernels-poolLabel')).toHaveText(
      'Warm pool'
    );
    await expect(line.locator('.jp-RemoteKernels-name')).toHaveText(POOL_NAME);
    const [pool] = (await warmPools(request)).filter(
      p => p.kernel_name === POOL
    );
    expect(pool).toMatchObject({ target: 2, ready: 2, status: 'full' });
    const label = line.locator('.jp-RunningSessions-itemLabel');
    await expect(label).toHaveAttribute('title', /Ready: 2 of 2/);
    await expect(label).toHaveAttribute('title', /Status: full/);

    // Its two kernels are in /api/remote-kernels, pooled; not rows of the
    // panel, not in the lab's kernel list.
    const pooled = await pooledIds(request, POOL);
    expect(pooled).toHaveLength(2);
    for (const id of pooled) {
      await expect(
        page.locator(`#jp-running-sessions [data-context="${id}"]`)
      ).toHaveCount(0);
    }
    await expect(panelItems(page).filter({ hasText: POOL_NAME })).toHaveCount(
      0
    );
    const listed = await (await request.get('api/kernels')).json();
    const listedIds = listed.map((k: { id: string }) => k.id);
    for (const id of pooled) {
      expect(listedIds).not.toContain(id);
    }
    await keepScreenshot(
      page.locator('#jp-running-sessions'),
      testInfo,
      'running-panel-pool'
    );

    // A notebook on the kernelspec gets one of them: from then on it is the
    // user's kernel, one row with where it runs, in the status bar too.
    await page.sidebar.openTab('filebrowser'); // galata opens files there
    await openNotebookOn(page, tmpPath, POOL);
    const item = statusItem(page);
    await expect(item).toHaveAttribute('data-phase', 'ready', {
      timeout: 60000
    });
    const sessions = await (await request.get('api/sessions')).json();
    const session = sessions.find((s: { path: string }) =>
      s.path.endsWith(`${POOL}.ipynb`)
    );
    const kernelId: string = session.kernel.id;
    expect(pooled).toContain(kernelId); // served from the pool
    const [model] = (await remoteKernels(request)).filter(
      m => m.kernel_id === kernelId
    );
    expect(model.placement?.phase).toBe('ready');
    expect(isPoolKernel(model)).toBe(false);
    const where = model.placement!.where;
    await expect(item).toHaveText(statusText(model));

    await openRemoteSection(page);
    const rows = panelItems(page).filter({ hasText: POOL_NAME });
    await expect(rows).toHaveCount(1);
    await expect(rows).toHaveAttribute('data-context', kernelId);
    await expect(rows).toHaveClass(/jp-mod-phase-ready/);
    await expect(rows.locator('.jp-RemoteKernels-where')).toHaveText(where);

    // The pool refills; its new kernels stay out of the panel and the status
    // bar still shows the notebook's kernel.
    await expect
      .poll(async () => (await pooledIds(request, POOL)).length, {
        message: 'ready kernels of the pool after the hand-out',
        timeout: 90000
      })
      .toBe(2);
    const refilled = await pooledIds(request, POOL);
    expect(refilled).not.toContain(kernelId);
    await expect(detail).toHaveText('2 / 2 ready');
    await expect(rows).toHaveCount(1);
    await expect(rows).toHaveAttribute('data-context', kernelId);
    for (const id of refilled) {
      await expect(
        page.locator(`#jp-running-sessions [data-context="${id}"]`)
      ).toHaveCount(0);
    }
    await expect(item).toHaveText(statusText(model));
    await keepScreenshot(
      page.locator('#jp-running-sessions'),
      testInfo,
      'running-panel-pool-handed-out'
    );
  });

  test('a pool that cannot be filled says why', async ({
    page,
    request
  }, testInfo) => {
    await openRemoteSection(page);
    const line = poolLine(page, BROKEN);
    await expect(line).toHaveClass(/jp-mod-pool-failing/, { timeout: 90000 });
    const detail = line.locator('.jp-RunningSessions-itemDetail');
    await expect(detail).toContainText('0 / 1 ready · cannot fill:');
    // The server's reason: the launcher's exit and what it wrote.
    const [pool] = (await warmPools(request)).filter(
      p => p.kernel_name === BROKEN
    );
    expect(pool.status).toBe('failing');
    expect(pool.detail).toMatch(/no such interpreter/);
    await expect(detail).toContainText('no such interpreter');
    await expect(line.locator('.jp-RunningSessions-itemLabel')).toHaveAttribute(
      'title',
      /Status: failing[\s\S]*Detail: [\s\S]*no such interpreter/
    );
    await keepScreenshot(line, testInfo, 'pool-failing');
  });

  test('a server without warm pools shows no pool line, and no error', async ({
    page,
    tmpPath
  }) => {
    // Stands in for a server older than the pools: it answers 404 there.
    await page.route('**/api/remote-kernels/pools*', route =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ message: 'Not Found', reason: null })
      })
    );
    const warnings: string[] = [];
    page.on('console', message => {
      if (message.type() === 'warning' || message.type() === 'error') {
        warnings.push(message.text());
      }
    });
    await page.reload();
    await openNotebookOn(page, tmpPath, 'remote-python');
    await expect(statusItem(page)).toHaveAttribute('data-phase', 'ready', {
      timeout: 60000
    });
    await openRemoteSection(page);
    await expect(
      panelItems(page).filter({ hasText: 'Python (remote launcher, local)' })
    ).toHaveCount(1);
    await expect(poolLines(page)).toHaveCount(0);
    expect(warnings.filter(w => /warm pools|remote kernels/i.test(w))).toEqual(
      []
    );
  });
});
