// The deterministic simulator and its checker (DESIGN section 10): `@paxos/consensus-core/testing`.
export { runSimulation, type SimResult, type SimStats } from './simulation';
export { sweep, describeViolations, type SweepOptions, type SweepResult } from './sweep';
export { SIM_DEFAULTS, replayCommand, resolveSimOptions, type SimOptions, type ResolvedSimOptions } from './sim-options';
export { SafetyChecker } from './checker';
