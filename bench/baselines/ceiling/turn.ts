/**
 * Runs `work` once at the end of the current event-loop turn however often it is asked for:
 * every write and every socket flush asked for during one turn share one pass.
 */
export class TurnBatcher {
  private scheduled = false;

  constructor(private readonly work: () => void) {}

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.work();
  };
}
