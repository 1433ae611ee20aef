/**
 * Browser tests of the lab extension on a user's server that reaches its
 * kernels through a gateway (JupyterHub's `--gateway-url` deployment): two
 * real servers, started and stopped by Playwright. The gateway runs this
 * project (jupyter_gateway_test_config.py, with SSH test hosts); the user's
 * JupyterLab (jupyter_user_test_config.py) has `--gateway-url` at it and
 * KERNEL_USERNAME in its environment, as a hub's spawner sets it.
 *
 *   jlpm playwright test -c playwright.gateway.config.js
 */
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const base = require('./playwright.config.js');

const userPort = process.env.JRK_UI_USER_PORT || '18889';
const gatewayPort = process.env.JRK_UI_GW_PORT || '18890';
// Set once in Playwright's main process; its workers inherit them.
process.env.JRK_UI_GW_BASE =
  process.env.JRK_UI_GW_BASE ||
  path.join(os.tmpdir(), `jrk-ui-gw-${process.pid}`);
process.env.JRK_UI_GW_TOKEN =
  process.env.JRK_UI_GW_TOKEN || crypto.randomBytes(24).toString('hex');
const env = {
  JRK_UI_GW_BASE: process.env.JRK_UI_GW_BASE,
  JRK_UI_GW_TOKEN: process.env.JRK_UI_GW_TOKEN,
  JRK_UI_GW_PORT: gatewayPort,
  JRK_UI_USER_PORT: userPort
};
const shutdown = { signal: 'SIGTERM', timeout: 30000 };

module.exports = {
  ...base,
  testDir: './tests-gateway',
  // Each test starts a kernel through two servers and loads the lab: twice the
  // single server's time.
  timeout: 240000,
  outputDir: './test-results/gateway',
  reporter: [
    ['list'],
    ['html', { open: 'never', outputFolder: 'playwright-report/gateway' }]
  ],
  use: { ...base.use, baseURL: `http://127.0.0.1:${userPort}` },
  webServer: [
    {
      command: 'jupyter server --config jupyter_gateway_test_config.py',
      // Answers 403 without the token: up is all this waits for.
      url: `http://127.0.0.1:${gatewayPort}/api/kernels`,
      timeout: 120000,
      reuseExistingServer: false,
      env: {
        ...env,
        JRK_UI_GW_INFO: path.join(
          env.JRK_UI_GW_BASE,
          'root',
          'jrk-ui-gateway.json'
        ),
        // Its own runtime dir: kernel records and connection files of no other server.
        JUPYTER_RUNTIME_DIR: path.join(env.JRK_UI_GW_BASE, 'gateway-runtime')
      },
      gracefulShutdown: shutdown,
      stdout: 'pipe',
      stderr: 'pipe'
    },
    {
      command: 'jupyter lab --config jupyter_user_test_config.py',
      url: `http://127.0.0.1:${userPort}/lab`,
      timeout: 120000,
      reuseExistingServer: false,
      env: {
        ...env,
        KERNEL_USERNAME: 'alice',
        JUPYTER_RUNTIME_DIR: path.join(env.JRK_UI_GW_BASE, 'user-runtime')
      },
      gracefulShutdown: shutdown,
      stdout: 'pipe',
      stderr: 'pipe'
    }
  ]
};
