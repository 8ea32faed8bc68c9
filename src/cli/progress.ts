/**
 * A one-line progress bar on a terminal (stderr), redrawn at most ten times a second; nothing at
 * all when not attached to a terminal, so scripts and logs stay clean.
 */
export class Progress {
  private last = 0;
  private drawn = false;

  constructor(
    private readonly enabled: boolean,
    private readonly label: string,
    private readonly write: (text: string) => void,
  ) {}

  /** `total` null: a running count without a bar. */
  update(done: number, total: number | null, now = Date.now()): void {
    if (!this.enabled || now - this.last < 100) return;
    this.last = now;
    this.drawn = true;
    if (total === null || total <= 0) {
      this.write(`\r${this.label}: ${done.toLocaleString('en')}   `);
      return;
    }
    const ratio = Math.min(1, done / total);
    const width = 30;
    const filled = Math.round(ratio * width);
    this.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')}`);
  }

  done(): void {
    if (this.drawn) this.write('\n');
    this.drawn = false;
  }
}
