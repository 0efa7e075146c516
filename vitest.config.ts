import { defineConfig } from 'vitest/config';

// Two projects: fast in-process unit tests, and integration tests that spawn the built programs (dist/),
// real sockets, files and databases. `npm test` builds first, then runs both.
export default defineConfig({
  test: {
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // The real kube-apiserver tier (PODPULSE_K8S=1); tests read it with inject('realApiserver').
          globalSetup: ['test/helpers/real-apiserver.global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
