/**
 * What the browser tests share: the setup jupyter_server_test_config.py
 * describes, the server's placements, notebooks, the Running panel section.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { APIRequestContext, Locator, TestInfo } from '@playwright/test';

/**
 * What jupyter_server_test_config.py set up: kernelspecs and SSH test hosts.
 */
export interface ISetup {
  kernels: string[];
  ssh: {
    mode: string;
    hosts: { address: string; hostname: string }[];
  } | null;
  ssh_skipped?: string;
  ssh_error?: string;
  slurm: {
    slurm_conf: string;
    partition: string;
    nodes: string[];
  } | null;
  slurm_skipped?: string;
  slurm_error?: string;
  /**
   * The toy backend (testing/toybackend/), registered through its entry
   * points for this server only: its kernelspec and the sandbox it names.
   */
  toy: { kernel: string; display_name: string; sandbox: string } | null;
  toy_error?: string;
}

export interface IRemoteKernel {
  kernel_id: string;
  kernel_name: string;
  display_name: string;
  placement: {
    provisioner: string;
    kind: string;
    host: string | null;
    ip: string | null;
    pid: number | null;
    state: string | null;
    phase: string;
    detail: string;
    error: string | null;
    /**
     * Where it runs, in the backend's words.
     */
    where: string;
    /**
     * The backend's own facts, in its order.
     */
    details: { [key: string]: string | number | null };
  } | null;
  /**
   * Set for a warm pool's kernel (not handed out yet).
   */
  pool?: { kernel_name: string; user: string | null } | null;
}

/**
 * One warm pool (`GET /api/remote-kernels/pools`).
 */
export interface IPool {
  kernel_name: string;
  display_name: string;
  user: string | null;
  target: number;
  ready: number;
  launching: number;
  status: string;
  detail: string;
}

export async function setup(request: APIRequestContext): Promise<ISetup> {
  const response = await request.get(
    'api/contents/jrk-ui-tests.json?content=1'
  );
  expect(response.ok()).toBeTruthy();
  return JSON.parse((await response.json()).content);
}

/**
 * Every kernel of `/api/remote-kernels`, warm pools' kernels included.
 */
export async function allRemoteKernels(
  request: APIRequestContext
): Promise<IRemoteKernel[]> {
  const response = await request.get('api/remote-kernels');
  expect(response.ok()).toBeTruthy();
  return response.json();
}

/**
 * Whether a kernel is a warm pool's (nobody's yet).
 */
export function isPoolKernel(model: IRemoteKernel): boolean {
  return model.placement?.phase === 'pooled' || !!model.pool;
}

/**
 * The users' kernels of `/api/remote-kernels`: what the tests start and stop
 * (the server keeps its warm pools' kernels itself).
 */
export async function remoteKernels(
  request: APIRequestContext
): Promise<IRemoteKernel[]> {
  return (await allRemoteKernels(request)).filter(m => !isPoolKernel(m));
}

/**
 * The server's warm pools.
 */
export async function warmPools(request: APIRequestContext): Promise<IPool[]> {
  const response = await request.get('api/remote-kernels/pools');
  expect(response.ok()).toBeTruthy();
  return response.json();
}

/**
 * Write a notebook asking for `kernel` and open it: the lab starts the kernel.
 */
export async function openNotebookOn(
  page: IJupyterLabPageFixture,
  tmpPath: string,
  kernel: string
): Promise<string> {
  const name = `${kernel}.ipynb`;
  const notebook = {
    cells: [],
    metadata: {
      kernelspec: { name: kernel, display_name: kernel, language: 'python' }
    },
    nbformat: 4,
    nbformat_minor: 5
  };
  await page.contents.uploadContent(
    JSON.stringify(notebook),
    'text',
    `${tmpPath}/${name}`
  );
  await page.filebrowser.refresh();
  expect(await page.notebook.openByPath(`${tmpPath}/${name}`)).toBeTruthy();
  return name;
}

/**
 * The status bar's text for a kernel: its display name and where it runs, as
 * the backend put it, once ready.
 */
export function statusText(model: IRemoteKernel): string {
  return `${model.display_name} · ${model.placement?.where}`;
}

/**
 * `text` as a regular expression matching it literally.
 */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A Running panel row's tooltip line for one of the backend's details.
 */
export function detailLine(key: string, value: string | number): string {
  return `${key.replace(/_+/g, ' ')}: ${value}`;
}

/**
 * A kernel of `/api/remote-kernels` by id.
 */
export async function remoteKernel(
  request: APIRequestContext,
  kernelId: string
): Promise<IRemoteKernel> {
  const model = (await remoteKernels(request)).find(
    m => m.kernel_id === kernelId
  );
  expect(model, `kernel ${kernelId} in /api/remote-kernels`).toBeTruthy();
  return model!;
}

export function statusItem(page: IJupyterLabPageFixture): Locator {
  return page.locator('.jp-RemoteKernelStatus');
}

export async function remoteSection(
  page: IJupyterLabPageFixture
): Promise<Locator> {
  await openRemoteSection(page);
  return page.locator('#jp-running-sessions .jp-RunningSessions-section', {
    has: page.locator('.jp-RemoteKernels-item')
  });
}

export function panelItems(page: IJupyterLabPageFixture): Locator {
  return page.locator('#jp-running-sessions .jp-RemoteKernels-item');
}

/**
 * The Running panel's "Warm pool" lines.
 */
export function poolLines(page: IJupyterLabPageFixture): Locator {
  return page.locator('#jp-running-sessions .jp-RemoteKernels-pool');
}

/**
 * Open the Running panel with its Remote kernels section expanded.
 */
export async function openRemoteSection(
  page: IJupyterLabPageFixture
): Promise<void> {
  await page.sidebar.openTab('jp-running-sessions');
  const header = page.locator('#jp-running-sessions .jp-AccordionPanel-title', {
    hasText: 'Remote kernels'
  });
  await expect(header).toBeVisible();
  if ((await header.getAttribute('aria-expanded')) === 'false') {
    await header.click();
  }
}

export async function keepScreenshot(
  locator: Locator,
  testInfo: TestInfo,
  name: string
): Promise<void> {
  const path = testInfo.outputPath(`${name}.png`);
  await locator.screenshot({ path, timeout: 15000 });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/**
 * Whether real parts are required (JRK_REQUIRE_REAL=1, as .ci/run sets): a
 * missing one then fails the test instead of skipping it.
 */
export function requireReal(): boolean {
  return ['1', 'true', 'yes'].includes(
    (process.env.JRK_REQUIRE_REAL ?? '').toLowerCase()
  );
}
