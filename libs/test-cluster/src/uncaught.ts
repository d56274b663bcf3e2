/**
 * Records what a spec's code throws or rejects without a handler (a process would end on it),
 * from now until `stop()`: specs of servers fed hostile input assert that `seen` stays empty.
 */
export function recordUncaught(): { readonly seen: unknown[]; stop(): void } {
  const seen: unknown[] = [];
  const record = (e: unknown) => seen.push(e);
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
  return {
    seen,
    stop: () => {
      process.off('unhandledRejection', record);
      process.off('uncaughtException', record);
    },
  };
}
