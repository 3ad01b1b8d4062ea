/** Progress on the terminal: one line per event, on stderr so stdout stays clean for piping. */
const startedAt = Date.now();

export type Progress = (line: string) => void;

export function terminalProgress(scope: string): Progress {
  return (line) => {
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1).padStart(7);
    process.stderr.write(`${seconds}s  ${scope.padEnd(12)} ${line}\n`);
  };
}

export const silentProgress: Progress = () => {};
