/** An argument as a POSIX shell reads it back: as it is when it holds only safe characters, else in single quotes. */
export function shellWord(arg: string): string {
  return /^[\w./:=@%+,-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
