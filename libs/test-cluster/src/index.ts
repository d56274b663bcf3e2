// Real processes for tests: bundles the apps with esbuild and runs them on loopback ports.
export * from './bundle';
export * from './node-process';
export * from './ports';
export * from './test-cluster';
export * from './uncaught';
